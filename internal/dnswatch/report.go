package dnswatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// WatchName is the watch name in findings, state and metrics.
const WatchName = string(Name)

// Reporter turns sweep results into findings: one alert per domain and
// kind, grouped by the new value, resolved by the watch itself when the
// value is back to what is expected (or approved). It keeps, per open
// drift, the first and last time it was seen and the longest TTL it was
// served with: the exposure window of the incident report.
type Reporter struct {
	Sink watch.Sink
	// State keeps the open drifts; its alerts are read back when that
	// record was lost.
	State  ReportStore
	Now    func() time.Time
	Logger *slog.Logger
	// Refresh re-emits an unchanged drift this often, so its alert's last
	// seen time stays current (default 1h).
	Refresh time.Duration
	// StateKey names the record of open drifts in the state (default
	// "drifts"). Nodes that split the sweep each keep their own, holding
	// the drifts of their shards: a node taking a shard over adopts its
	// open alerts from the shared alert table (first seen, longest TTL).
	StateKey string
}

// ReportStore is what the reporter keeps its records in.
type ReportStore interface {
	store.State
	store.Alerts
}

// driftRecord is kept in the store per open alert of this watch.
type driftRecord struct {
	Domain    string    `json:"domain"`
	Kind      string    `json:"kind"` // a Kind, "disagree" or "serial"
	Observed  string    `json:"observed"`
	Group     string    `json:"group"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	MaxTTL    uint32    `json:"max_ttl"`
	Emitted   time.Time `json:"emitted"`
}

const driftsKey = "drifts"

// DriftKey is the alert key of a drift of kind on domain.
func DriftKey(domain, kind string) string { return "dns/drift/" + domain + "/" + kind }

func (r *Reporter) load(ctx context.Context) (map[string]*driftRecord, error) {
	out := map[string]*driftRecord{}
	b, err := r.State.GetState(ctx, WatchName, r.key())
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("dns drift state: %w", err)
	}
	return out, nil
}

func (r *Reporter) save(ctx context.Context, recs map[string]*driftRecord) error {
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return r.State.PutState(ctx, WatchName, r.key(), b)
}

func (r *Reporter) key() string {
	if r.StateKey == "" {
		return driftsKey
	}
	return r.StateKey
}

// groupOf names the incident of a drift: the kind and the new value, so
// every domain moved to the same rogue NS set lands in one incident. The
// records served by a domain whose delegation was changed belong to the
// delegation's incident: the rogue servers wrote them.
func groupOf(dr Drift, nsGroup map[string]string) string {
	if g, ok := nsGroup[dr.Domain]; ok {
		return g
	}
	return "dns/" + dr.Kind.String() + "/" + dr.Observed
}

type groupInfo struct {
	domains map[string]bool
	tlds    map[string]bool
}

// Report emits the findings of one sweep and resolves the drifts that
// are gone. It returns how many drifts are open.
func (r *Reporter) Report(ctx context.Context, m *Monitor, res *Result) (int, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Refresh <= 0 {
		r.Refresh = time.Hour
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	// An approval may have landed while the sweep ran: a drift from the
	// old baseline must not fire again.
	if err := m.reloadBaseline(ctx); err != nil {
		return 0, err
	}
	drifts := res.Drifts[:0:0]
	for _, dr := range res.Drifts {
		if i := m.find(dr.Domain); i >= 0 && m.vals.value(m.expected(&m.domains[i], dr.Kind)) != dr.Observed {
			drifts = append(drifts, dr)
		}
	}
	recs, err := r.load(ctx)
	if err != nil {
		return 0, err
	}
	if err := r.adoptAlerts(ctx, recs); err != nil {
		return 0, err
	}
	for key, rec := range recs {
		// the drifts of domains another node sweeps are that node's
		if rec.Kind != "serial" {
			if i := m.find(rec.Domain); i >= 0 && !m.owns(i) {
				delete(recs, key)
			}
		}
	}
	now := r.Now().UTC()
	nsGroup := map[string]string{}
	for _, dr := range drifts {
		if dr.Kind == KindNS {
			nsGroup[dr.Domain] = "dns/ns/" + dr.Observed
		}
	}
	groups := map[string]*groupInfo{}
	for _, dr := range drifts {
		g := groupOf(dr, nsGroup)
		gi := groups[g]
		if gi == nil {
			gi = &groupInfo{domains: map[string]bool{}, tlds: map[string]bool{}}
			groups[g] = gi
		}
		gi.domains[dr.Domain] = true
		gi.tlds[dr.TLD] = true
	}
	current := map[string]bool{}
	var firstErr error
	for _, dr := range drifts {
		key := DriftKey(dr.Domain, dr.Kind.String())
		current[key] = true
		g := groupOf(dr, nsGroup)
		rec := recs[key]
		changed := rec == nil || rec.Observed != dr.Observed || rec.Group != g
		if rec == nil || rec.Observed != dr.Observed {
			rec = &driftRecord{Domain: dr.Domain, Kind: dr.Kind.String(), FirstSeen: now}
			recs[key] = rec
		}
		rec.Observed, rec.Group, rec.LastSeen = dr.Observed, g, now
		rec.MaxTTL = max(rec.MaxTTL, dr.TTL)
		if !changed && now.Sub(rec.Emitted) < r.Refresh {
			continue
		}
		rec.Emitted = now
		if err := r.Sink.Emit(ctx, r.driftFinding(dr, rec, g, groups[g], now)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, dis := range res.Disagreements {
		key := "dns/parent-disagree/" + dis.Domain
		current[key] = true
		val := fmt.Sprint(sortedMap(dis.Answers))
		rec := recs[key]
		if rec != nil && rec.Observed == val && now.Sub(rec.Emitted) < r.Refresh {
			rec.LastSeen = now
			continue
		}
		if rec == nil {
			rec = &driftRecord{Domain: dis.Domain, Kind: "disagree", FirstSeen: now}
			recs[key] = rec
		}
		rec.Observed, rec.LastSeen, rec.Emitted = val, now, now
		ev := map[string]string{string(EvidenceKind): dis.Kind.String(), string(EvidenceTLD): dis.Zone}
		for srv, v := range dis.Answers {
			ev["answer "+srv] = v
		}
		for srv, s := range dis.Serials {
			ev["serial "+srv] = strconv.FormatUint(uint64(s), 10)
		}
		f := vigie.Finding{Watch: WatchName, Rule: string(RuleParentDisagree), Subject: dis.Domain, Key: key,
			Group: "dns/" + string(RuleParentDisagree) + "/" + dis.Zone, Severity: vigie.SeverityWarning, Time: now, ResolveAfter: -1,
			Summary:  fmt.Sprintf("the servers of %s give different %s for %s: compare their answers and SOA serials", dis.Zone, dis.Kind, dis.Domain),
			Evidence: ev}
		if err := r.Sink.Emit(ctx, f); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, sp := range res.SerialSplits {
		key := "dns/serial-split/" + sp.Zone
		current[key] = true
		val := fmt.Sprint(sortedSerials(sp.Serials))
		rec := recs[key]
		if rec != nil && rec.Observed == val && now.Sub(rec.Emitted) < r.Refresh {
			rec.LastSeen = now
			continue
		}
		if rec == nil {
			rec = &driftRecord{Domain: sp.Zone, Kind: "serial", FirstSeen: now}
			recs[key] = rec
		}
		rec.Observed, rec.LastSeen, rec.Emitted = val, now, now
		ev := map[string]string{"tld": sp.Zone}
		for srv, s := range sp.Serials {
			ev["serial "+srv] = strconv.FormatUint(uint64(s), 10)
		}
		f := vigie.Finding{Watch: WatchName, Rule: string(RuleParentSerialSplit), Subject: sp.Zone, Key: key,
			Severity: vigie.SeverityInfo, Time: now, ResolveAfter: -1, Evidence: ev,
			Summary: fmt.Sprintf("the servers of %s serve different SOA serials: a change is propagating, or a server is stale", sp.Zone)}
		if err := r.Sink.Emit(ctx, f); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := r.reportDNSSEC(ctx, m, res, recs, current, now); err != nil && firstErr == nil {
		firstErr = err
	}
	for key, rec := range recs {
		if current[key] || !r.gone(m, res, rec) {
			continue
		}
		f := vigie.Finding{Watch: WatchName, Rule: ruleOf(rec.Kind), Subject: rec.Domain, Key: key, Resolved: true, Time: now,
			Summary: resolvedSummary(rec)}
		if err := r.Sink.Emit(ctx, f); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		delete(recs, key)
	}
	if err := r.save(ctx, recs); err != nil && firstErr == nil {
		firstErr = err
	}
	open := 0
	for _, rec := range recs {
		if _, err := ParseKind(rec.Kind); err == nil {
			open++
		}
	}
	return open, firstErr
}

// adoptAlerts adds a record for every active drift alert the state does
// not know (the state was lost, or written by an older run), so that the
// alert is resolved when its value comes back instead of firing forever.
func (r *Reporter) adoptAlerts(ctx context.Context, recs map[string]*driftRecord) error {
	active, err := r.State.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, Limit: 10_000_000,
		States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}})
	if err != nil {
		return err
	}
	for _, a := range active {
		if a.Rule != string(RuleDrift) || recs[a.Key] != nil {
			continue
		}
		if _, err := ParseKind(EvidenceKind.Of(a.Evidence)); err != nil {
			continue
		}
		recs[a.Key] = &driftRecord{Domain: a.Subject, Kind: EvidenceKind.Of(a.Evidence), Observed: EvidenceObserved.Of(a.Evidence),
			Group: a.Group, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, MaxTTL: uint32(atoi(EvidenceMaxTTL.Of(a.Evidence))), Emitted: a.LastSeen}
	}
	return nil
}

func ruleOf(kind string) string {
	switch kind {
	case "disagree":
		return string(RuleParentDisagree)
	case "serial":
		return string(RuleParentSerialSplit)
	case string(RuleDNSSECBroken), string(RuleDNSSECExpiring):
		return kind
	}
	return string(RuleDrift)
}

// gone says whether an open record no longer holds: the value is back to
// what is expected, or the domain left the inventory. A domain that could
// not be read this sweep, or a kind this sweep did not check, stays open.
func (r *Reporter) gone(m *Monitor, res *Result, rec *driftRecord) bool {
	if rec.Kind == "serial" {
		return true // serials are checked every sweep: absent from the splits means healed
	}
	i := m.find(rec.Domain)
	if i < 0 {
		return true
	}
	if !m.owns(i) {
		return false // another node sweeps it
	}
	d := &m.domains[i]
	if rec.Kind == string(RuleDNSSECBroken) || rec.Kind == string(RuleDNSSECExpiring) {
		return m.secGone(res, i, rec.Kind)
	}
	if rec.Kind == "disagree" {
		// While the zone's servers still serve different serials, a sweep
		// that happened to ask the server agreeing with the baseline does
		// not end the disagreement.
		for _, sp := range res.SerialSplits {
			if sp.Zone == m.zones[d.zone].name {
				return false
			}
		}
		return d.obs[KindNS] != 0 && d.errs[KindNS] != errDisagree
	}
	k, err := ParseKind(rec.Kind)
	if err != nil {
		return true
	}
	if !k.Parent() && !res.Full {
		return false
	}
	return d.obs[k] != 0 && d.obs[k] == m.expected(d, k)
}

func resolvedSummary(rec *driftRecord) string {
	s := fmt.Sprintf("%s of %s is back to the expected value; the changed value was seen from %s to %s",
		rec.Kind, rec.Domain, rec.FirstSeen.Format(time.RFC3339), rec.LastSeen.Format(time.RFC3339))
	if rec.MaxTTL > 0 {
		s += fmt.Sprintf(" with a TTL of up to %s: caches may serve it until %s", time.Duration(rec.MaxTTL)*time.Second,
			rec.LastSeen.Add(time.Duration(rec.MaxTTL)*time.Second).Format(time.RFC3339))
	}
	return s
}

func (r *Reporter) driftFinding(dr Drift, rec *driftRecord, group string, gi *groupInfo, now time.Time) vigie.Finding {
	sev := vigie.SeverityWarning
	if dr.Kind.Parent() || strings.HasPrefix(group, "dns/ns/") {
		sev = vigie.SeverityCritical
	}
	ttl := time.Duration(rec.MaxTTL) * time.Second
	ev := map[string]string{
		string(EvidenceKind):     dr.Kind.String(),
		string(EvidenceExpected): dr.Expected,
		string(EvidenceObserved): dr.Observed,
		string(EvidenceServer):   dr.Server,
		string(EvidenceTTL):      strconv.FormatUint(uint64(dr.TTL), 10),
		string(EvidenceMaxTTL):   strconv.FormatUint(uint64(rec.MaxTTL), 10),
		string(EvidenceTLD):      dr.TLD,
		"first_seen":             rec.FirstSeen.Format(time.RFC3339),
		"last_seen":              rec.LastSeen.Format(time.RFC3339),
		"cache_until":            rec.LastSeen.Add(ttl).Format(time.RFC3339),
	}
	n, tlds := len(gi.domains), len(gi.tlds)
	ev["group_domains"] = strconv.Itoa(n)
	ev["group_tlds"] = strings.Join(sortedKeys(gi.tlds), " ")
	summary := fmt.Sprintf("%s of %s changed to %s (expected %s)", dr.Kind, dr.Domain, shorten(dr.Observed), shorten(dr.Expected))
	switch {
	case dr.Kind == KindDS && dr.Observed == "":
		summary = fmt.Sprintf("the DS of %s was removed at the parent (was %s): validating resolvers now treat it as unsigned", dr.Domain, shorten(dr.Expected))
	case dr.Kind == KindDS && dr.Expected == "":
		summary = fmt.Sprintf("a DS for %s was added at the parent (%s): the domain must be signed with that key, or validating resolvers fail", dr.Domain, shorten(dr.Observed))
	}
	if n > 1 {
		summary += fmt.Sprintf("; %d domains in %d TLDs share this change", n, tlds)
		if tlds <= 10 {
			summary += " (" + ev["group_tlds"] + ")"
		}
	}
	return vigie.Finding{Watch: WatchName, Rule: string(RuleDrift), Subject: dr.Domain, Key: DriftKey(dr.Domain, dr.Kind.String()),
		Group: group, Severity: sev, Time: now, Summary: summary, Evidence: ev, ResolveAfter: -1}
}

func shorten(v string) string {
	if v == "" {
		return "(none)"
	}
	return truncate(v, 200)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedMap(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func sortedSerials(m map[string]uint32) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+strconv.FormatUint(uint64(v), 10))
	}
	sort.Strings(out)
	return out
}
