package mail

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// The remote-blocklist rule reads the replies of receiving servers that
// refuse our mail because our address is listed: Microsoft's S3150 and
// S3140 ("part of their network is on our block list") and "banned sending
// IP", Spamhaus and other DNSBLs ("blocked using zen.spamhaus.org"), Yahoo's
// TSS04/TSS09. Its findings carry vigie.BlocklistKey(target, provider), the
// key the blocklist watch uses for the same listing, so both feed one alert.

// Listing is what a refusal says.
type Listing struct {
	Target   string // our address named in the reply, else "server"
	Provider string // "microsoft", "yahoo", or the DNSBL zone ("zen.spamhaus.org")
	Code     string // S3150, S3140, 5.7.606, ...
}

// ParseListing reads a delivery reply (status=bounced or deferred) and
// says whether it is a blocklist refusal.
func ParseListing(reply string) (Listing, bool) {
	var l Listing
	low := strings.ToLower(reply)
	switch {
	case strings.Contains(reply, "(S3150)"), strings.Contains(reply, "(S3140)"):
		l.Provider = "microsoft"
		l.Code = reply[strings.Index(reply, "(S31")+1:][:5]
	case strings.Contains(low, "banned sending ip"):
		l.Provider = "microsoft"
		l.Code = "banned sending IP"
	case strings.Contains(low, "blocked using "):
		z := low[strings.Index(low, "blocked using ")+len("blocked using "):]
		if end := strings.IndexAny(z, " ;,()<>[]"); end >= 0 {
			z = z[:end]
		}
		z = strings.TrimRight(z, ".")
		if z == "" || len(z) > 100 {
			return l, false
		}
		l.Provider, l.Code = z, "blocked using "+z
	case strings.Contains(reply, " TSS04 "), strings.Contains(reply, " TSS09 "):
		l.Provider = "yahoo"
		l.Code = reply[strings.Index(reply, " TSS0")+1:][:5]
	case strings.Contains(reply, "[TSS04]"), strings.Contains(reply, "[TSS09]"):
		l.Provider = "yahoo"
		l.Code = reply[strings.Index(reply, "[TSS0")+1:][:5]
		if i := strings.Index(reply, "Messages from "); i >= 0 {
			ip := reply[i+len("Messages from "):]
			if sp := strings.IndexByte(ip, ' '); sp > 0 {
				ip = ip[:sp]
			}
			if a, err := netip.ParseAddr(ip); err == nil {
				l.Target = a.String()
				return l, true
			}
		}
	default:
		return l, false
	}
	l.Target = listedAddress(reply)
	return l, true
}

// listedAddress finds the address the reply names as listed: the first
// [IP] after the relay's own "host name[IP] said:" prefix.
func listedAddress(reply string) string {
	s := reply
	if i := strings.Index(s, " said: "); i >= 0 {
		s = s[i+len(" said: "):]
	}
	for {
		lb := strings.IndexByte(s, '[')
		if lb < 0 {
			return "server"
		}
		s = s[lb+1:]
		rb := strings.IndexByte(s, ']')
		if rb < 0 {
			return "server"
		}
		if ip, err := netip.ParseAddr(s[:rb]); err == nil {
			return ip.String()
		}
		s = s[rb+1:]
	}
}

type blocklistState struct {
	count    int
	lastEmit time.Time
}

type remoteBlocklist struct {
	cfg       config.MailBlocklist
	keys      map[string]*blocklistState
	emit      func(vigie.Finding)
	delisting DelistingFunc
	ours      func(netip.Addr) bool
	notOurs   func()
}

// A DelistingFunc looks up the list a remote refusal names (a provider
// such as "microsoft", or a zone) for target: listName is the list part of
// the blocklist watch's alert key for it (so both watches feed one alert),
// evidence says how to get delisted. ok is false for an unknown list.
type DelistingFunc func(provider, target string) (listName string, evidence map[string]string, ok bool)

func (b *remoteBlocklist) add(now time.Time, reply, relay, recipient, dsn string) {
	l, ok := ParseListing(reply)
	if !ok {
		return
	}
	// About us only: a reply naming an address names the one listed; if
	// it is not one of ours (a relayed message's origin quoted back, a
	// forwarder's), the listing is someone else's. A reply naming none is
	// about the server that just delivered: us.
	if a, err := netip.ParseAddr(l.Target); err == nil && b.ours != nil && !b.ours(a.Unmap()) {
		if b.notOurs != nil {
			b.notOurs()
		}
		return
	}
	list := l.Provider
	var delist map[string]string
	if b.delisting != nil {
		if name, ev, ok := b.delisting(l.Provider, l.Target); ok {
			list, delist = name, ev
		}
	}
	key := vigie.BlocklistKey(l.Target, list)
	st := b.keys[key]
	if st == nil {
		st = &blocklistState{}
		b.keys[key] = st
	}
	st.count++
	if !st.lastEmit.IsZero() && now.Sub(st.lastEmit) < b.cfg.Repeat {
		return
	}
	st.lastEmit = now
	rdomain := ""
	if at := strings.LastIndexByte(recipient, '@'); at >= 0 {
		rdomain = recipient[at+1:]
	}
	receiver := relay
	if lb := strings.IndexByte(receiver, '['); lb > 0 {
		receiver = receiver[:lb]
	}
	if len(reply) > 500 {
		reply = reply[:500]
	}
	ev := map[string]string{}
	for k, v := range delist {
		ev[k] = v
	}
	for k, v := range map[string]string{"provider": l.Provider, "code": l.Code, "receiver": receiver, "recipient_domain": rdomain,
		"dsn": dsn, "reply": reply, string(blocklist.EvidenceRefusals): strconv.Itoa(st.count)} {
		ev[k] = v
	}
	b.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleRemoteBlocklist), Subject: l.Target, Key: key, Severity: vigie.SeverityCritical, Time: now,
		Summary:  fmt.Sprintf("%s refuses our mail: %s is listed by %s (%s); %d refusals so far", receiver, l.Target, l.Provider, l.Code, st.count),
		Evidence: ev, ResolveAfter: b.cfg.ResolveAfter})
}

func (b *remoteBlocklist) tick(now time.Time) {
	for k, st := range b.keys {
		if now.Sub(st.lastEmit) > b.cfg.ResolveAfter {
			delete(b.keys, k)
		}
	}
}
