package mail

import (
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Series names of the time series the mail watch stores.
const (
	SeriesQueue             watch.SeriesName = "mail.queue"              // subject: queue name, or "total"; value: messages
	SeriesQueueOldest       watch.SeriesName = "mail.queue.oldest"       // seconds since the oldest queued message arrived
	SeriesAccountMessages   watch.SeriesName = "mail.account.messages"   // subject: account; messages queued in the minute
	SeriesAccountRecipients watch.SeriesName = "mail.account.recipients" // subject: account; recipients in the minute
	// subject: account; while its account-volume alert fires, the
	// messages it sent after the finding that detected it (running total).
	SeriesAccountAfterDetection watch.SeriesName = "mail.account.after_detection"
)

// EngineOptions configure an Engine.
type EngineOptions struct {
	Config config.Mail
	// Emit receives every finding, in log order, with the log's time.
	Emit func(vigie.Finding)
	// Samples receives time series points (nil: none are made).
	Samples func([]vigie.Sample)
	// Metrics, when set, receives the vigie_mail_* series.
	Metrics *metrics.Factory
	// Index is shared with the policy server; nil: a new one.
	Index *Index
	// LogQueue makes the queue-growth rule read the queue as the log
	// tells it (replay; or when postqueue cannot be run).
	LogQueue bool
	// Delisting names the blocklist a remote refusal is about, as the
	// blocklist watch names it, and how to get off it (nil: the provider
	// as the reply says it, no steps). See DelistingFunc.
	Delisting DelistingFunc
	// Reference and Location date classic syslog stamps (see postfixlog.Options).
	Reference time.Time
	Location  *time.Location
	// Ours says whether an address is one of our sending addresses (the
	// blocklist watch's targets): a remote refusal naming another address
	// is not about us. Nil: every address counts (replay without
	// blocklist.ips).
	Ours func(netip.Addr) bool
}

// Engine is the mail watch's detectors behind the parser. It is driven by
// log lines (Line, or Entry for the journal), queue snapshots (Queue) and
// the passing of time (Tick); its clock is the newest time it was given,
// so on replay the log's own timestamps drive every window. It is not safe
// for concurrent use (its Index is).
type Engine struct {
	o       EngineOptions
	parser  *postfixlog.Parser
	entry   postfixlog.Entry
	index   *Index
	now     time.Time
	minute  int64
	hour    int64
	sampled int64 // the last minute whose account samples were made
	quiet   bool  // learning from history: no findings, no samples
	// legitSeq is the last legitimate mark applied (see LegitimateMark).
	legitSeq int64

	volume *volume
	byIP   *failures
	byUser *failures
	byNet  *failures
	nets   *loginNetworks
	// authWarned counts, per client address, SASL failure lines not yet
	// matched by a disconnect line's auth=S/T (which counts them again).
	authWarned map[string]int
	queue      *queueGrowth
	storm      *storm
	blocklist  *remoteBlocklist

	m engineMetrics
}

type engineMetrics struct {
	lines      [len(postfixlogKinds)]prometheus.Counter
	messages   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	queue      *prometheus.GaugeVec
	oldest     prometheus.Gauge
	logTime    prometheus.Gauge
	tracked    prometheus.Gauge
	bySubject  [len(subject.Kinds) + 1]prometheus.Counter // outbound messages by subject kind; last: inbound (no subject)
	notOurs    prometheus.Counter
	authFaults prometheus.Counter
}

var postfixlogKinds = [...]postfixlog.Kind{postfixlog.KindNotPostfix, postfixlog.KindUnknown, postfixlog.KindOther,
	postfixlog.KindClient, postfixlog.KindPickup, postfixlog.KindMessageID, postfixlog.KindQueued, postfixlog.KindRemoved,
	postfixlog.KindExpired, postfixlog.KindDelivery, postfixlog.KindReject, postfixlog.KindSASLFail, postfixlog.KindBounce,
	postfixlog.KindPostscreen, postfixlog.KindDNSBL, postfixlog.KindDisconnect, postfixlog.KindHold}

// NewEngine returns an engine with empty state.
func NewEngine(o EngineOptions) *Engine {
	if o.Emit == nil {
		o.Emit = func(vigie.Finding) {}
	}
	if o.Index == nil {
		o.Index = NewIndex()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	cfg := o.Config
	e := &Engine{o: o, parser: postfixlog.NewParser(postfixlog.Options{Reference: o.Reference, Location: o.Location}), index: o.Index}
	if nets := cfg.MyNetworkPrefixes(); len(nets) > 0 {
		e.index.SetTrusted(nets)
	}
	emit := func(f vigie.Finding) {
		if !e.quiet {
			o.Emit(f)
		}
	}
	e.volume = newVolume(cfg.Volume, emit)
	e.byIP, e.byUser, e.byNet, e.nets = newSASL(cfg.SASL, emit)
	e.nets.days = cfg.Volume.HabitDays
	e.nets.newNet = e.volume.loginFromNewNetwork
	e.authWarned = map[string]int{}
	e.queue = &queueGrowth{cfg: cfg.QueueGrowth, emit: emit}
	e.storm = &storm{cfg: cfg.Storm, buckets: map[int64]*stormBucket{}, emit: emit}
	e.blocklist = &remoteBlocklist{cfg: cfg.Blocklist, keys: map[string]*blocklistState{}, emit: emit, delisting: o.Delisting, ours: o.Ours}

	f := o.Metrics
	lines := f.CounterVec(prometheus.CounterOpts{Name: "vigie_mail_lines_total",
		Help: "Log lines read, by kind (not_postfix and unknown are lines the parser did not use)."}, "kind")
	for i, k := range postfixlogKinds {
		e.m.lines[i] = lines.WithLabelValues(k.String())
	}
	e.m.messages = f.CounterVec(prometheus.CounterOpts{Name: "vigie_mail_messages_total",
		Help: "Messages queued, by origin (sasl: authenticated submission, local: sendmail/pickup, smtp: other)."}, "origin")
	e.m.deliveries = f.CounterVec(prometheus.CounterOpts{Name: "vigie_mail_deliveries_total",
		Help: "Delivery attempts, by status (sent, deferred, bounced, expired, other)."}, "status")
	e.m.queue = f.GaugeVec(prometheus.GaugeOpts{Name: "vigie_mail_queue_messages",
		Help: "Messages in the Postfix queue, by queue, as of the last postqueue -j (or as the log tells)."}, "queue")
	e.m.oldest = f.Gauge(prometheus.GaugeOpts{Name: "vigie_mail_queue_oldest_seconds", Help: "Age of the oldest queued message."})
	e.m.logTime = f.Gauge(prometheus.GaugeOpts{Name: "vigie_mail_log_time_seconds",
		Help: "Time of the newest log line read (Unix seconds): compare with now to see the watch's lag."})
	e.m.tracked = f.Gauge(prometheus.GaugeOpts{Name: "vigie_mail_tracked_messages", Help: "Queue ids the watch keeps track of."})
	bySubject := f.CounterVec(prometheus.CounterOpts{Name: "vigie_mail_messages_by_subject_total",
		Help: "Messages queued, by the kind of subject they were counted to (sasl, uid, client: outbound, each also counted to server; none: inbound)."}, "kind")
	for i, k := range subject.Kinds {
		e.m.bySubject[i] = bySubject.WithLabelValues(k.String())
	}
	e.m.bySubject[len(subject.Kinds)] = bySubject.WithLabelValues(subject.KindNone.String())
	e.m.notOurs = f.Counter(prometheus.CounterOpts{Name: "vigie_mail_remote_refusals_not_ours_total",
		Help: "Remote blocklist refusals ignored because the address they name is not one of ours."})
	e.blocklist.notOurs = e.m.notOurs.Inc
	e.m.authFaults = f.Counter(prometheus.CounterOpts{Name: "vigie_mail_sasl_backend_failures_total",
		Help: "SASL failures caused by the authentication back end (Dovecot or saslauthd unreachable), not counted as brute force."})
	return e
}

// Index is the queue-id index this engine keeps up to date.
func (e *Engine) Index() *Index { return e.index }

// Now is the engine's clock: the newest time it saw.
func (e *Engine) Now() time.Time { return e.now }

// Line reads one log line (without its newline). ok is false when it is
// not a Postfix line (another program's, or garbage): it is counted and
// otherwise ignored. at is the line's time when it had a readable stamp.
func (e *Engine) Line(line string) (at time.Time, ok bool) {
	e.parser.Parse(line, &e.entry)
	e.Entry(&e.entry)
	return e.entry.Time, e.entry.Kind != postfixlog.KindNotPostfix
}

// Entry runs one parsed entry through the detectors.
func (e *Engine) Entry(en *postfixlog.Entry) {
	if int(en.Kind) < len(e.m.lines) {
		e.m.lines[en.Kind].Inc()
	}
	if en.Kind == postfixlog.KindNotPostfix {
		return
	}
	if y := en.Time.Year(); y > 1970 && y < 2200 {
		e.advance(en.Time)
	} // else: no time, or one that cannot be a log line's; the clock stays
	if e.now.IsZero() {
		return // no clock yet: nothing can be counted in a window
	}
	now := e.now
	switch en.Kind {
	case postfixlog.KindClient:
		e.index.observe(en)
		if en.SASLUser != "" {
			e.nets.add(en.SASLUser, en.ClientIP, now)
		}
	case postfixlog.KindPickup, postfixlog.KindRemoved, postfixlog.KindReject:
		e.index.observe(en)
	case postfixlog.KindQueued, postfixlog.KindHold:
		// A held message is counted when it is held: that is when its
		// subject submitted it. qmgr's from= for it comes only when an
		// admin releases it, maybe hours later, and must not count again
		// (a release of 40 held messages is not a burst of the subject).
		m := e.index.observe(en)
		if m == nil || m.counted {
			return
		}
		m.counted = true
		e.countSubmitted(m, max(en.Nrcpt, 1), now)
	case postfixlog.KindExpired:
		e.storm.add(now, "expired")
		e.m.deliveries.WithLabelValues("expired").Inc()
	case postfixlog.KindDelivery:
		m := e.index.observe(en)
		status := en.Status
		switch status {
		case "sent", "deferred", "bounced", "expired":
		default:
			status = "other"
		}
		e.m.deliveries.WithLabelValues(status).Inc()
		e.storm.add(now, status)
		if m != nil {
			if acct := m.Account(); acct != "" {
				if at := strings.LastIndexByte(en.Recipient, '@'); at >= 0 {
					e.volume.domain(acct, en.Recipient[at+1:], now)
				}
				var bad VolCounts
				if status == "bounced" && strings.HasPrefix(en.DSN, "5.1.") {
					bad.Bounces = 1 // unknown user or domain: a harvested list
				}
				if (status == "bounced" || status == "deferred") && isReputationRefusal(en.Reply) {
					bad.Refused = 1
				}
				if bad != (VolCounts{}) {
					e.volume.bad(acct, now, bad)
					e.volume.bad(serverName, now, bad)
				}
			}
		}
		if status == "bounced" || status == "deferred" {
			e.blocklist.add(now, en.Reply, en.Relay, en.Recipient, en.DSN)
		}
	case postfixlog.KindSASLFail:
		if en.AuthServerFault() {
			e.m.authFaults.Inc()
			return
		}
		ev := map[string]string{"method": en.SASLMethod}
		e.byIP.add(en.ClientIP, now, ev)
		if network, _, ok := e.nets.networkOf(en.ClientIP); ok {
			e.byNet.add(network, now, map[string]string{"last_address": en.ClientIP})
			if len(e.authWarned) < 100000 {
				e.authWarned[strings.Clone(en.ClientIP)]++
			}
		}
		// Per user name, only for names of real accounts (seen logged
		// in): a dictionary attack on "admin" or "test" is noise the
		// per-address and per-network rules already weigh.
		if en.SASLUser != "" && e.knownUser(en.SASLUser) {
			e.byUser.add(en.SASLUser, now, map[string]string{"last_address": en.ClientIP})
		}
	case postfixlog.KindDisconnect:
		// auth=S/T: T-S failed AUTH commands. Those the failure lines
		// already told are not counted twice; the rest (a client that
		// gave up mid-AUTH, a failure line lost) count per network.
		n := en.AuthFailed
		if w := e.authWarned[en.ClientIP]; w > 0 {
			d := min(w, n)
			n -= d
			if w-d > 0 && en.AuthFailed > 0 {
				e.authWarned[en.ClientIP] = w - d
			} else {
				delete(e.authWarned, en.ClientIP)
			}
		}
		if network, _, ok := e.nets.networkOf(en.ClientIP); ok && n > 0 {
			for range min(n, 20) {
				e.byNet.add(network, now, map[string]string{"last_address": en.ClientIP})
			}
		}
	}
}

// countSubmitted counts one message its subject put in the queue.
func (e *Engine) countSubmitted(m *message, nrcpt int, now time.Time) {
	sub := m.Subject()
	switch {
	case m.SASLUser != "":
		e.m.messages.WithLabelValues("sasl").Inc()
	case m.UID >= 0:
		e.m.messages.WithLabelValues("local").Inc()
	default:
		e.m.messages.WithLabelValues("smtp").Inc()
	}
	if sub.IsZero() {
		e.m.bySubject[len(subject.Kinds)].Inc()
		return // inbound: not ours to count
	}
	for i, k := range subject.Kinds {
		if k == sub.Kind || k == subject.KindServer {
			e.m.bySubject[i].Inc()
		}
	}
	name := sub.String()
	e.volume.add(name, now, nrcpt, m.Sender)
	// The server counts what no alert already names: mail of a
	// subject whose alert is open is that alert's, and must neither
	// alert twice nor become the server's habit.
	if !e.volume.firing(name) {
		e.volume.add(serverName, now, nrcpt, "")
	}
}

// knownUser reports whether a SASL user name has logged in (or sent)
// within the habit memory.
func (e *Engine) knownUser(name string) bool {
	if _, ok := e.nets.users[name]; ok {
		return true
	}
	_, ok := e.volume.subjects[name]
	return ok
}

// isReputationRefusal: a receiving server refuses or defers our mail for
// our reputation (blocklisted, user complaints, volume).
func isReputationRefusal(reply string) bool {
	if _, ok := ParseListing(reply); ok {
		return true
	}
	return strings.Contains(reply, "[TSS") || strings.Contains(reply, " TSS0") || strings.Contains(reply, "S3150") ||
		strings.Contains(reply, "4.7.28") || strings.Contains(reply, "5.7.28") || strings.Contains(reply, "unusual rate of unsolicited mail")
}

// advance moves the clock forward (never back: lines of different
// processes come slightly out of order) and runs the minute's periodic
// work when a minute boundary is crossed.
func (e *Engine) advance(t time.Time) {
	if !t.After(e.now) {
		return
	}
	first := e.now.IsZero()
	e.now = t
	e.m.logTime.Set(float64(t.Unix()))
	if mi := t.Unix() / 60; mi != e.minute {
		e.minute = mi
		if !first {
			e.periodic()
		}
	}
}

// Tick advances the clock to now without a line, so that alerts resolve
// and windows slide while the log is quiet. The daemon calls it with the
// wall clock only when it has read every line written so far: while it
// reads a backlog (start, restart, lag), each line's own time is the
// clock, as in replay.
func (e *Engine) Tick(now time.Time) {
	if y := now.Year(); y > 1970 && y < 2200 {
		e.advance(now)
	}
}

func (e *Engine) periodic() {
	now := e.now
	e.volume.tick(now)
	e.byIP.tick(now)
	e.byUser.tick(now)
	e.byNet.tick(now)
	e.nets.tick(now)
	e.storm.check(now)
	e.blocklist.tick(now)
	var samples []vigie.Sample
	if e.o.Samples != nil {
		samples = e.volume.samples(e.sampled, now)
		e.sampled = now.Unix()/60 - 1
	}
	if e.o.LogQueue {
		total, deferred := e.index.counts()
		e.queue.sample(now, deferred, total, "log")
		e.m.queue.WithLabelValues("total").Set(float64(total))
		e.m.queue.WithLabelValues("deferred").Set(float64(deferred))
		if e.o.Samples != nil {
			samples = append(samples, vigie.Sample{Series: string(SeriesQueue), Subject: "total", Time: now, Value: float64(total)},
				vigie.Sample{Series: string(SeriesQueue), Subject: "deferred", Time: now, Value: float64(deferred)})
		}
	}
	if h := now.Unix() / 3600; h != e.hour {
		e.hour = h
		e.index.prune(now)
		clear(e.authWarned) // a connection lasts minutes, not hours
	}
	e.m.tracked.Set(float64(e.index.Len()))
	if len(samples) > 0 && !e.quiet {
		e.o.Samples(samples)
	}
}

// Queue runs a postqueue -j snapshot through the queue-growth rule and
// the index, and records the queue's depth.
//
// The snapshot's (wall-clock) time does not move the engine's clock: only
// log lines do, and Tick once the log is caught up.
func (e *Engine) Queue(s QueueSnapshot) {
	e.index.syncQueue(s.Items, s.Time)
	for _, q := range []string{"incoming", "active", "deferred", "hold", "maildrop"} {
		e.m.queue.WithLabelValues(q).Set(float64(s.Depth[q]))
	}
	e.m.queue.WithLabelValues("total").Set(float64(s.Total))
	e.m.oldest.Set(s.OldestAge.Seconds())
	e.queue.sample(s.Time, s.Depth["deferred"], s.Total, "postqueue")
	if e.o.Samples != nil {
		out := []vigie.Sample{{Series: string(SeriesQueue), Subject: "total", Time: s.Time, Value: float64(s.Total)},
			{Series: string(SeriesQueueOldest), Time: s.Time, Value: s.OldestAge.Seconds()}}
		for _, q := range []string{"incoming", "active", "deferred", "hold"} {
			out = append(out, vigie.Sample{Series: string(SeriesQueue), Subject: q, Time: s.Time, Value: float64(s.Depth[q])})
		}
		e.o.Samples(out)
	}
}

// SetQuiet turns findings and samples off (true) or on: the watch reads
// the log's history quietly on its first start, to learn habits.
func (e *Engine) SetQuiet(q bool) { e.quiet = q; e.volume.learnAll = q }

// MarkLegitimate learns the alert periods of subject (its string form)
// that overlap [from, to]: an admin said the mail was the subject's own
// (vigie incident resolve N --legitimate). It returns how many periods it
// learned.
func (e *Engine) MarkLegitimate(subj string, from, to time.Time) int {
	return e.volume.markLegitimate(subj, from, to, e.now)
}

// Habits returns the accounts' learned habits, to save.
func (e *Engine) Habits() Habits { return e.volume.habits() }

// RestoreHabits loads habits saved by a previous run.
func (e *Engine) RestoreHabits(h Habits) { e.volume.restore(h) }

// Name makes the engine a replay.Set.
func (e *Engine) Name() string { return WatchName }
