package mail

import (
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
)

// The mail log is silent: blind only when Postfix's queue changed since
// the last line (mail flowed and was not logged where vigie reads); a
// quiet night with an unchanged queue is not blindness.
func TestSilentLogIsBlindOnlyWhenThePostfixQueueMoved(t *testing.T) {
	t0 := time.Date(2024, 9, 29, 2, 0, 0, 0, time.UTC)
	w := &Watch{o: Options{Config: config.Mail{LogFile: "/var/log/mail.log", SilentAfter: 10 * time.Minute}}, source: "file"}
	w.sight.start(t0)
	w.sight.line(t0.Add(time.Minute))
	queue := func(ids ...string) QueueSnapshot {
		var s QueueSnapshot
		for _, id := range ids {
			s.Items = append(s.Items, QueueItem{QueueID: id, Queue: "deferred"})
		}
		return s
	}
	// An idle night: the same two deferred messages in every snapshot.
	for m := 2; m < 60; m++ {
		w.sight.queue(queue("4F2A1C03B1", "7D1E2A0C44"), t0.Add(time.Duration(m)*time.Minute))
	}
	if r := w.Health(t0.Add(time.Hour)); len(r.Blind) != 0 || r.Lag != "59m0s" {
		t.Fatalf("an idle server is blind: %+v", r)
	}
	// Postfix takes a new message: it logged it, vigie did not see it.
	w.sight.queue(queue("4F2A1C03B1", "7D1E2A0C44", "9A3B5C7D21"), t0.Add(61*time.Minute))
	r := w.Health(t0.Add(62 * time.Minute))
	if len(r.Blind) != 1 || r.Blind[0].Cause != CauseLogStalled || r.Blind[0].Subject != "/var/log/mail.log" {
		t.Fatalf("the queue moved under a silent log, not blind: %+v", r)
	}
	// A line arrives: seeing again.
	w.sight.line(t0.Add(63 * time.Minute))
	if r := w.Health(t0.Add(64 * time.Minute)); len(r.Blind) != 0 {
		t.Fatalf("blind after a new line: %+v", r)
	}
	// Under the threshold, a moved queue is not yet blindness.
	w.sight.queue(queue("9A3B5C7D21"), t0.Add(65*time.Minute))
	if r := w.Health(t0.Add(70 * time.Minute)); len(r.Blind) != 0 {
		t.Fatalf("blind 7 minutes after the last line (threshold 10m): %+v", r)
	}
}
