package mail

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// queueGrowth is the queue-growth rule: deferred mail piling up (the
// sign an admin saw on a queue graph in the stolen-password incident).
// It reads the deferred count from postqueue -j in the daemon, or as the
// log tells it on replay.
type queueGrowth struct {
	cfg     config.MailQueueGrowth
	samples []queuePoint
	alarm   alarm
	emit    func(vigie.Finding)
}

type queuePoint struct {
	t        time.Time
	deferred int
}

func (q *queueGrowth) sample(now time.Time, deferred, total int, source string) {
	q.samples = append(q.samples, queuePoint{now, deferred})
	i := 0
	for i < len(q.samples)-1 && now.Sub(q.samples[i].t) > q.cfg.Window {
		i++
	}
	q.samples = q.samples[i:]
	low := deferred
	for _, p := range q.samples {
		low = min(low, p.deferred)
	}
	growth := deferred - low
	over, rising := deferred >= q.cfg.Deferred, growth >= q.cfg.Growth
	sev := vigie.SeverityWarning
	if over && rising {
		sev = vigie.SeverityCritical
	}
	switch q.alarm.step(now, over || rising, sev, repeatEvery) {
	case stepEmit:
		q.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleQueueGrowth), Subject: "deferred", Severity: q.alarm.Sev, Time: now,
			Summary: fmt.Sprintf("%d deferred messages in the queue (%d total), up %d in %s", deferred, total, growth, q.cfg.Window),
			Evidence: map[string]string{"deferred": strconv.Itoa(deferred), "total": strconv.Itoa(total), "growth": strconv.Itoa(growth),
				"window": q.cfg.Window.String(), "source": source}, ResolveAfter: stale})
	case stepResolve:
		q.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleQueueGrowth), Subject: "deferred", Time: now, Resolved: true,
			Summary: fmt.Sprintf("the queue is back to %d deferred messages", deferred)})
	}
}

// storm is the delivery-storm rule: many bounced (or deferred) deliveries
// in a short time, and a large share of all deliveries.
type storm struct {
	cfg     config.MailStorm
	buckets map[int64]*stormBucket // by minute
	alarms  [2]alarm               // bounced, deferred
	emit    func(vigie.Finding)
}

type stormBucket struct{ total, bounced, deferred int }

func (s *storm) add(now time.Time, status string) {
	idx := now.Unix() / 60
	b := s.buckets[idx]
	if b == nil {
		b = &stormBucket{}
		s.buckets[idx] = b
	}
	b.total++
	switch status {
	case "bounced", "expired":
		b.bounced++
	case "deferred":
		b.deferred++
	default:
		return
	}
	s.check(now)
}

func (s *storm) check(now time.Time) {
	idx := now.Unix() / 60
	n := int64(s.cfg.Window / time.Minute)
	if n < 1 {
		n = 1
	}
	var sum stormBucket
	for k, b := range s.buckets {
		if k <= idx-n {
			delete(s.buckets, k)
			continue
		}
		sum.total += b.total
		sum.bounced += b.bounced
		sum.deferred += b.deferred
	}
	for i, what := range []string{"bounced", "deferred"} {
		count := sum.bounced
		if i == 1 {
			count = sum.deferred
		}
		ratio := 0.0
		if sum.total > 0 {
			ratio = float64(count) / float64(sum.total)
		}
		holds := count >= s.cfg.Failures && ratio >= s.cfg.Ratio
		sev := vigie.SeverityWarning
		if count >= 5*s.cfg.Failures {
			sev = vigie.SeverityCritical
		}
		switch s.alarms[i].step(now, holds, sev, repeatEvery) {
		case stepEmit:
			s.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleDeliveryStorm), Subject: what, Severity: s.alarms[i].Sev, Time: now,
				Summary:      fmt.Sprintf("%d of %d deliveries %s in the last %s (%.0f%%)", count, sum.total, what, s.cfg.Window, 100*ratio),
				Evidence:     map[string]string{what: strconv.Itoa(count), "deliveries": strconv.Itoa(sum.total), "window": s.cfg.Window.String()},
				ResolveAfter: stale})
		case stepResolve:
			s.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleDeliveryStorm), Subject: what, Time: now, Resolved: true,
				Summary: fmt.Sprintf("%s deliveries are back to normal: %d of %d in the last %s", what, count, sum.total, s.cfg.Window)})
		}
	}
}
