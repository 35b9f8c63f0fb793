package cli

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
)

// mailActionCommands are the containment commands of `vigie mail`.
func mailActionCommands() []*command {
	return []*command{
		{name: "suspend", summary: "suspend a SASL account: its new mail is held (or refused) by the policy server", run: mailSuspend},
		{name: "resume", summary: "lift an account's suspension", run: mailResume},
		{name: "hold", summary: "hold the queued mail of an account, sender or local uid", run: queueCommand(mailqueue.Hold)},
		{name: "release", summary: "release held mail of an account, sender or local uid", run: queueCommand(mailqueue.Release)},
		{name: "purge", summary: "delete the queued mail of an account, sender or local uid", run: queueCommand(mailqueue.Purge)},
	}
}

// actionEnv is what a containment command works with.
type actionEnv struct {
	cfg     *config.Config
	db      store.Store
	actions *policy.Actions
}

func (a *actionEnv) close() { a.db.Close() }

// openActions reads the config and opens the store the daemon uses
// (SQLite in WAL mode: both can use it at once; or PostgreSQL, shared by
// every node).
func openActions(ctx context.Context, env *Env, cfgPath string) (*actionEnv, int, bool) {
	cfg, code, ok := loadConfig(env, cfgPath)
	if !ok {
		return nil, code, false
	}
	db, err := openStore(ctx, env, cfg, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie: %v\n", err)
		return nil, exitFail, false
	}
	tools := policy.ToolsFor(&cfg.Policy.Postfix)
	return &actionEnv{cfg: cfg, db: db, actions: &policy.Actions{
		Store: db, Queue: tools, Actor: actor(env), Index: policy.OwnerIndex(db, tools, mail.LogOwners{Config: cfg.Mail}),
	}}, 0, true
}

// parseMixed parses flags given before or after the positional
// arguments ("vigie mail suspend alice --reason x"), which the flag
// package alone stops at; it returns the positional arguments.
func parseMixed(f *flags, args []string) (pos []string, code int, ok bool) {
	for {
		if code, ok := f.parse(args); !ok {
			return nil, code, false
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// actor names the admin in the audit log.
func mailSuspend(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie mail suspend", "[--config FILE] [--reason TEXT] [--no-hold] USER", `
Suspends the SASL account USER: from now on the policy server answers every
message of USER with policy.suspended.action (HOLD by default, so nothing is
lost), within a second, on every vigie sharing this store. The account's mail
already in the queue is held too, unless --no-hold. The suspension survives
restarts; 'vigie mail resume USER' lifts it. Recorded in the audit log and in
the timeline of the incidents about USER.`)
	cfgPath := f.configFlag()
	reason := f.String("reason", "suspended by hand", "why, for the audit log")
	noHold := f.Bool("no-hold", false, "do not hold the account's mail already in the queue")
	pos, code, ok := parseMixed(f, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return f.usageError("expected one USER (a SASL account name)")
	}
	user := pos[0]
	a, code, ok := openActions(ctx, env, *cfgPath)
	if !ok {
		return code
	}
	defer a.close()
	changed, err := a.actions.Suspend(ctx, user, *reason, 0)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail suspend: %v\n", err)
		return exitFail
	}
	if changed {
		fmt.Fprintf(env.Stdout, "suspended %s: new mail is answered %s\n", strconv.Quote(user), a.cfg.Policy.Suspended.Action)
	} else {
		fmt.Fprintf(env.Stdout, "%s was already suspended\n", strconv.Quote(user))
	}
	if *noHold {
		return exitOK
	}
	res, err := a.actions.QueueAction(ctx, mailqueue.Hold, mailqueue.Criteria{SASLUser: user, UID: -1}, false, 0)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail suspend: the account is suspended, but holding its queued mail failed: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "held %d queued messages of %s\n", len(res.Messages), strconv.Quote(user))
	return exitOK
}

func mailResume(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie mail resume", "[--config FILE] USER", `
Lifts the suspension of the SASL account USER: its new mail is counted
against its limits again. Mail held during the suspension stays held:
release it with 'vigie mail release --sasl-user USER' (or purge it).`)
	cfgPath := f.configFlag()
	pos, code, ok := parseMixed(f, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return f.usageError("expected one USER (a SASL account name)")
	}
	user := pos[0]
	a, code, ok := openActions(ctx, env, *cfgPath)
	if !ok {
		return code
	}
	defer a.close()
	changed, err := a.actions.Resume(ctx, user)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail resume: %v\n", err)
		return exitFail
	}
	if !changed {
		fmt.Fprintf(env.Stdout, "%s was not suspended\n", strconv.Quote(user))
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "resumed %s; its held mail stays held: vigie mail release --sasl-user %s\n", strconv.Quote(user), strconv.Quote(user))
	return exitOK
}

func queueCommand(op mailqueue.Op) func(ctx context.Context, env *Env, args []string) int {
	return func(ctx context.Context, env *Env, args []string) int {
		return mailQueue(ctx, env, op, args)
	}
}

var queueHelp = map[mailqueue.Op]string{
	mailqueue.Hold: `
Holds the queued mail of one SASL account, envelope sender or local uid
(postsuper -h): it stays in the hold queue, undelivered, until released or
purged.`,
	mailqueue.Release: `
Releases held mail of one SASL account, envelope sender or local uid
(postsuper -H) and asks Postfix to deliver it now (postqueue -f).`,
	mailqueue.Purge: `
Deletes the queued mail of one SASL account, envelope sender or local uid
(postsuper -d). Asks for confirmation unless --yes.`,
}

const selectionHelp = `

The queue is read with postqueue -j. The sender is in the queue itself; the
SASL account of a message comes from what the policy server recorded when
the message passed, else from its queue file (postcat); the local uid of
mail submitted with sendmail comes from the Received header Postfix's pickup
added. Queue ids are validated and given to postsuper on its standard input;
no shell is involved. Recorded in the audit log and in the timeline of the
incidents about the account or sender.`

func mailQueue(ctx context.Context, env *Env, op mailqueue.Op, args []string) int {
	path := "vigie mail " + string(op)
	usage := "[--config FILE] (--sasl-user USER | --sender ADDRESS | --uid N) [--dry-run]"
	if op == mailqueue.Purge {
		usage += " [--yes]"
	}
	f := newFlags(env, path, usage, queueHelp[op]+selectionHelp)
	cfgPath := f.configFlag()
	user := f.String("sasl-user", "", "the SASL account whose mail to act on")
	sender := f.String("sender", "", "the envelope sender whose mail to act on")
	uid := f.Int("uid", -1, "the local user id (sendmail, web apps) whose mail to act on")
	dry := f.Bool("dry-run", false, "list the messages, change nothing")
	var yes *bool
	if op == mailqueue.Purge {
		yes = f.Bool("yes", false, "do not ask for confirmation")
	}
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("unexpected arguments %q", f.Args())
	}
	crit := mailqueue.Criteria{SASLUser: *user, Sender: *sender, UID: *uid}
	if err := crit.Check(); err != nil {
		return f.usageError("%v", err)
	}
	a, code, ok := openActions(ctx, env, *cfgPath)
	if !ok {
		return code
	}
	defer a.close()
	if op == mailqueue.Purge && !*dry && !*yes {
		msgs, err := a.actions.Find(ctx, op, crit)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", path, err)
			return exitFail
		}
		printMessages(env, msgs)
		if len(msgs) == 0 {
			fmt.Fprintf(env.Stdout, "no queued message of %s\n", crit)
			return exitOK
		}
		fmt.Fprintf(env.Stdout, "Delete these %d messages for good? [y/N] ", len(msgs))
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(env.Stdout, "nothing deleted")
			return exitFail
		}
	}
	res, err := a.actions.QueueAction(ctx, op, crit, *dry, 0)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", path, err)
		return exitFail
	}
	if *dry || op != mailqueue.Purge || *yes {
		printMessages(env, res.Messages)
	}
	verb := map[mailqueue.Op]string{mailqueue.Hold: "held", mailqueue.Release: "released", mailqueue.Purge: "deleted"}[op]
	if *dry {
		fmt.Fprintf(env.Stdout, "dry run: %d messages of %s would be %s\n", len(res.Messages), crit, verb)
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "%s %d messages of %s\n", verb, len(res.Messages), crit)
	if op == mailqueue.Release && len(res.Messages) > 0 {
		if err := a.actions.Queue.Flush(ctx); err != nil {
			fmt.Fprintf(env.Stderr, "%s: released, but postqueue -f failed (they leave at the next queue run): %v\n", path, err)
		}
	}
	return exitOK
}

// printMessages lists queued messages; senders are hostile text, quoted.
func printMessages(env *Env, msgs []mailqueue.Message) {
	for _, m := range msgs {
		fmt.Fprintf(env.Stdout, "%-16s %-9s %s %s (%d recipients)\n", m.ID, m.Queue,
			m.ArrivalTime().Format(time.DateTime), strconv.Quote(m.Sender), len(m.Recipients))
	}
}
