package vigie

import (
	"errors"
	"fmt"
	"time"
)

// A Finding is one observation by a watch: "account alice sent 600 mails in
// ten minutes", "the NS of example.fr changed". Findings are the only way a
// watch talks to the rest of vigie; the alert pipeline turns them into
// alerts.
type Finding struct {
	Watch   string // "mail", "dns", ...
	Rule    string // the detector that fired, e.g. "account-volume"
	Subject string // what it is about: an account, a uid, a domain, an IP
	// Key de-duplicates findings into one alert. Empty means
	// Watch/Rule/Subject, which is right for nearly every detector.
	Key string
	// Group puts alerts that belong to one attack into one incident (the
	// same rogue NS set, the same account). Empty means the alert key.
	Group    string
	Severity Severity
	Time     time.Time // when it was observed; the log's own time on replay
	Summary  string    // one line for a person
	Evidence map[string]string
	// Resolved says the condition no longer holds for this subject: the
	// account went back to its habit, the NS were reverted.
	Resolved bool
	// ResolveAfter resolves the alert when no finding repeats it for this
	// long. Zero means the pipeline's default; negative means never (the
	// watch will send Resolved itself).
	ResolveAfter time.Duration
	Node         string // the vigie node that saw it; set by the pipeline
}

// AlertKey is the de-duplication key of the alert this finding feeds.
func (f *Finding) AlertKey() string {
	if f.Key != "" {
		return f.Key
	}
	return f.Watch + "/" + f.Rule + "/" + f.Subject
}

// GroupKey is the key of the incident this finding's alert belongs to.
func (f *Finding) GroupKey() string {
	if f.Group != "" {
		return f.Group
	}
	return f.AlertKey()
}

// Validate reports what a watch forgot to fill in.
func (f *Finding) Validate() error {
	var errs []error
	if f.Watch == "" {
		errs = append(errs, errors.New("watch is empty"))
	}
	if f.Rule == "" {
		errs = append(errs, errors.New("rule is empty"))
	}
	if f.Subject == "" && f.Key == "" {
		errs = append(errs, errors.New("subject and key are both empty"))
	}
	if !f.Resolved && !f.Severity.Valid() {
		errs = append(errs, fmt.Errorf("invalid severity %d", int(f.Severity)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finding %s/%s/%q: %w", f.Watch, f.Rule, f.Subject, err)
	}
	return nil
}
