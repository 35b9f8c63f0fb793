package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
)

// mailActionCommands are the containment commands of `vigie mail`.
func mailActionCommands() []*command {
	return []*command{
		{name: "suspend", summary: "suspend a SASL account, uid or SMTP client: vigie holds its new mail", run: mailSuspend},
		{name: "resume", summary: "lift a suspension", run: mailResume},
		{name: "hold", summary: "hold the queued mail of an account, uid, client or sender", run: queueCommand(mailqueue.Hold)},
		{name: "release", summary: "release held mail of an account, uid, client or sender", run: queueCommand(mailqueue.Release)},
		{name: "purge", summary: "delete the queued mail of an account, uid, client or sender", run: queueCommand(mailqueue.Purge)},
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

// subjectFlags are --sasl-user, --uid and --client: the subject a
// command acts on.
type subjectFlags struct {
	user   *string
	uid    *int
	client *string
}

func addSubjectFlags(f *flags) subjectFlags {
	return subjectFlags{
		user:   f.String("sasl-user", "", "the SASL account"),
		uid:    f.Int("uid", -1, "the local user id (sendmail, web apps)"),
		client: f.String("client", "", "the unauthenticated SMTP client address (e.g. 127.0.0.1)"),
	}
}

// subject reads the one subject given, by flag or (for compatibility) as
// the one positional USER, a SASL account.
func (sf subjectFlags) subject(pos []string) (subject.Subject, error) {
	var out []subject.Subject
	if *sf.user != "" {
		out = append(out, subject.SASL(*sf.user))
	}
	if *sf.uid >= 0 {
		out = append(out, subject.UID(*sf.uid))
	}
	if *sf.client != "" {
		a, err := netip.ParseAddr(*sf.client)
		if err != nil {
			return subject.Subject{}, fmt.Errorf("--client: %q is not an IP address", *sf.client)
		}
		out = append(out, subject.Client(a))
	}
	for _, p := range pos {
		if strings.TrimSpace(p) != "" {
			out = append(out, subject.SASL(p))
		}
	}
	if len(out) != 1 {
		return subject.Subject{}, errors.New("expected one of --sasl-user USER, --uid N or --client ADDRESS")
	}
	return out[0], nil
}

func mailSuspend(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie mail suspend", "[--config FILE] [--reason TEXT] [--no-hold] (--sasl-user USER | --uid N | --client ADDRESS | USER)", `
Suspends a subject: a SASL account, a local uid (mail sent with sendmail,
e.g. a web site), or an unauthenticated SMTP client of
policy.unauthenticated_networks. From now on vigie's gate holds every new
message of it (the milter, for every path; the policy server answers
policy.suspended.action, HOLD by default), within a second, on every vigie
sharing this store. Its mail already in the queue is held too, unless
--no-hold. Nothing is lost: 'vigie mail release' sends held mail. The
suspension survives restarts; 'vigie mail resume' lifts it. Recorded in the
audit log and in the timeline of the incidents about the subject.`)
	cfgPath := f.configFlag()
	sf := addSubjectFlags(f)
	reason := f.String("reason", "suspended by hand", "why, for the audit log")
	noHold := f.Bool("no-hold", false, "do not hold the subject's mail already in the queue")
	pos, code, ok := parseMixed(f, args)
	if !ok {
		return code
	}
	subj, err := sf.subject(pos)
	if err != nil {
		return f.usageError("%v", err)
	}
	a, code, ok := openActions(ctx, env, *cfgPath)
	if !ok {
		return code
	}
	defer a.close()
	name := strconv.Quote(subj.String())
	changed, err := a.actions.Suspend(ctx, subj, *reason, 0)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail suspend: %v\n", err)
		return exitFail
	}
	if changed {
		fmt.Fprintf(env.Stdout, "suspended %s: its new mail is held (undo: vigie mail resume %s)\n", name, policy.SubjectFlag(subj))
	} else {
		fmt.Fprintf(env.Stdout, "%s was already suspended\n", name)
	}
	if *noHold {
		return exitOK
	}
	res, err := a.actions.QueueAction(ctx, mailqueue.Hold, policy.CriteriaFor(subj), false, 0)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail suspend: suspended, but holding its queued mail failed: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "held %d queued messages of %s\n", len(res.Messages), name)
	return exitOK
}

func mailResume(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie mail resume", "[--config FILE] (--sasl-user USER | --uid N | --client ADDRESS | USER)", `
Lifts the suspension of a subject: its new mail is counted against its
limits again. Mail held during the suspension stays held: release it with
'vigie mail release' and the same flag (or purge it).`)
	cfgPath := f.configFlag()
	sf := addSubjectFlags(f)
	pos, code, ok := parseMixed(f, args)
	if !ok {
		return code
	}
	subj, err := sf.subject(pos)
	if err != nil {
		return f.usageError("%v", err)
	}
	a, code, ok := openActions(ctx, env, *cfgPath)
	if !ok {
		return code
	}
	defer a.close()
	name := strconv.Quote(subj.String())
	changed, err := a.actions.Resume(ctx, subj)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail resume: %v\n", err)
		return exitFail
	}
	if !changed {
		fmt.Fprintf(env.Stdout, "%s was not suspended\n", name)
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "resumed %s; its held mail stays held: vigie mail release %s\n", name, policy.SubjectFlag(subj))
	return exitOK
}

func queueCommand(op mailqueue.Op) func(ctx context.Context, env *Env, args []string) int {
	return func(ctx context.Context, env *Env, args []string) int {
		return mailQueue(ctx, env, op, args)
	}
}

var queueHelp = map[mailqueue.Op]string{
	mailqueue.Hold: `
Holds the queued mail of one SASL account, local uid, SMTP client or envelope sender
(postsuper -h): it stays in the hold queue, undelivered, until released or
purged.`,
	mailqueue.Release: `
Releases held mail of one SASL account, local uid, SMTP client or envelope sender
(postsuper -H) and asks Postfix to deliver it now (postqueue -f).`,
	mailqueue.Purge: `
Deletes the queued mail of one SASL account, local uid, SMTP client or envelope sender
(postsuper -d). Asks for confirmation unless --yes.`,
}

const selectionHelp = `

The queue is read with postqueue -j. The sender is in the queue itself; the
SASL account of a message comes from what the policy server recorded when
the message passed (the milter or the policy server), else from its queue
file (postcat); the local uid of mail submitted with sendmail comes from the
Received header Postfix's pickup added; an SMTP client's mail is its
unauthenticated mail from that address. Queue ids are validated and given to postsuper on its standard input;
no shell is involved. Recorded in the audit log and in the timeline of the
incidents about the account or sender.`

func mailQueue(ctx context.Context, env *Env, op mailqueue.Op, args []string) int {
	path := "vigie mail " + string(op)
	usage := "[--config FILE] (--sasl-user USER | --uid N | --client ADDRESS | --sender ADDRESS) [--dry-run]"
	if op == mailqueue.Purge {
		usage += " [--yes]"
	}
	f := newFlags(env, path, usage, queueHelp[op]+selectionHelp)
	cfgPath := f.configFlag()
	user := f.String("sasl-user", "", "the SASL account whose mail to act on")
	sender := f.String("sender", "", "the envelope sender whose mail to act on")
	uid := f.Int("uid", -1, "the local user id (sendmail, web apps) whose mail to act on")
	client := f.String("client", "", "the unauthenticated SMTP client address whose mail to act on")
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
	if *client != "" {
		a, err := netip.ParseAddr(*client)
		if err != nil {
			return f.usageError("--client: %q is not an IP address", *client)
		}
		crit.Client = a.Unmap()
	}
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
