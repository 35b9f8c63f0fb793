package mail

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/mail/subject"
)

// Every outbound message has one sender subject: a SASL user (also from
// 127.0.0.1: a webmail), a uid, or a trusted unauthenticated client by
// its address; mail from outside has none.
func TestOriginSubjects(t *testing.T) {
	x := NewIndex()
	x.SetTrusted([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
	at := time.Date(2024, 9, 2, 10, 0, 0, 0, time.UTC)
	obs := func(e postfixlog.Entry) { e.Time = at; x.observe(&e) }
	obs(postfixlog.Entry{Kind: postfixlog.KindClient, QueueID: "A1", ClientIP: "127.0.0.1", SASLUser: "webmail-user"})
	obs(postfixlog.Entry{Kind: postfixlog.KindClient, QueueID: "A2", ClientIP: "127.0.0.1"})
	obs(postfixlog.Entry{Kind: postfixlog.KindClient, QueueID: "A3", ClientIP: "192.0.2.7"})
	obs(postfixlog.Entry{Kind: postfixlog.KindClient, QueueID: "A4", ClientIP: "203.0.113.9"})
	obs(postfixlog.Entry{Kind: postfixlog.KindPickup, QueueID: "A5", UID: 33})
	obs(postfixlog.Entry{Kind: postfixlog.KindClient, QueueID: "A6", ClientIP: "::1"})
	want := map[string]subject.Subject{
		"A1": subject.SASL("webmail-user"),
		"A2": subject.Client(netip.MustParseAddr("127.0.0.1")),
		"A3": subject.Client(netip.MustParseAddr("192.0.2.7")),
		"A4": {},
		"A5": subject.UID(33),
		"A6": subject.Client(netip.MustParseAddr("::1")),
	}
	for id, w := range want {
		o, ok := x.Lookup(id)
		if !ok || o.Subject() != w {
			t.Errorf("%s: subject %+v, want %+v", id, o.Subject(), w)
		}
		if !w.IsZero() {
			if got := x.QueueIDsOfSubject(w); len(got) != 1 || got[0] != id {
				t.Errorf("QueueIDsOfSubject(%s) = %v", w, got)
			}
		}
	}
}
