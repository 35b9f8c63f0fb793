package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Options build the mail watch.
type Options struct {
	Config  config.Mail
	Store   store.Store
	Sink    watch.Sink
	Logger  *slog.Logger
	Metrics *metrics.Factory
	Now     func() time.Time
	// Index is the queue-id index to keep up to date; share it with the
	// policy server. Nil: the watch makes its own (see Watch.Index).
	Index *Index
	// FromStart reads a log file with no saved cursor from its start
	// (tests); the daemon starts at its end.
	FromStart bool
	// Delisting: see EngineOptions.Delisting.
	Delisting DelistingFunc
	// Ours: see EngineOptions.Ours.
	Ours func(netip.Addr) bool
	// TickEvery is how often the time-driven rules run (10s).
	TickEvery time.Duration
}

// Watch is the mail watch (app.Watch): it follows the log, reads the
// queue, and runs the Engine.
type Watch struct {
	o      Options
	log    *slog.Logger
	source string // "file" or "journal"
	queue  bool
	index  *Index

	sight sight // what it knows of its own input (health.go)

	skipped   prometheus.Counter
	rotations *prometheus.CounterVec
	queueErrs prometheus.Counter
}

// State keys in the store.
const (
	stateCursor  = "cursor"
	stateJournal = "journal_cursor"
	stateHabits  = "habits"
	// stateEngine is the detectors' state with the file cursor it was
	// taken at (see engineState).
	stateEngine = "engine"
)

// savedEngine is the value of stateEngine.
type savedEngine struct {
	Cursor *Cursor         `json:"cursor,omitempty"` // file source
	State  json.RawMessage `json:"state"`
}

// snapshotEvery: the detectors' state is saved at most this often (and
// at stop); after a crash the lines since are read again into it.
const snapshotEvery = 30 * time.Second

// New returns the mail watch, or nil when it is off: switched off, or auto
// with neither the log file nor Postfix lines in the journal.
func New(ctx context.Context, o Options) (*Watch, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Index == nil {
		o.Index = NewIndex()
	}
	if o.TickEvery <= 0 {
		o.TickEvery = 10 * time.Second
	}
	source := cfg.Source
	fileThere := false
	if _, err := os.Stat(cfg.LogFile); err == nil && cfg.LogFile != "" {
		fileThere = true
	}
	if source == "auto" {
		switch {
		case fileThere:
			source = "file"
		case cfg.Enabled != config.SwitchOff && JournalHasPostfix(ctx, cfg.Journalctl):
			source = "journal"
		default:
			source = ""
		}
	}
	present := source != ""
	switch {
	case cfg.Source == "file":
		present = fileThere
	case cfg.Source == "journal":
		present = cfg.Enabled == config.SwitchOn || JournalHasPostfix(ctx, cfg.Journalctl)
	}
	if !cfg.Enabled.On(present) {
		return nil, nil
	}
	if source == "" {
		return nil, fmt.Errorf("mail: enabled but %s does not exist and the journal has no Postfix lines; set mail.log_file or mail.source", cfg.LogFile)
	}
	queue := false
	if _, err := exec.LookPath(cfg.Queue.Postqueue); err == nil {
		queue = cfg.Queue.Enabled.On(true)
	} else if cfg.Queue.Enabled == config.SwitchOn {
		return nil, fmt.Errorf("mail.queue: %s not found: install Postfix or set mail.queue.postqueue", cfg.Queue.Postqueue)
	}
	m := o.Metrics
	if m == nil {
		m = metrics.New(prometheus.NewRegistry())
		o.Metrics = m
	}
	return &Watch{o: o, log: o.Logger, source: source, queue: queue, index: o.Index,
		skipped: m.Counter(prometheus.CounterOpts{Name: "vigie_mail_lines_skipped_total",
			Help: "Log lines skipped: longer than mail.max_line, or a journal entry that could not be decoded."}),
		rotations: m.CounterVec(prometheus.CounterOpts{Name: "vigie_mail_log_rotations_total",
			Help: "Log rotations followed, by kind (rename, truncate, restart)."}, "kind"),
		queueErrs: m.Counter(prometheus.CounterOpts{Name: "vigie_mail_queue_errors_total",
			Help: "postqueue -j runs that failed."}),
	}, nil
}

// Name is the watch's name.
func (w *Watch) Name() string { return WatchName }

// Index is the queue-id index the watch keeps: which queued messages
// belong to a SASL user, a sender or a uid.
func (w *Watch) Index() *Index { return w.index }

// Source says what the watch reads: "file" or "journal".
func (w *Watch) Source() string { return w.source }

// Run follows the log and the queue until ctx is done.
func (w *Watch) Run(ctx context.Context) error {
	cfg := w.o.Config
	w.sight.start(w.o.Now())
	st := w.o.Store
	var mu sync.Mutex // the engine is fed by the follower, the queue reader and the ticker
	eng := NewEngine(EngineOptions{
		Config: cfg,
		Emit: func(f vigie.Finding) {
			if err := w.o.Sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
				w.log.Error("emitting a finding", "rule", f.Rule, "err", err)
			}
		},
		Samples: func(s []vigie.Sample) {
			if err := st.AddSamples(ctx, s); err != nil && ctx.Err() == nil {
				w.log.Error("storing samples", "err", err)
			}
		},
		Metrics: w.o.Metrics, Index: w.index, LogQueue: !w.queue, Reference: w.o.Now(), Location: time.Local,
		Delisting: w.o.Delisting, Ours: w.o.Ours,
	})
	if b, err := st.GetState(ctx, WatchName, stateHabits); err == nil {
		var h Habits
		if err := json.Unmarshal(b, &h); err != nil {
			w.log.Warn("ignoring unreadable saved habits", "err", err)
		} else {
			eng.RestoreHabits(h)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The detectors' state and the cursor it was taken at: resuming from
	// that cursor reads the lines after it into exactly that state.
	var resumeAt *Cursor
	if b, err := st.GetState(ctx, WatchName, stateEngine); err == nil {
		var se savedEngine
		if err := json.Unmarshal(b, &se); err != nil {
			w.log.Warn("ignoring an unreadable saved mail state", "err", err)
		} else if err := eng.Restore(se.State); err != nil {
			w.log.Warn("ignoring an unreadable saved mail state", "err", err)
		} else {
			resumeAt = se.Cursor
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var lastSnap time.Time
	saveEngine := func(c *Cursor) {
		mu.Lock()
		b, err := eng.Snapshot()
		mu.Unlock()
		if err == nil {
			b, err = json.Marshal(savedEngine{Cursor: c, State: b})
		}
		if err == nil {
			err = st.PutState(context.WithoutCancel(ctx), WatchName, stateEngine, b)
		}
		if err != nil {
			w.log.Error("saving the mail detectors' state", "err", err)
		}
		lastSnap = time.Now()
	}
	saveHabits := func() {
		mu.Lock()
		b, err := json.Marshal(eng.Habits())
		mu.Unlock()
		if err == nil {
			err = st.PutState(context.WithoutCancel(ctx), WatchName, stateHabits, b)
		}
		if err != nil {
			w.log.Error("saving habits", "err", err)
		}
	}

	if w.source == "file" && !w.o.FromStart {
		learned, err := w.learnHistory(ctx, eng)
		if err != nil {
			return err
		}
		saveHabits()
		if learned != nil {
			saveEngine(learned)
			resumeAt = learned
		}
	}
	var caughtUp bool // under mu: every line written so far was read

	// The follower, the queue reader and the ticker belong to this watch:
	// a panic in any of them (a parser bug on a hostile line) stops the
	// three and returns as this watch's error, so the supervisor restarts
	// the mail watch alone; the policy server and the other watches go on.
	g, gctx := task.New(ctx)
	g.Go("mail follower", func() error {
		return w.follow(gctx, &mu, eng, &caughtUp, resumeAt, func(c Cursor, final bool) {
			if final || time.Since(lastSnap) >= snapshotEvery {
				saveEngine(&c)
			}
		})
	})
	if w.queue {
		g.Go("mail queue reader", func() error { w.readQueue(gctx, &mu, eng); return nil })
	}
	g.Go("mail ticker", func() error { return w.tick(gctx, &mu, eng, &caughtUp, saveHabits) })
	w.log.Info("mail watch started", "source", w.source, "file", cfg.LogFile, "queue", w.queue)
	err := g.Wait()
	saveHabits()
	// A clean stop: the follower saved its cursor after the last line it
	// handed over, so the state now is the state at that cursor.
	if w.source == "file" {
		if b, err := st.GetState(context.WithoutCancel(ctx), WatchName, stateCursor); err == nil {
			var c Cursor
			if json.Unmarshal(b, &c) == nil {
				saveEngine(&c)
			}
		}
	} else {
		saveEngine(nil)
	}
	return err
}

// tick runs the engine's time-driven rules every TickEvery while the log
// is quiet, applies the alerts marked legitimate, and saves the habits
// every ten minutes.
func (w *Watch) tick(ctx context.Context, mu *sync.Mutex, eng *Engine, caughtUp *bool, saveHabits func()) error {
	st := w.o.Store
	tick := time.NewTicker(w.o.TickEvery)
	defer tick.Stop()
	last := w.o.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		mu.Lock()
		if *caughtUp {
			eng.Tick(w.o.Now()) // the log is quiet: the wall clock moves the windows
		}
		if seq, err := applyMarks(ctx, st, eng, eng.legitSeq); err != nil {
			w.log.Warn("reading the alerts marked legitimate", "err", err)
		} else {
			eng.legitSeq = seq
		}
		mu.Unlock()
		if w.o.Now().Sub(last) >= 10*time.Minute {
			saveHabits()
			last = w.o.Now()
		}
	}
}

// follow reads the log into the engine. caughtUp (under mu) is set when
// every line written so far was read, cleared by each new line. resumeAt,
// when set, is the cursor the engine's restored state was taken at (it
// wins over the newer saved cursor: the lines between are read again into
// that state). snap is called after each cursor save with that cursor.
func (w *Watch) follow(ctx context.Context, mu *sync.Mutex, eng *Engine, caughtUp *bool, resumeAt *Cursor, snap func(c Cursor, final bool)) error {
	cfg := w.o.Config
	st := w.o.Store
	if w.source == "journal" {
		jf := &JournalFollower{Journalctl: cfg.Journalctl, MaxLine: cfg.MaxLine, Logger: w.log, Skip: w.skipped.Inc,
			Load: func(ctx context.Context) (string, bool, error) {
				b, err := st.GetState(ctx, WatchName, stateJournal)
				if errors.Is(err, store.ErrNotFound) {
					return "", false, nil
				}
				return string(b), err == nil, err
			},
			Save: func(ctx context.Context, c string) error { return st.PutState(ctx, WatchName, stateJournal, []byte(c)) },
			Entry: func(e *postfixlog.Entry) {
				w.sight.line(w.o.Now())
				mu.Lock()
				eng.Entry(e)
				// The journal says nothing of its backlog's end: an
				// entry stamped within a minute of now is live.
				*caughtUp = w.o.Now().Sub(e.Time) < time.Minute
				mu.Unlock()
			}}
		return jf.Run(ctx)
	}
	ff := &FileFollower{Path: cfg.LogFile, Poll: cfg.PollInterval, MaxLine: cfg.MaxLine, FromStart: w.o.FromStart, Logger: w.log,
		Skip: w.skipped.Inc, Rotated: func(kind string) { w.rotations.WithLabelValues(kind).Inc() },
		Load: func(ctx context.Context) (Cursor, bool, error) {
			if resumeAt != nil {
				return *resumeAt, true, nil
			}
			b, err := st.GetState(ctx, WatchName, stateCursor)
			if errors.Is(err, store.ErrNotFound) {
				return Cursor{}, false, nil
			}
			if err != nil {
				return Cursor{}, false, err
			}
			var c Cursor
			if err := json.Unmarshal(b, &c); err != nil {
				w.log.Warn("ignoring an unreadable saved cursor", "err", err)
				return Cursor{}, false, nil
			}
			return c, true, nil
		},
		Save: func(sctx context.Context, c Cursor) error {
			b, _ := json.Marshal(c)
			if err := st.PutState(sctx, WatchName, stateCursor, b); err != nil {
				return err
			}
			snap(c, ctx.Err() != nil)
			return nil
		},
		Line: func(line string) {
			w.sight.line(w.o.Now())
			mu.Lock()
			eng.Line(line)
			*caughtUp = false
			mu.Unlock()
		},
		CaughtUp: func() {
			mu.Lock()
			*caughtUp = true
			mu.Unlock()
		},
		Unreadable: func(err error) {
			if err != nil && w.sight.failing() == nil {
				w.log.Error("cannot read the mail log; the mail watch is blind until it can", "err", health.Unreadable(cfg.LogFile, err))
			} else if err == nil && w.sight.failing() != nil {
				w.log.Info("the mail log is readable again", "path", cfg.LogFile)
			}
			w.sight.open(err, w.o.Now())
		}}
	return ff.Run(ctx)
}

func (w *Watch) readQueue(ctx context.Context, mu *sync.Mutex, eng *Engine) {
	cfg := w.o.Config.Queue
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		snap, err := ReadQueue(ctx, cfg.Postqueue, cfg.ConfigDir, w.o.Now(), cfg.TopSenders)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.queueErrs.Inc()
			w.log.Warn("reading the queue", "err", err)
		} else {
			w.sight.queue(snap, w.o.Now())
			mu.Lock()
			eng.Queue(snap)
			mu.Unlock()
			if b, err := json.Marshal(snap.TopSenders); err == nil {
				w.o.Store.PutState(ctx, WatchName, "queue_top_senders", b)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// learnHistory runs, on the very first start (no saved cursor), the log's
// history through the engine quietly: the rotated file (if uncompressed)
// then the current one, so that accounts start with a habit (a weekly
// newsletter in last week's log) instead of none. It saves the cursor at
// the end of what it read, where the follower takes over.
func (w *Watch) learnHistory(ctx context.Context, eng *Engine) (*Cursor, error) {
	st := w.o.Store
	if _, err := st.GetState(ctx, WatchName, stateCursor); !errors.Is(err, store.ErrNotFound) {
		return nil, err // nil when there is a cursor: not the first start
	}
	path := w.o.Config.LogFile
	cur, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if errors.Is(err, os.ErrPermission) {
			// The follower keeps trying and reports the watch blind
			// meanwhile; the history is not learned.
			w.log.Warn("cannot read the mail log to learn its history", "err", err)
			return nil, nil
		}
		return nil, err
	}
	defer cur.Close()
	started := time.Now()
	eng.SetQuiet(true)
	defer eng.SetQuiet(false)
	lines := 0
	feed := func(line string) { eng.Line(line); lines++ }
	ff := &FileFollower{Path: path, MaxLine: w.o.Config.MaxLine, Line: feed, Skip: w.skipped.Inc,
		Stop: func() bool { return ctx.Err() != nil }}
	if old, err := os.Open(path + ".1"); err == nil {
		if err := ff.drain(&openFile{f: old}); err != nil {
			w.log.Warn("learning from the rotated log", "path", path+".1", "err", err)
		}
		old.Close()
	}
	o := &openFile{f: cur}
	fi, err := cur.Stat()
	if err != nil {
		return nil, err
	}
	o.dev, o.ino = fileID(fi)
	o.head = headOf(cur)
	if err := ff.drain(o); err != nil {
		if ctx.Err() != nil {
			return nil, nil // stopped while learning: the next start learns again
		}
		return nil, err
	}
	c := o.cursor()
	b, _ := json.Marshal(c)
	if err := st.PutState(ctx, WatchName, stateCursor, b); err != nil {
		return nil, err
	}
	w.log.Info("learned habits from the log's history", "lines", lines, "took", time.Since(started).Round(time.Millisecond),
		"log_time", eng.Now())
	return &c, nil
}
