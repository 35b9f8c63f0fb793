// Package subject names who sent a message: the subjects the mail watch
// counts outbound mail to, raises findings about, and the policy server
// and containment act on. It is a leaf (standard library only) so that
// mail, policy, alert, incident and the dashboard all read and write the
// same string form without import cycles.
//
// String forms (stable: they are alert subjects, group keys and policy
// keys stored in the database):
//
//	alice@example.org        a SASL user (bare, as vigie always wrote it)
//	sasl:uid:3               a SASL user whose bare name would read as
//	                         another kind (or starts with "sasl:"), escaped
//	uid:33                   a local uid (sendmail/pickup); its site, when
//	                         known, is evidence, not part of the name
//	client:127.0.0.1         an unauthenticated SMTP client in mynetworks
//	client:::1               (loopback or a trusted network), by address
//	server                   the server as a whole (total outbound)
package subject

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Kind is what sort of sender a Subject is. Its string is the metric
// label and the prefix of the string form.
type Kind uint8

const (
	KindNone   Kind = iota // the zero Subject: mail from outside, not ours to count
	KindSASL               // an authenticated SMTP user (submission, webmail)
	KindUID                // a local Unix user injecting through sendmail/pickup
	KindClient             // an unauthenticated SMTP client relayed because it is trusted
	KindServer             // the whole server
)

// Kinds lists every kind a message can be counted to, for metrics.
var Kinds = [...]Kind{KindSASL, KindUID, KindClient, KindServer}

// Prefixes of the string form.
const (
	prefixSASL   = "sasl:"
	prefixUID    = "uid:"
	prefixClient = "client:"
	serverName   = "server"
)

func (k Kind) String() string {
	switch k {
	case KindSASL:
		return "sasl"
	case KindUID:
		return "uid"
	case KindClient:
		return "client"
	case KindServer:
		return "server"
	}
	return "none"
}

// Subject is one sender vigie counts mail to. The zero value is no
// subject. Compare Subjects with ==; Site is not part of the identity
// (the same uid is the same subject whether or not its site is known), so
// compare Key() when a Site may differ.
type Subject struct {
	Kind Kind
	User string     // KindSASL: the SASL login name
	UID  int        // KindUID
	Addr netip.Addr // KindClient
	// Site is the web root the uid owns, when the web inventory knows
	// exactly one (KindUID only). Shown as evidence; not in String.
	Site string
}

// SASL returns the subject of a SASL user.
func SASL(user string) Subject { return Subject{Kind: KindSASL, User: user} }

// UID returns the subject of a local uid.
func UID(uid int) Subject { return Subject{Kind: KindUID, UID: uid} }

// Client returns the subject of an unauthenticated trusted SMTP client.
// A zone and an IPv4-mapped IPv6 form are dropped so that one client has
// one name.
func Client(a netip.Addr) Subject { return Subject{Kind: KindClient, Addr: a.Unmap().WithZone("")} }

// Server returns the subject of the whole server.
func Server() Subject { return Subject{Kind: KindServer} }

// IsZero reports whether s is no subject.
func (s Subject) IsZero() bool { return s.Kind == KindNone }

// Key is s without its Site: the identity to compare and to use as a map key.
func (s Subject) Key() Subject { s.Site = ""; return s }

// Account reports whether s is an account the policy server can suspend
// and containment can act on by itself (a SASL user, a uid or a client
// address; not the whole server).
func (s Subject) Account() bool {
	return s.Kind == KindSASL || s.Kind == KindUID || s.Kind == KindClient
}

// String is the stable string form (see the package comment); "" for the
// zero Subject.
func (s Subject) String() string {
	switch s.Kind {
	case KindSASL:
		if needsEscape(s.User) {
			return prefixSASL + s.User
		}
		return s.User
	case KindUID:
		return prefixUID + strconv.Itoa(s.UID)
	case KindClient:
		return prefixClient + s.Addr.String()
	case KindServer:
		return serverName
	}
	return ""
}

// needsEscape: a bare user name that Parse would read as another kind.
func needsEscape(user string) bool {
	if user == "" || user == serverName || strings.HasPrefix(user, prefixSASL) {
		return true
	}
	if rest, ok := strings.CutPrefix(user, prefixUID); ok {
		_, err := parseUID(rest)
		return err == nil
	}
	if rest, ok := strings.CutPrefix(user, prefixClient); ok {
		_, err := netip.ParseAddr(rest)
		return err == nil
	}
	return false
}

func parseUID(s string) (int, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical uid")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("not a uid")
	}
	return n, nil
}

// ErrEmpty is Parse's error for the empty string.
var ErrEmpty = errors.New("subject: empty")

// Parse reads a subject's string form. A string that is no other kind is
// a SASL user name (that is how vigie wrote them before kinds existed),
// so Parse only fails on "".
func Parse(s string) (Subject, error) {
	switch {
	case s == "":
		return Subject{}, ErrEmpty
	case s == serverName:
		return Server(), nil
	case strings.HasPrefix(s, prefixSASL):
		return SASL(s[len(prefixSASL):]), nil
	case strings.HasPrefix(s, prefixUID):
		if n, err := parseUID(s[len(prefixUID):]); err == nil {
			return UID(n), nil
		}
	case strings.HasPrefix(s, prefixClient):
		if a, err := netip.ParseAddr(s[len(prefixClient):]); err == nil && a.Zone() == "" {
			return Client(a), nil
		}
	}
	return SASL(s), nil
}

// MustParse is Parse for constants in tests and defaults.
func MustParse(s string) Subject {
	x, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return x
}
