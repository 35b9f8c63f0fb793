package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/watches"
)

func ctCommand() *command {
	return &command{name: "ct", summary: "Certificate Transparency: check logs, mark certificates known-good, import log lists", sub: []*command{
		{name: "check", summary: "catch up every log once and print the certificates for watched domains", run: ctCheck},
		{name: "known-good", summary: "mark a certificate as known-good (no more alerts for it)", run: ctKnownGood},
		{name: "loglist", summary: "print the logs of a log list JSON file as ct.logs configuration", run: ctLogList},
	}}
}

// ctMatchJSON is one line of `vigie ct check --json`.
type ctMatchJSON struct {
	Log       string    `json:"log"`
	Index     int64     `json:"index"`
	Timestamp time.Time `json:"log_timestamp"`
	Type      string    `json:"type"`
	Names     []string  `json:"names"`
	Matched   []string  `json:"matched"`
	Issuer    string    `json:"issuer"`
	Expected  *bool     `json:"issuer_expected,omitempty"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
	TBSSHA256 string    `json:"tbs_sha256"`
}

func ctCheck(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie ct check", "[--config FILE] [--json]", `
Reads every configured CT log once, from the position the daemon saved
(or, for a log never read, from where ct.start says) up to its current
signed head, verifying signatures and the tree as the daemon does, and
prints each certificate or precertificate for a watched domain: one line
each, JSON with --json. It records nothing. Exit status 1 when it found a
certificate or a log failed verification, 0 otherwise.`)
	cfgPath := f.configFlag()
	asJSON := f.Bool("json", false, "print one JSON object per line")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	ctc := cfg.CTWatch()
	if !ctc.Enabled() {
		return f.usageError("the configuration has no ct.watchlist, ct.watchlist_file or DNS domains (with ct.dns_inventory): nothing to watch")
	}
	db, err := openStore(ctx, env, cfg, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct check: %v\n", err)
		return exitFail
	}
	defer db.Close()
	var mu sync.Mutex
	found, failed := 0, 0
	enc := json.NewEncoder(env.Stdout)
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	w, err := ct.New(ct.Options{CT: ctc, Store: db, Logger: newLogger(env.Stderr, "text", level), Once: true,
		OnMatch: func(m ct.CertMatch) {
			mu.Lock()
			defer mu.Unlock()
			found++
			out := ctMatchLine(m)
			if *asJSON {
				enc.Encode(out)
				return
			}
			fmt.Fprintf(env.Stdout, "%s #%d %s %s issuer=%q sha256=%s\n", out.Log, out.Index, out.Type,
				quoteNames(out.Names), out.Issuer, out.SHA256)
		},
		OnLogError: func(log, rule string, err error) {
			mu.Lock()
			defer mu.Unlock()
			failed++
			fmt.Fprintf(env.Stderr, "vigie ct check: %s: %s: %v\n", log, rule, err)
		}})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct check: %v\n", err)
		return exitUsage
	}
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct check: %v\n", err)
		return exitFail
	}
	if found > 0 || failed > 0 {
		return exitFail
	}
	return exitOK
}

func ctMatchLine(m ct.CertMatch) ctMatchJSON {
	out := ctMatchJSON{Log: m.Log, Index: m.Index, Timestamp: time.UnixMilli(int64(m.Timestamp)).UTC(), Type: "certificate",
		Names: m.Info.Names, Issuer: m.Info.Issuer, Serial: m.Info.Serial, NotBefore: m.Info.NotBefore.UTC(),
		NotAfter: m.Info.NotAfter.UTC(), SHA256: hex.EncodeToString(m.SHA256[:]), TBSSHA256: hex.EncodeToString(m.Info.TBSHash[:])}
	if m.Precert {
		out.Type = "precertificate"
	}
	var expected []string
	for _, x := range m.Matches {
		out.Matched = append(out.Matched, x.Domain)
		expected = append(expected, x.Issuers...)
	}
	if len(expected) > 0 {
		ok := ct.IssuerExpected(m.Info.IssuerOrg, expected)
		out.Expected = &ok
	}
	return out
}

// quoteNames keeps certificate names (attacker-chosen) on one line and
// free of terminal control characters.
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ",")
}

func ctKnownGood(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie ct known-good", "[--config FILE] [--note TEXT] FINGERPRINT", `
Marks a certificate as known-good: FINGERPRINT is the hex SHA-256 of the
certificate or precertificate ("sha256" in the alert), or the "tbs_sha256"
that names a precertificate and its final certificate together. Its
alert is resolved, and it is not reported again. The action is audited.`)
	cfgPath := f.configFlag()
	note := f.String("note", "", "why it is known-good, for the audit log")
	actor := f.String("actor", "", "who marks it (default: $USER)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one FINGERPRINT, got %d arguments", f.NArg())
	}
	fp := strings.ToLower(strings.ReplaceAll(f.Arg(0), ":", ""))
	if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
		return f.usageError("%q is not a SHA-256 fingerprint (64 hex digits)", f.Arg(0))
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	if *actor == "" {
		*actor = env.Getenv("USER")
	}
	db, err := openStore(ctx, env, cfg, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct known-good: %v\n", err)
		return exitFail
	}
	defer db.Close()
	n, err := ct.MarkKnownGood(ctx, db, alert.New(alert.Options{Store: db, Node: cfg.Node, Watches: watches.All()}), fp, *actor, *note, time.Now())
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct known-good: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "%s: known-good; %d alert(s) resolved\n", fp, n)
	return exitOK
}

func ctLogList(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie ct loglist", "[--all] FILE", `
Reads a CT log list (v3 JSON, as Google publishes at
https://www.gstatic.com/ct/log_list/v3/log_list.json and Apple at
https://valid.apple.com/ct/log_list/current_log_list.json) and prints its
usable, qualified and read-only logs, RFC 6962 and static-ct-api, as a
"logs:" list to paste under "ct:". To follow the file itself, set
ct.log_list_file instead.`)
	all := f.Bool("all", false, "print every log, retired and rejected ones too")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one FILE, got %d arguments", f.NArg())
	}
	data, err := os.ReadFile(f.Arg(0))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct loglist: %v\n", err)
		return exitFail
	}
	logs, err := ct.ParseLogList(data, *all)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct loglist: %s: %v\n", f.Arg(0), err)
		return exitFail
	}
	out, err := yaml.Marshal(map[string][]config.CTLog{"logs": logs})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie ct loglist: %v\n", err)
		return exitFail
	}
	env.Stdout.Write(out)
	return exitOK
}
