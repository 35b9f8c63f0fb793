package mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/vigie"
)

// Owners implements mailqueue.OwnerIndex from what the index learnt from
// the log: the SASL user is only on the smtpd line, the uid only on the
// pickup line.
func (x *Index) Owners(ctx context.Context, msgs []mailqueue.Message) (map[string]mailqueue.Owner, error) {
	out := map[string]mailqueue.Owner{}
	for _, m := range msgs {
		o, ok := x.Lookup(m.ID)
		if !ok || (o.SASLUser == "" && o.UID < 0) {
			continue
		}
		out[m.ID] = mailqueue.Owner{SASLUser: o.SASLUser, Sender: o.Sender, Client: o.ClientIP, UID: o.UID}
	}
	return out, ctx.Err()
}

// LogOwners is the mail log as an owner index for the queue actions of the
// command line, which do not share the daemon's memory: it reads the
// configured log (the rotated file first, then the current one) through
// the mail watch's parser when asked.
type LogOwners struct {
	Config config.Mail
}

// Owners implements mailqueue.OwnerIndex.
func (l LogOwners) Owners(ctx context.Context, msgs []mailqueue.Message) (map[string]mailqueue.Owner, error) {
	if l.Config.Source == "journal" || l.Config.LogFile == "" {
		return map[string]mailqueue.Owner{}, nil
	}
	e := NewEngine(EngineOptions{Config: l.Config, Emit: func(vigie.Finding) {}, LogQueue: true})
	for _, name := range []string{l.Config.LogFile + ".1", l.Config.LogFile} {
		if err := feedFile(ctx, e, name); err != nil {
			return nil, err
		}
	}
	return e.Index().Owners(ctx, msgs)
}

func feedFile(ctx context.Context, e *Engine, name string) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the mail log for queue owners: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 0; sc.Scan(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e.Line(sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}
