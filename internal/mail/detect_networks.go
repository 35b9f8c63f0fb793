package mail

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// The sasl-many-ips rule counts, per SASL user, the networks it logs in
// from that are new to it, not raw addresses: a phone on a carrier NAT or
// IPv6 privacy addresses change address every few minutes inside networks
// the member always uses. A network is the client's /24 (IPv4) or /64
// (IPv6); networks are learned per user over habit_days. New networks in
// one neighbourhood (/16 for IPv4, /48 for IPv6), or in the neighbourhood
// of a known network, count once: a carrier's pool. A stolen password
// used by a botnet comes from many neighbourhoods at once.
//
// Learning: a new network becomes known once it has been in use for the
// whole window with no alert of the user open; networks seen during an
// alert are never learned.

// UserNetworks is what the rule keeps about one user (saved across
// restarts).
type UserNetworks struct {
	Known  map[string]int64     `json:"known,omitempty"`  // network -> last day used
	Recent map[string]time.Time `json:"recent,omitempty"` // new network -> first use in the window
	Alarm  alarm                `json:"alarm"`
	Quiet  time.Time            `json:"quiet"` // last alert closed
}

const (
	maxKnownNets  = 500
	maxRecentNets = 200
)

type loginNetworks struct {
	cfg   config.MailSASL
	days  int
	users map[string]*UserNetworks
	emit  func(vigie.Finding)
	// newNet is told when a user logs in from new networks in two or more
	// neighbourhoods: evidence for its volume alert.
	newNet func(user string, now time.Time)
}

// networkOf returns the network and neighbourhood of an address as text.
func (l *loginNetworks) networkOf(ip string) (network, hood string, ok bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", "", false
	}
	a = a.Unmap().WithZone("")
	bits, hb := l.cfg.NetworkBitsV4, 16
	if a.Is6() {
		bits, hb = l.cfg.NetworkBitsV6, 48
	}
	hb = min(hb, bits)
	n, err1 := a.Prefix(bits)
	h, err2 := a.Prefix(hb)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return n.String(), h.String(), true
}

func (l *loginNetworks) hoodOf(network string) string {
	p, err := netip.ParsePrefix(network)
	if err != nil {
		return network
	}
	_, h, _ := l.networkOf(p.Addr().String())
	return h
}

func (l *loginNetworks) add(user, ip string, now time.Time) {
	if user == "" {
		return
	}
	network, _, ok := l.networkOf(ip)
	if !ok {
		return
	}
	u := l.users[user]
	if u == nil {
		u = &UserNetworks{}
		l.users[strings.Clone(user)] = u
	}
	day := now.Unix() / 86400
	if _, known := u.Known[network]; known {
		if !u.Alarm.Firing {
			u.Known[network] = day
		}
	} else {
		if u.Recent == nil {
			u.Recent = map[string]time.Time{}
		}
		if _, seen := u.Recent[network]; !seen && len(u.Recent) < maxRecentNets {
			u.Recent[network] = now
		}
	}
	l.check(user, u, now)
}

// newHoods counts the neighbourhoods of the user's new networks that no
// known network shares.
func (l *loginNetworks) newHoods(u *UserNetworks) (hoods []string, nets int) {
	if len(u.Recent) == 0 {
		return nil, 0
	}
	known := map[string]bool{}
	for n := range u.Known {
		known[l.hoodOf(n)] = true
	}
	seen := map[string]bool{}
	for n := range u.Recent {
		h := l.hoodOf(n)
		if known[h] {
			continue
		}
		nets++
		if !seen[h] {
			seen[h] = true
			hoods = append(hoods, h)
		}
	}
	sort.Strings(hoods)
	return hoods, nets
}

func (l *loginNetworks) check(user string, u *UserNetworks, now time.Time) {
	window := l.cfg.NewNetworksWindow
	for n, first := range u.Recent {
		if now.Sub(first) < window {
			continue
		}
		// In use for a whole window: learned unless an alert was open
		// meanwhile.
		if !u.Alarm.Firing && !u.Quiet.After(first) {
			if u.Known == nil {
				u.Known = map[string]int64{}
			}
			if len(u.Known) < maxKnownNets {
				u.Known[n] = now.Unix() / 86400
			}
		}
		delete(u.Recent, n)
	}
	for n, d := range u.Known {
		if d < now.Unix()/86400-int64(l.days) {
			delete(u.Known, n)
		}
	}
	hoods, nets := l.newHoods(u)
	if len(hoods) >= 2 && l.newNet != nil {
		l.newNet(user, now)
	}
	wasFiring := u.Alarm.Firing
	switch u.Alarm.step(now, len(hoods) >= l.cfg.NewNetworks, vigie.SeverityCritical, repeatEvery) {
	case stepEmit:
		sample := hoods
		if len(sample) > 20 {
			sample = sample[:20]
		}
		l.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleSASLManyIPs), Subject: user, Group: accountGroup(user), Severity: u.Alarm.Sev,
			Time: now, Summary: fmt.Sprintf("SASL user %s logged in from %d networks new to it, in %d places, within %s", user, nets, len(hoods), window),
			Evidence: map[string]string{"new_networks": strconv.Itoa(nets), "places": strconv.Itoa(len(hoods)), "known_networks": strconv.Itoa(len(u.Known)),
				"window": window.String(), "sample": strings.Join(sample, " ")},
			ResolveAfter: stale})
	case stepResolve:
		u.Quiet = now
		l.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleSASLManyIPs), Subject: user, Group: accountGroup(user), Time: now, Resolved: true,
			Summary: fmt.Sprintf("SASL user %s is back to networks it knows", user)})
	}
	_ = wasFiring
}

func (l *loginNetworks) tick(now time.Time) {
	for user, u := range l.users {
		l.check(user, u, now)
		if len(u.Recent) == 0 && len(u.Known) == 0 && !u.Alarm.Firing {
			delete(l.users, user)
		}
	}
}
