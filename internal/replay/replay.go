// Package replay runs log files through vigie's log-based detectors with
// the log's own timestamps as the clock, and reports each alert change at
// the log time it would have happened. The findings go through the real
// alert pipeline (de-duplication, escalation, resolution) backed by a
// throwaway store, so the answer to "would vigie have caught this?" comes
// from the daemon's own code.
package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// A Set is a log-based detector set (the Postfix detectors, the access-log
// detectors, ...): a watch's watch.LogSet (its descriptor's Replay).
type Set = watch.LogSet

// NewSet builds a Set that emits through emit.
type NewSet func(emit func(vigie.Finding)) (Set, error)

// Options configure a replay.
type Options struct {
	Sets []NewSet
	Out  io.Writer
	JSON bool
	// ResolveAfter is the pipeline's default (alerts.resolve_after).
	ResolveAfter time.Duration
	// MaxLine: longer lines are counted and skipped (default 1 MiB).
	MaxLine int
	// Store keeps the alerts, incidents and timelines; nil: a throwaway
	// SQLite store, deleted when the replay ends.
	Store store.Store
	// Watches group the alerts into incidents (alert.Options.Watches):
	// `vigie replay` passes watches.All().
	Watches watch.List
}

// Result counts what a replay read.
type Result struct {
	Lines    int            // lines read
	Skipped  int            // too long to read
	Unread   int            // lines no set recognised
	BySet    map[string]int // lines each set recognised
	Changes  int            // alert changes printed
	Findings int
	First    time.Time
	Last     time.Time
}

// Run replays files in order.
func Run(ctx context.Context, o Options, files []string) (Result, error) {
	res := Result{BySet: map[string]int{}}
	if o.MaxLine <= 0 {
		o.MaxLine = 1 << 20
	}
	db := o.Store
	if db == nil {
		dir, err := os.MkdirTemp("", "vigie-replay-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		tmp, err := sqlite.Open(ctx, filepath.Join(dir, "replay.db"), sqlite.Options{})
		if err != nil {
			return res, err
		}
		defer tmp.Close()
		db = tmp
	}

	var clock time.Time
	pr := &printer{w: o.Out, json: o.JSON}
	p := alert.New(alert.Options{Store: db, Notifiers: []notify.Notifier{pr}, Now: func() time.Time { return clock },
		Node: "replay", ResolveAfter: o.ResolveAfter, Watches: o.Watches})
	var emitErr error
	var lastCheck int64
	// advance moves the log clock; once per log minute, alerts no
	// finding repeated within their resolve_after are resolved, before
	// anything that happens at the new time.
	advance := func(t time.Time) {
		if !t.After(clock) {
			return
		}
		clock = t
		if res.First.IsZero() {
			res.First = t
		}
		res.Last = t
		if m := clock.Unix() / 60; m != lastCheck {
			lastCheck = m
			if _, err := p.ResolveStale(ctx); err != nil && emitErr == nil {
				emitErr = err
			}
			p.Drain(10 * time.Second)
		}
	}
	emit := func(f vigie.Finding) {
		res.Findings++
		advance(f.Time)
		if err := p.Emit(ctx, f); err != nil && emitErr == nil {
			emitErr = err
		}
		p.Drain(10 * time.Second)
	}
	sets := make([]Set, 0, len(o.Sets))
	for _, ns := range o.Sets {
		s, err := ns(emit)
		if err != nil {
			return res, err
		}
		sets = append(sets, s)
	}
	for _, name := range files {
		if err := readFile(ctx, name, o.MaxLine, &res, func(line string) {
			for _, s := range sets {
				at, ok := s.Line(line)
				if !ok {
					continue
				}
				res.BySet[s.Name()]++
				advance(at)
				return
			}
			res.Unread++
		}); err != nil {
			return res, err
		}
		if emitErr != nil {
			return res, emitErr
		}
	}
	res.Changes = pr.n
	return res, pr.err
}

// readFile calls fn for each line of a plain or gzip file.
func readFile(ctx context.Context, name string, maxLine int, res *Result, fn func(string)) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer gz.Close()
		r = gz
	}
	lr := bufio.NewReaderSize(r, 1<<16)
	var long []byte
	tooLong := false
	for n := 0; ; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		chunk, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong && len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else {
				tooLong, long = true, long[:0]
			}
			continue
		}
		if len(chunk) > 0 || len(long) > 0 {
			line := chunk
			if len(long) > 0 {
				line = append(long, chunk...)
			}
			if tooLong || len(line) > maxLine+1 {
				res.Skipped++
			} else {
				res.Lines++
				fn(string(bytes.TrimRight(line, "\r\n")))
			}
			long, tooLong = long[:0], false
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// printer is the replay's notifier: it prints each alert change.
type printer struct {
	w    io.Writer
	json bool
	n    int
	err  error
}

func (p *printer) Name() string { return "replay" }

// Change is one printed alert change (the --json line).
type Change struct {
	Time     string            `json:"time"`
	Change   string            `json:"change"`
	Watch    string            `json:"watch"`
	Rule     string            `json:"rule"`
	Severity string            `json:"severity"`
	Subject  string            `json:"subject"`
	Summary  string            `json:"summary"`
	Key      string            `json:"key"`
	Incident int64             `json:"incident,omitempty"`
	Evidence map[string]string `json:"evidence,omitempty"`
}

// Notify prints each alert change of the message, in order.
func (p *printer) Notify(ctx context.Context, m *notify.Message) error {
	for _, n := range m.Notifications {
		p.print(n)
	}
	return nil
}

func (p *printer) print(n notify.Notification) {
	a := n.Alert
	c := Change{Time: n.Time.UTC().Format(time.RFC3339), Change: string(n.Change), Watch: a.Watch, Rule: a.Rule,
		Severity: a.Severity.String(), Subject: a.Subject, Summary: a.Summary, Key: a.Key, Incident: a.IncidentID, Evidence: a.Evidence}
	var err error
	if p.json {
		var b []byte
		b, err = json.Marshal(c)
		if err == nil {
			_, err = p.w.Write(append(b, '\n'))
		}
	} else {
		_, err = fmt.Fprintf(p.w, "%s %-9s %-8s %s/%s %s: %s\n", c.Time, c.Change, c.Severity, c.Watch, c.Rule, Escape(c.Subject), Escape(c.Summary))
	}
	p.n++
	if err != nil && p.err == nil {
		p.err = err
	}
}

// Escape makes attacker-controlled text safe to print on a terminal:
// control characters and invalid UTF-8 are written as Go escapes.
func Escape(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			q := strconv.QuoteToGraphic(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// Summary is a line about what was read, for stderr.
func (r Result) Summary() string {
	var sets []string
	for name, n := range r.BySet {
		sets = append(sets, fmt.Sprintf("%s %d", name, n))
	}
	span := ""
	if !r.First.IsZero() {
		span = fmt.Sprintf(", log time %s to %s", r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%d lines (%s), %d not recognised, %d too long; %d findings, %d alert changes%s",
		r.Lines, strings.Join(sets, ", "), r.Unread, r.Skipped, r.Findings, r.Changes, span)
}

// ReadFile calls fn for each line (without its newline) of a plain or
// gzip-compressed file, skipping lines longer than maxLine; it returns how
// many lines it read and skipped.
func ReadFile(ctx context.Context, name string, maxLine int, fn func(line string)) (lines, skipped int, err error) {
	var res Result
	err = readFile(ctx, name, maxLine, &res, fn)
	return res.Lines, res.Skipped, err
}
