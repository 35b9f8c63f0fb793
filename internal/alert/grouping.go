package alert

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Grouping rules: which alerts become one incident. A watch follows them
// through Finding.Group, Subject and Evidence:
//
//  1. An explicit Finding.Group always wins: alerts with the same Group
//     share an incident. The dns watch gives every domain delegated to the
//     same rogue NS set the same Group, so 751 hijacked domains are one
//     incident.
// Rules 2 to 5 are the watches' (their descriptors' watch.Grouping, in
// Options.Watches); the watches named below are those vigie ships.
//
//  2. Same account: a mail (or policy) finding without a Group is grouped
//     by its Subject, the SASL user name or "uid:N" for mail injected
//     locally by a Unix user ("account:<subject>"), so every rule about one
//     account (volume, many IPs, brute force, over its limit) lands in one
//     incident.
//  3. Same site and its mail uid: a web finding that carries evidence "uid"
//     joins the incident of that uid ("account:uid:N"), together with the
//     mail findings whose Subject is "uid:N". A web finding without a uid
//     is grouped by its Subject, the site ("site:<subject>"). Evidence
//     "owner" (the user name) is shown but does not group.
//  4. A compromise and the blocklisting that follows it: a blocklist alert
//     (key vigie.BlocklistKey(target, list), from the blocklist watch or a
//     mail bounce) joins the newest incident that holds a mail alert seen
//     no longer than Grouping.BlocklistWindow before it, if that incident
//     is open or was resolved within the window (it is then re-opened:
//     the consequences are not over).
//  5. A DNS drift and the certificates issued in its window: a ct finding
//     joins the incident of a dns alert about the same domain (its Subject,
//     evidence "domain" or the certificate's names in evidence "names",
//     comma or space separated, a parent domain or a wildcard matching
//     too), if that incident is open or was resolved less than
//     Grouping.CTWindow before the certificate was seen.
//
// An alert stays in the incident it was put in (by these rules or by an
// admin's merge or split) for as long as that incident is not resolved.
// When a resolved alert fires again, it joins the open incident of its
// group if there is one, else re-opens its own incident.

// Grouping tunes rules 4 and 5.
type Grouping struct {
	BlocklistWindow time.Duration // default 72h
	CTWindow        time.Duration // default 48h
}

// AccountGroup is the group key of one mail account: a SASL user name or
// "uid:N" (watch.AccountGroup).
func AccountGroup(account string) string { return watch.AccountGroup(account) }

// SiteGroup is the group key of a web site without a known uid
// (watch.SiteGroup).
func SiteGroup(site string) string { return watch.SiteGroup(site) }

// GroupKey is the incident group of a finding under rules 1 to 3, for the
// watches ws; rules 4 and 5 are applied when its alert fires, from the
// store.
func GroupKey(ws watch.List, f *vigie.Finding) string { return groupKey(ws, f) }

// groupKey is GroupKey.
func groupKey(ws watch.List, f *vigie.Finding) string {
	if f.Group != "" {
		return f.Group
	}
	if vigie.IsBlocklistKey(f.AlertKey()) {
		return f.AlertKey()
	}
	if g := groupingOf(ws, f.Watch); g != nil && g.Key != nil {
		if k := g.Key(f); k != "" {
			return k
		}
	}
	return f.AlertKey()
}

// groupingOf is the grouping of the watch named name, or nil.
func groupingOf(ws watch.List, name string) *watch.Grouping {
	if d := ws.Find(name); d != nil {
		return d.Grouping
	}
	return nil
}

// followsCompromise says whether a is a listing (rule 4): from a watch
// whose alerts follow a compromise, or keyed by vigie.BlocklistKey.
func (p *Pipeline) followsCompromise(a *vigie.Alert) bool {
	if g := groupingOf(p.o.Watches, a.Watch); g != nil && g.FollowsCompromise {
		return true
	}
	return vigie.IsBlocklistKey(a.Key)
}

// indexDomains remembers incident id as the incident of each domain of a,
// when its watch's domains are indexed (rule 5).
func (p *Pipeline) indexDomains(ctx context.Context, a *vigie.Alert, id int64) error {
	g := groupingOf(p.o.Watches, a.Watch)
	if g == nil || !g.IndexDomains || g.Domains == nil {
		return nil
	}
	for _, d := range g.Domains(a) {
		if d = normDomain(d); d == "" {
			continue
		}
		if err := p.putIndex(ctx, domainIndexKey(d), id); err != nil {
			return err
		}
	}
	return nil
}

// The pipeline keeps two small indexes in the store's state space (watch
// "alert"): the incident each group last went to, and the incident each
// domain of a dns alert is in (rule 5).
const stateSpace = "alert"

func groupIndexKey(g string) string  { return "group/" + g }
func domainIndexKey(d string) string { return "domain/" + d }
func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}
func formatID(id int64) []byte { return []byte(strconv.FormatInt(id, 10)) }
func (p *Pipeline) putIndex(ctx context.Context, key string, id int64) error {
	return p.o.Store.PutState(ctx, stateSpace, key, formatID(id))
}

// indexed returns the incident an index entry points at, or ErrNotFound.
func (p *Pipeline) indexed(ctx context.Context, key string) (vigie.Incident, error) {
	v, err := p.o.Store.GetState(ctx, stateSpace, key)
	if err != nil {
		return vigie.Incident{}, err
	}
	id, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return vigie.Incident{}, store.ErrNotFound
	}
	return p.o.Store.Incident(ctx, id)
}

// openForGroup returns the incident of group g that is not resolved.
func (p *Pipeline) openForGroup(ctx context.Context, g string) (vigie.Incident, error) {
	in, err := p.indexed(ctx, groupIndexKey(g))
	if err == nil && in.State != vigie.IncidentResolved {
		return in, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return in, err
	}
	return p.o.Store.OpenIncident(ctx, g)
}

// live reports whether an incident can still take alerts at time at:
// open, or resolved less than window ago.
func live(in vigie.Incident, at time.Time, window time.Duration) bool {
	return in.State != vigie.IncidentResolved || !in.ResolvedAt.Before(at.Add(-window))
}

// joinRule applies rules 4 and 5 to an alert that has no open incident of
// its own group; it returns the incident to join and the rule's name.
func (p *Pipeline) joinRule(ctx context.Context, a *vigie.Alert, at time.Time) (vigie.Incident, string, error) {
	if p.followsCompromise(a) {
		in, err := p.compromiseBefore(ctx, at)
		return in, "blocklisting after a compromise", err
	}
	if g := groupingOf(p.o.Watches, a.Watch); g != nil && g.JoinsDomains && g.Domains != nil {
		in, err := p.dnsIncidentFor(ctx, g.Domains(a), at)
		return in, "certificate issued during a DNS drift", err
	}
	return vigie.Incident{}, "", store.ErrNotFound
}

// compromiseBefore finds the newest incident with a (non-blocklist) mail
// alert last seen within the blocklist window before at.
func (p *Pipeline) compromiseBefore(ctx context.Context, at time.Time) (vigie.Incident, error) {
	w := p.o.Grouping.BlocklistWindow
	s := p.o.Store
	var best vigie.Incident
	var bestSeen time.Time
	consider := func(ins []vigie.Incident) error {
		for _, in := range ins {
			if !live(in, at, w) {
				continue
			}
			as, err := p.compromiseAlerts(ctx, in.ID)
			if err != nil {
				return err
			}
			for _, x := range as {
				if p.followsCompromise(&x) || x.LastSeen.Before(at.Add(-w)) || x.FirstSeen.After(at) {
					continue
				}
				if x.LastSeen.After(bestSeen) {
					best, bestSeen = in, x.LastSeen
				}
			}
		}
		return nil
	}
	open, err := s.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen, vigie.IncidentAcknowledged}})
	if err != nil {
		return best, err
	}
	if err := consider(open); err != nil {
		return best, err
	}
	if best.ID == 0 {
		// Listings often arrive after the account was secured.
		resolved, err := s.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentResolved}, Limit: 200})
		if err != nil {
			return best, err
		}
		if err := consider(resolved); err != nil {
			return best, err
		}
	}
	if best.ID == 0 {
		return best, store.ErrNotFound
	}
	return best, nil
}

// compromiseAlerts are the alerts of incident id from the watches whose
// alerts are a compromise (rule 4).
func (p *Pipeline) compromiseAlerts(ctx context.Context, id int64) ([]vigie.Alert, error) {
	var out []vigie.Alert
	for _, d := range p.o.Watches {
		if d.Grouping == nil || !d.Grouping.Compromise {
			continue
		}
		as, err := p.o.Store.ListAlerts(ctx, store.AlertQuery{IncidentID: id, Watch: string(d.Name), Limit: 100000})
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// dnsIncidentFor finds the live incident indexed for one of names (a
// certificate's) or their parents.
func (p *Pipeline) dnsIncidentFor(ctx context.Context, names []string, at time.Time) (vigie.Incident, error) {
	seen := map[string]bool{}
	for _, name := range names {
		if name = normDomain(name); name == "" {
			continue
		}
		for d := name; d != "" && !seen[d]; {
			seen[d] = true
			in, err := p.indexed(ctx, domainIndexKey(d))
			if err == nil && live(in, at, p.o.Grouping.CTWindow) {
				return in, nil
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return in, err
			}
			_, parent, ok := strings.Cut(d, ".")
			if !ok || !strings.Contains(parent, ".") {
				break // stop at the TLD's children: "fr" alone is nobody's domain
			}
			d = parent
		}
	}
	return vigie.Incident{}, store.ErrNotFound
}
