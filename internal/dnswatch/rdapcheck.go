package dnswatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/dnsname"
	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Registry status and expiry through RDAP: the registry's own database,
// a third view of the delegation beside the parent's zone and the
// domain's servers. A registry lock that disappears, a hold, a transfer
// to another registrar or a coming expiry show here before the NS move.
const (
	RuleRDAPLockRemoved RuleName = "rdap-lock-removed"      // critical: a *Prohibited status seen before is gone
	RuleRDAPStatus      RuleName = "rdap-status"            // a hold, pending delete or redemption (critical), pending transfer (warning)
	RuleRDAPExpiry      RuleName = "rdap-expiry"            // warning within the first of dns.rdap.expiry_days, critical within the others
	RuleRDAPRegistrar   RuleName = "rdap-registrar-changed" // critical: the sponsoring registrar changed
	RuleRDAPNS          RuleName = "rdap-ns-mismatch"       // warning: the registry's NS differ from what the parent serves
	RuleRDAPNotFound    RuleName = "rdap-not-found"         // critical: the registry says the domain is not registered
)

const (
	EvidenceRDAPStatus   EvidenceKey = "rdap_status"   // the status codes, EPP form, space separated
	EvidenceLocksRemoved EvidenceKey = "locks_removed" // the locks gone, space separated
	EvidenceExpires      EvidenceKey = "expires"       // RFC 3339
	EvidenceDaysLeft     EvidenceKey = "days_left"
	EvidenceRegistrar    EvidenceKey = "registrar"          // as RDAP names it now
	EvidenceRegistrarWas EvidenceKey = "registrar_expected" // as it was first seen
	EvidenceRDAPNS       EvidenceKey = "rdap_ns"            // the registry's NS, ", " between
	EvidenceParentNS     EvidenceKey = "parent_ns"          // the parent's NS, ", " between
	EvidenceRDAPServer   EvidenceKey = "rdap_server"        // the URL asked
)

// DefaultExpiryDays are the expiry thresholds: within 30 days a warning,
// within 7 and within 1 critical (each crossing notifies again).
var DefaultExpiryDays = []int{30, 7, 1}

// RDAPLookup is what the checker needs of an RDAP client.
type RDAPLookup interface {
	Lookup(ctx context.Context, domain string) (*rdap.Domain, error)
}

// RDAPChecker checks domains one at a time against their registry.
type RDAPChecker struct {
	Lookup     RDAPLookup
	State      store.State
	Sink       watch.Sink
	Now        func() time.Time
	ExpiryDays []int // descending; DefaultExpiryDays when empty
	// ParentNS returns the NS set the parent served at the last sweep
	// (canonical, ", " between), false when not known.
	ParentNS func(domain string) (string, bool)
	Logger   *slog.Logger
}

// rdapRecord is what the checker keeps per domain.
type rdapRecord struct {
	Locks     []string          `json:"locks"`     // the locks expected: every *Prohibited status seen, until it is gone and flagged
	Registrar string            `json:"registrar"` // as first seen
	Status    []string          `json:"status"`
	Expires   time.Time         `json:"expires"`
	NS        []string          `json:"ns"`
	Checked   time.Time         `json:"checked"`
	Open      map[string]string `json:"open"` // rule -> the value last emitted
}

func rdapStateKey(domain string) string { return "rdap/" + domain }

// RDAPKey is the alert key of an RDAP finding.
func RDAPKey(rule RuleName, domain string) string { return "dns/" + string(rule) + "/" + domain }

var badStatus = map[string]vigie.Severity{
	"clientHold": vigie.SeverityCritical, "serverHold": vigie.SeverityCritical,
	"pendingDelete": vigie.SeverityCritical, "redemptionPeriod": vigie.SeverityCritical,
	"inactive": vigie.SeverityCritical, "pendingTransfer": vigie.SeverityWarning,
}

type rdapProblem struct {
	sev     vigie.Severity
	val     string // changes when the problem changes: emitted again
	summary string
	ev      map[string]string
}

// Check reads domain's registration and emits what changed.
func (c *RDAPChecker) Check(ctx context.Context, domain string) error {
	now := c.Now().UTC()
	rec := &rdapRecord{}
	b, err := c.State.GetState(ctx, WatchName, rdapStateKey(domain))
	first := errors.Is(err, store.ErrNotFound)
	if err != nil && !first {
		return err
	}
	if !first {
		if err := json.Unmarshal(b, rec); err != nil {
			rec, first = &rdapRecord{}, true
		}
	}
	d, lerr := c.Lookup.Lookup(ctx, domain)
	problems := map[RuleName]rdapProblem{}
	switch {
	case errors.Is(lerr, rdap.ErrNotFound):
		problems[RuleRDAPNotFound] = rdapProblem{sev: vigie.SeverityCritical, val: "not-found",
			summary: fmt.Sprintf("the registry's RDAP server says %s is not registered: deleted, or never registered", domain),
			ev:      map[string]string{}}
	case lerr != nil:
		return lerr
	default:
		problems = c.problems(domain, d, rec, first, now)
		rec.Status, rec.Expires, rec.NS = d.Status, d.Expires, d.Nameservers
		if rec.Registrar == "" {
			rec.Registrar = d.Registrar
		}
	}
	rec.Checked = now
	if rec.Open == nil {
		rec.Open = map[string]string{}
	}
	var firstErr error
	for rule, p := range problems {
		if rec.Open[string(rule)] == p.val {
			continue
		}
		p.ev[string(EvidenceRDAPStatus)] = strings.Join(rec.Status, " ")
		if d != nil {
			p.ev[string(EvidenceRDAPServer)] = d.Server
		}
		f := vigie.Finding{Watch: WatchName, Rule: string(rule), Subject: domain, Key: RDAPKey(rule, domain),
			Group: "dns/" + string(rule), Severity: p.sev, Time: now, ResolveAfter: -1, Summary: p.summary, Evidence: p.ev}
		if err := c.Sink.Emit(ctx, f); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		rec.Open[string(rule)] = p.val
	}
	for rule := range rec.Open {
		if _, still := problems[RuleName(rule)]; still {
			continue
		}
		f := vigie.Finding{Watch: WatchName, Rule: rule, Subject: domain, Key: RDAPKey(RuleName(rule), domain),
			Resolved: true, Time: now, Summary: fmt.Sprintf("%s of %s no longer holds at the registry", rule, domain)}
		if err := c.Sink.Emit(ctx, f); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		delete(rec.Open, rule)
	}
	out, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := c.State.PutState(ctx, WatchName, rdapStateKey(domain), out); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

func (c *RDAPChecker) problems(domain string, d *rdap.Domain, rec *rdapRecord, first bool, now time.Time) map[RuleName]rdapProblem {
	out := map[RuleName]rdapProblem{}
	var locks []string
	for _, s := range d.Status {
		if strings.HasSuffix(s, "Prohibited") {
			locks = append(locks, s)
		}
	}
	var removed []string
	for _, l := range rec.Locks {
		if !slices.Contains(locks, l) {
			removed = append(removed, l)
		}
	}
	// the expected locks: those seen, the removed ones kept until back
	rec.Locks = dnsname.SortedUnique(append(slices.Clone(locks), removed...))
	if len(removed) > 0 {
		out[RuleRDAPLockRemoved] = rdapProblem{sev: vigie.SeverityCritical, val: strings.Join(removed, " "),
			summary: fmt.Sprintf("registry lock removed on %s: %s no longer set (status now: %s); an NS change may follow",
				domain, strings.Join(removed, ", "), statusText(d.Status)),
			ev: map[string]string{string(EvidenceLocksRemoved): strings.Join(removed, " ")}}
	}
	var bad []string
	sev := vigie.SeverityWarning
	for _, s := range d.Status {
		if bs, ok := badStatus[s]; ok {
			bad = append(bad, s)
			if bs == vigie.SeverityCritical {
				sev = bs
			}
		}
	}
	if len(bad) > 0 {
		out[RuleRDAPStatus] = rdapProblem{sev: sev, val: strings.Join(bad, " "),
			summary: fmt.Sprintf("%s is %s at the registry (status: %s)", domain, strings.Join(bad, ", "), statusText(d.Status)),
			ev:      map[string]string{}}
	}
	if !d.Expires.IsZero() {
		days := c.expiryDays()
		left := d.Expires.Sub(now)
		dl := int(left.Hours() / 24)
		if left < 0 {
			dl = -1
		}
		bucket := -1
		for i, t := range days {
			if dl < t {
				bucket = i
			}
		}
		if bucket >= 0 {
			s := vigie.SeverityWarning
			if bucket > 0 || dl < 0 {
				s = vigie.SeverityCritical
			}
			when := fmt.Sprintf("in %d days", dl)
			val := strconv.Itoa(days[bucket])
			if dl < 0 {
				when, val = "already", "expired"
			}
			out[RuleRDAPExpiry] = rdapProblem{sev: s, val: val,
				summary: fmt.Sprintf("%s expires %s (%s) and is not renewed", domain, when, d.Expires.Format("2006-01-02 15:04 UTC")),
				ev: map[string]string{string(EvidenceExpires): d.Expires.Format(time.RFC3339),
					string(EvidenceDaysLeft): strconv.Itoa(dl)}}
		}
	}
	if !first && rec.Registrar != "" && d.Registrar != "" && d.Registrar != rec.Registrar {
		out[RuleRDAPRegistrar] = rdapProblem{sev: vigie.SeverityCritical, val: d.Registrar,
			summary: fmt.Sprintf("the registrar of %s changed from %s to %s: a transfer", domain, rec.Registrar, d.Registrar),
			ev:      map[string]string{string(EvidenceRegistrar): d.Registrar, string(EvidenceRegistrarWas): rec.Registrar}}
	}
	if c.ParentNS != nil && len(d.Nameservers) > 0 {
		if parent, ok := c.ParentNS(domain); ok && parent != "" {
			if reg := joinValues(slices.Clone(d.Nameservers)); reg != parent {
				out[RuleRDAPNS] = rdapProblem{sev: vigie.SeverityWarning, val: reg + "|" + parent,
					summary: fmt.Sprintf("the registry's database lists %s for %s, the TLD zone serves %s: a change not yet published, or made outside the registry",
						reg, domain, parent),
					ev: map[string]string{string(EvidenceRDAPNS): reg, string(EvidenceParentNS): parent}}
			}
		}
	}
	return out
}

func (c *RDAPChecker) expiryDays() []int {
	if len(c.ExpiryDays) == 0 {
		return DefaultExpiryDays
	}
	d := slices.Clone(c.ExpiryDays)
	sort.Sort(sort.Reverse(sort.IntSlice(d)))
	return d
}

func statusText(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// RunRDAP checks every domain once per interval, spread evenly over it
// (2.1 million domains a day is 24 a second, within what registries
// allow), until ctx ends. domains returns the current inventory.
func (c *RDAPChecker) Run(ctx context.Context, domains func() []string, interval time.Duration, onErr func(domain string, err error)) {
	for ctx.Err() == nil {
		list := domains()
		start := time.Now()
		if len(list) == 0 {
			// No sweep has told the domains yet: look again soon.
			if !sleepCtx(ctx, min(interval, time.Minute)) {
				return
			}
			continue
		}
		spacing := interval / time.Duration(len(list))
		for i, d := range list {
			if !sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*spacing))) {
				return
			}
			if err := c.Check(ctx, d); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(d, err)
			}
		}
		if !sleepCtx(ctx, time.Until(start.Add(interval))) {
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// nsView is the parent's NS of every domain as of one sweep, for the
// RDAP checker's goroutine (the monitor itself belongs to the sweeps).
type nsView struct {
	names []string // sorted
	ns    []valueID
	vals  *interner
}

func (m *Monitor) nsSnapshot() *nsView {
	v := &nsView{names: make([]string, len(m.domains)), ns: make([]valueID, len(m.domains)), vals: m.vals}
	for i := range m.domains {
		v.names[i], v.ns[i] = m.domains[i].name, m.domains[i].obs[KindNS]
	}
	return v
}

func (v *nsView) lookup(domain string) (string, bool) {
	i := sort.SearchStrings(v.names, domain)
	if i >= len(v.names) || v.names[i] != domain || v.ns[i] == 0 {
		return "", false
	}
	return v.vals.value(v.ns[i]), true
}
