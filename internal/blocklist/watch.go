package blocklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Rules of the findings the watch emits.
const (
	RuleListed       watch.RuleName = "listed"        // Key vigie.BlocklistKey(target, zone)
	RuleZoneUnusable watch.RuleName = "zone-unusable" // Key blocklist/zone-unusable/<zone>
)

const watchName = string(Name)

// Options build a Watch.
type Options struct {
	Catalog  *Catalog
	Resolver *Resolver
	Targets  *Targets
	Interval time.Duration
	// StartDelay is the pause before the first round (default 1m): a
	// resolver that starts at boot beside vigie has time to come up, so
	// a reboot does not fire an "unusable" alert for every zone.
	StartDelay time.Duration
	Sink       watch.Sink
	Store      store.State
	Logger     *slog.Logger
	Metrics    *metrics.Factory
	Now        func() time.Time
}

// Watch checks the targets on every live zone each Interval and emits a
// finding only when something changes: a listing appears (or its codes
// change), a listing goes away, a zone becomes unusable or usable again.
// Unknown verdicts change nothing: an alert stays as it was until the zone
// answers again.
type Watch struct {
	o       Options
	checker *Checker
	log     *slog.Logger
	st      state
	loaded  bool
	notes   string // the last discovery notes logged

	queries  prometheus.Counter
	checks   *prometheus.CounterVec
	listings prometheus.Gauge
	unusable prometheus.Gauge
	round    prometheus.Gauge
	errs     prometheus.Counter
}

// state is what the watch remembers between rounds and restarts.
type state struct {
	Listed   map[string]listing `json:"listed"`   // by alert key
	Unusable map[string]string  `json:"unusable"` // zone -> why
}

type listing struct {
	Target string    `json:"target"`
	Zone   string    `json:"zone"`
	Codes  []string  `json:"codes"`
	Since  time.Time `json:"since"`
}

const stateKey = "state"

// New returns the watch.
func New(o Options) *Watch {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	m := o.Metrics
	return &Watch{
		o:       o,
		checker: &Checker{Zones: o.Catalog.Queryable(), Resolver: o.Resolver},
		log:     o.Logger,
		queries: m.Counter(prometheus.CounterOpts{Name: "vigie_blocklist_queries_total",
			Help: "DNS queries sent to blocklist zones (health checks included)."}),
		checks: m.CounterVec(prometheus.CounterOpts{Name: "vigie_blocklist_checks_total",
			Help: "Target-on-zone verdicts, by status (listed, clear, unknown)."}, "status"),
		listings: m.Gauge(prometheus.GaugeOpts{Name: "vigie_blocklist_listings",
			Help: "Targets listed, counted once per zone, as of the last round."}),
		unusable: m.Gauge(prometheus.GaugeOpts{Name: "vigie_blocklist_zones_unusable",
			Help: "Zones that failed their health check in the last round."}),
		round: m.Gauge(prometheus.GaugeOpts{Name: "vigie_blocklist_round_duration_seconds",
			Help: "How long the last round of checks took."}),
		errs: m.Counter(prometheus.CounterOpts{Name: "vigie_blocklist_errors_total",
			Help: "Rounds or findings that failed (target discovery, the store, the alert pipeline)."}),
	}
}

// Name implements app.Watch.
func (w *Watch) Name() string { return watchName }

// Run checks after StartDelay, then every Interval, until ctx is done. A
// failing round is logged and counted; the next one runs on time.
func (w *Watch) Run(ctx context.Context) error {
	interval := w.o.Interval
	if interval <= 0 {
		interval = 15 * time.Minute
	}
	delay := w.o.StartDelay
	if delay <= 0 {
		delay = time.Minute
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(delay):
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := w.Round(ctx); err != nil && ctx.Err() == nil {
			w.errs.Inc()
			w.log.Error("blocklist round failed; the next one runs on time", "err", err, "next_in", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Round runs one round of checks and emits the changes.
func (w *Watch) Round(ctx context.Context) (Report, error) {
	if err := w.load(ctx); err != nil {
		return Report{}, err
	}
	targets, notes, err := w.o.Targets.Resolve(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("finding the targets: %w", err)
	}
	if n := strings.Join(notes, "; "); n != w.notes {
		w.notes = n
		for _, note := range notes {
			w.log.Warn("blocklist target discovery", "note", note)
		}
	}
	if len(targets) == 0 {
		w.log.Warn("no target to check: no public sending address found and none configured (set blocklist.ips)")
		return Report{}, nil
	}
	began := time.Now()
	rep := w.checker.Check(ctx, targets)
	if err := ctx.Err(); err != nil {
		return rep, err // an interrupted round decides nothing
	}
	w.round.Set(time.Since(began).Seconds())
	w.queries.Add(float64(rep.Queries))
	now := w.o.Now()
	changed := false
	var errs []error

	zones := map[string]*Zone{}
	for _, z := range w.checker.Zones {
		zones[z.Zone] = z
	}
	for _, h := range rep.Zones {
		why, was := w.st.Unusable[h.Zone]
		switch {
		case !h.OK && (!was || why != h.Why):
			err := w.emit(ctx, vigie.Finding{Watch: watchName, Rule: string(RuleZoneUnusable), Subject: h.Zone, Group: "blocklist/zones",
				Severity: vigie.SeverityWarning, Time: now, ResolveAfter: -1,
				Summary:  fmt.Sprintf("vigie cannot check blocklist %s: %s", h.Zone, strings.TrimPrefix(h.Why, "unknown, because ")),
				Evidence: map[string]string{"zone": h.Zone, "reason": h.Why, "terms": zones[h.Zone].Terms, "resolver": strings.Join(w.o.Resolver.Servers, " ")}})
			if err == nil {
				w.st.Unusable[h.Zone], changed = h.Why, true
				w.log.Warn("blocklist zone unusable", "zone", h.Zone, "reason", h.Why)
			}
			errs = append(errs, err)
		case h.OK && was:
			err := w.emit(ctx, vigie.Finding{Watch: watchName, Rule: string(RuleZoneUnusable), Subject: h.Zone, Group: "blocklist/zones",
				Time: now, Resolved: true, Summary: fmt.Sprintf("blocklist %s answers again", h.Zone)})
			if err == nil {
				delete(w.st.Unusable, h.Zone)
				changed = true
			}
			errs = append(errs, err)
		}
	}

	for _, r := range rep.Results {
		w.checks.WithLabelValues(string(r.Status)).Inc()
		key := vigie.BlocklistKey(r.Target, r.Zone)
		old, was := w.st.Listed[key]
		switch {
		case r.Status == Listed && (!was || !slices.Equal(old.Codes, r.Codes)):
			err := w.emit(ctx, listedFinding(r, now))
			if err == nil {
				since := now
				if was {
					since = old.Since
				}
				w.st.Listed[key] = listing{Target: r.Target, Zone: r.Zone, Codes: r.Codes, Since: since}
				changed = true
				w.log.Warn("blocklisted", "target", r.Target, "zone", r.Zone, "codes", strings.Join(r.Codes, ","))
			}
			errs = append(errs, err)
		case r.Status == Clear && was:
			err := w.emit(ctx, vigie.Finding{Watch: watchName, Rule: string(RuleListed), Subject: r.Target, Key: key,
				Group: "blocklist/" + r.Target, Time: now, Resolved: true,
				Summary: fmt.Sprintf("%s is no longer listed on %s (%s)", r.Target, r.List, r.Zone)})
			if err == nil {
				delete(w.st.Listed, key)
				changed = true
				w.log.Info("delisted", "target", r.Target, "zone", r.Zone)
			}
			errs = append(errs, err)
		}
	}
	// Listings of targets or zones no longer checked (an address given up,
	// a list disabled) would otherwise fire forever: resolve them.
	checked := map[string]bool{}
	for _, r := range rep.Results {
		checked[vigie.BlocklistKey(r.Target, r.Zone)] = true
	}
	for key, l := range w.st.Listed {
		if checked[key] {
			continue
		}
		err := w.emit(ctx, vigie.Finding{Watch: watchName, Rule: string(RuleListed), Subject: l.Target, Key: key,
			Group: "blocklist/" + l.Target, Time: now, Resolved: true,
			Summary: fmt.Sprintf("%s is no longer checked on %s (the address or the list left the configuration)", l.Target, l.Zone)})
		if err == nil {
			delete(w.st.Listed, key)
			changed = true
		}
		errs = append(errs, err)
	}
	healthChecked := map[string]bool{}
	for _, h := range rep.Zones {
		healthChecked[h.Zone] = true
	}
	for zone := range w.st.Unusable {
		if healthChecked[zone] {
			continue
		}
		err := w.emit(ctx, vigie.Finding{Watch: watchName, Rule: string(RuleZoneUnusable), Subject: zone, Group: "blocklist/zones",
			Time: now, Resolved: true, Summary: fmt.Sprintf("blocklist %s is no longer queried", zone)})
		if err == nil {
			delete(w.st.Unusable, zone)
			changed = true
		}
		errs = append(errs, err)
	}
	w.listings.Set(float64(len(w.st.Listed)))
	w.unusable.Set(float64(len(w.st.Unusable)))
	if changed {
		if err := w.save(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

func (w *Watch) emit(ctx context.Context, f vigie.Finding) error {
	if err := w.o.Sink.Emit(ctx, f); err != nil {
		return fmt.Errorf("emitting %s/%s %s: %w", f.Watch, f.Rule, f.Subject, err)
	}
	return nil
}

// listedFinding is the alert material for a listing: what the list says
// and how to get off it.
func listedFinding(r Result, now time.Time) vigie.Finding {
	z := r.zone
	ev := z.DelistEvidence()
	ev["target"] = r.Target
	ev["zone"] = r.Zone
	ev["codes"] = strings.Join(r.Codes, ",")
	ev["meanings"] = strings.Join(r.Meanings, "; ")
	ev["reason"] = r.Reason
	if r.Source != "" {
		ev["target_source"] = r.Source
	}
	what := strings.Join(r.Meanings, "; ")
	return vigie.Finding{
		Watch: watchName, Rule: string(RuleListed), Subject: r.Target,
		Key:   vigie.BlocklistKey(r.Target, r.Zone),
		Group: "blocklist/" + r.Target, Severity: z.Impact.Severity(), Time: now,
		// The watch resolves the alert itself when the zone says clear.
		ResolveAfter: -1,
		Summary:      fmt.Sprintf("%s is listed on %s (%s): %s", r.Target, z.Name, r.Zone, what),
		Evidence:     ev,
	}
}

func (w *Watch) load(ctx context.Context) error {
	if w.loaded {
		return nil
	}
	w.st = state{Listed: map[string]listing{}, Unusable: map[string]string{}}
	data, err := w.o.Store.GetState(ctx, watchName, stateKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("loading the blocklist state: %w", err)
	default:
		if err := json.Unmarshal(data, &w.st); err != nil {
			// A damaged state only costs repeated findings, which the
			// alert pipeline de-duplicates.
			w.log.Error("blocklist state unreadable; starting afresh", "err", err)
			w.st = state{}
		}
		if w.st.Listed == nil {
			w.st.Listed = map[string]listing{}
		}
		if w.st.Unusable == nil {
			w.st.Unusable = map[string]string{}
		}
	}
	w.loaded = true
	return nil
}

func (w *Watch) save(ctx context.Context) error {
	data, err := json.Marshal(w.st)
	if err != nil {
		return err
	}
	if err := w.o.Store.PutState(ctx, watchName, stateKey, data); err != nil {
		return fmt.Errorf("saving the blocklist state: %w", err)
	}
	return nil
}
