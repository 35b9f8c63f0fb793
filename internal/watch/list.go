package watch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"

	"github.com/vigie/vigie/internal/vigie"
)

// List is the watches vigie knows, in the order the dashboard shows them.
type List []*Descriptor

// Find returns the descriptor named name, or nil.
func (l List) Find(name string) *Descriptor {
	for _, d := range l {
		if string(d.Name) == name {
			return d
		}
	}
	return nil
}

// Names are the watches' names, in order.
func (l List) Names() []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = string(d.Name)
	}
	return out
}

// Builders are the list's builders, in order.
func (l List) Builders() []Builder {
	out := make([]Builder, len(l))
	for i, d := range l {
		out[i] = d.Build
	}
	return out
}

// Reporter returns the descriptor that reads alert a in a report: one
// whose Report.Owns claims it, else the one named a.Watch; nil when no
// known watch reads it.
func (l List) Reporter(a *vigie.Alert) *Descriptor {
	for _, d := range l {
		if d.Report != nil && d.Report.Owns != nil && d.Report.Owns(a) {
			return d
		}
	}
	if d := l.Find(a.Watch); d != nil && d.Report != nil {
		return d
	}
	return nil
}

// LearnLegitimate has every watch that learns from an incident resolved
// as legitimate (Descriptor.LearnLegitimate) learn incident incidentID's
// alerts, and returns the subjects they learned (none: nothing in it to
// learn from).
func (l List) LearnLegitimate(ctx context.Context, st store.Store, incidentID int64, actor string, now time.Time) ([]string, error) {
	var out []string
	for _, d := range l {
		if d.LearnLegitimate == nil {
			continue
		}
		learned, err := d.LearnLegitimate(ctx, st, incidentID, actor, now)
		if err != nil {
			return nil, err
		}
		out = append(out, learned...)
	}
	return out, nil
}

// Downloads are the incident downloads of the list's watches, in order.
func (l List) Downloads() []Download {
	var out []Download
	for _, d := range l {
		if d.Report != nil {
			out = append(out, d.Report.Downloads...)
		}
	}
	return out
}

// Check reports a list that cannot work: a descriptor without a name,
// title or builder, two with the same name, or two incident downloads
// with the same name.
func (l List) Check() error {
	seen := map[Name]bool{}
	downloads := map[string]bool{}
	for i, d := range l {
		switch {
		case d == nil || d.Name == "":
			return fmt.Errorf("watch %d has no name", i)
		case d.Title == "":
			return fmt.Errorf("watch %s has no title", d.Name)
		case d.Build == nil:
			return fmt.Errorf("watch %s has no builder", d.Name)
		case seen[d.Name]:
			return fmt.Errorf("two watches are named %s", d.Name)
		}
		seen[d.Name] = true
		if d.Report == nil {
			continue
		}
		for _, dl := range d.Report.Downloads {
			switch {
			case dl.Name == "" || strings.Contains(dl.Name, "/") || len(dl.Formats) == 0 || dl.Write == nil:
				return fmt.Errorf("watch %s: download %q needs a name without a slash, formats and Write", d.Name, dl.Name)
			case downloads[dl.Name]:
				return fmt.Errorf("two incident downloads are named %s", dl.Name)
			}
			downloads[dl.Name] = true
		}
	}
	return nil
}
