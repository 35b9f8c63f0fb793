package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/vigie/vigie/internal/blocklist"
)

func blocklistCommand() *command {
	return &command{name: "blocklist", summary: "check the server's addresses and domains on DNS blocklists", sub: []*command{
		{name: "check", summary: "look addresses and domains up on the blocklists now", run: blocklistCheck},
		{name: "zones", summary: "list the blocklists, their terms and how to get delisted", run: blocklistZones},
	}}
}

func blocklistCheck(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie blocklist check", "[--config FILE] [--json] [--resolver ADDR] [IP|DOMAIN ...]", `
Looks each IP address or domain up on every live blocklist that applies to
it (IP lists for addresses, domain lists for domains), after checking each
list with its test entries. Without arguments it checks what the watch
checks: blocklist.ips (or the sending addresses found from Postfix and the
interfaces), blocklist.extra_ips and blocklist.domains.

Each line says listed, clear or unknown. Unknown is never a listing: the
list failed its health check, answered with an error code (Spamhaus
127.255.255.254: public resolver refused), answered outside 127.0.0.0/8
(a lapsed domain), lists everything, or did not answer; the reason says
which. With --json, one JSON object per target and list:
{"target","zone","status","codes","reason","delist_url",...}.

Exit status: 0 when everything is clear, 1 when something is listed or
could not be checked, 2 on bad usage or configuration.`)
	cfgPath := f.configFlag()
	asJSON := f.Bool("json", false, "one JSON object per line")
	resolver := f.String("resolver", "", "resolver IP or IP:port (default: blocklist.resolver, else the system's)")
	timeout := f.Duration("timeout", 0, "time to wait for each answer (default: blocklist.timeout)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	c := cfg.Blocklist
	if *resolver != "" {
		c.Resolver = *resolver
	}
	if *timeout > 0 {
		c.Timeout = *timeout
	}
	var targets []blocklist.Target
	for _, a := range f.Args() {
		t, err := blocklist.ParseTarget(a)
		if err != nil {
			return f.usageError("%v", err)
		}
		t.Source = "argument"
		targets = append(targets, t)
	}
	cat, err := blocklist.LoadCatalog(c.ZonesFile, c.DisableZones)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie blocklist check: %v\n", err)
		return exitUsage
	}
	res, err := blocklist.ResolverFor(c.Resolver, blocklist.ResolvConf, c.Timeout)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie blocklist check: %v\n", err)
		return exitUsage
	}
	for _, w := range res.PublicResolverWarnings() {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if len(targets) == 0 {
		ts, notes, err := blocklist.TargetsFromConfig(c).Resolve(ctx)
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie blocklist check: %v\n", err)
			return exitFail
		}
		for _, n := range notes {
			fmt.Fprintf(env.Stderr, "note: %s\n", n)
		}
		if len(ts) == 0 {
			fmt.Fprintln(env.Stderr, "vigie blocklist check: nothing to check: no public sending address found and no target configured; "+
				"give addresses or domains as arguments, or set blocklist.ips / blocklist.domains")
			return exitFail
		}
		targets = ts
	}
	rep := (&blocklist.Checker{Zones: cat.Queryable(), Resolver: res}).Check(ctx, targets)
	if err := ctx.Err(); err != nil {
		fmt.Fprintf(env.Stderr, "vigie blocklist check: interrupted: %v\n", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, r := range rep.Results {
			enc.Encode(r)
		}
	} else {
		printResults(env.Stdout, rep.Results)
	}
	for _, r := range rep.Results {
		if r.Status != blocklist.Clear {
			return exitFail
		}
	}
	return exitOK
}

func printResults(w io.Writer, rs []blocklist.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tZONE\tSTATUS\tDETAIL")
	for _, r := range rs {
		detail := ""
		switch r.Status {
		case blocklist.Listed:
			detail = strings.Join(r.Codes, ",") + " " + strings.Join(r.Meanings, "; ")
			if r.Reason != "" {
				detail += " | " + r.Reason
			}
			if r.DelistURL != "" {
				detail += " | delist: " + r.DelistURL
			}
		case blocklist.Unknown:
			detail = r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Target, r.Zone, r.Status, printable(detail))
	}
	tw.Flush()
}

// printable escapes what a terminal would interpret: the TXT reason comes
// from whoever controls the zone.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsGraphic(r) || r == '\t' {
			q := strconv.QuoteToGraphic(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func blocklistZones(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie blocklist zones", "[--config FILE] [--json | --dump]", `
Lists the blocklists vigie knows: the built-in data plus blocklist.zones_file,
minus blocklist.disable_zones. For each: its zone, kind (ip, domain, or none
for a provider such as Microsoft whose list cannot be queried), impact (which
sets the alert severity), whether it is queried or dead (shut down: never
queried), and where to ask for delisting. --json adds the return codes,
terms and delisting steps; --dump prints the built-in data file, the format
for blocklist.zones_file.`)
	cfgPath := f.configFlag()
	asJSON := f.Bool("json", false, "one JSON object per list, with codes, terms and delisting steps")
	dump := f.Bool("dump", false, "print the built-in data file")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	if *dump {
		env.Stdout.Write(blocklist.DefaultData)
		return exitOK
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	cat, err := blocklist.LoadCatalog(cfg.Blocklist.ZonesFile, cfg.Blocklist.DisableZones)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie blocklist zones: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, z := range cat.All() {
			enc.Encode(z)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LIST\tKIND\tIMPACT\tSTATE\tDELIST / NOTE")
	for _, z := range cat.All() {
		state, last := "queried", z.DelistURL
		switch {
		case z.Dead != "":
			state, last = "dead", z.Dead
		case z.Kind == blocklist.KindNone:
			state = "in bounces"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", z.ListName(), z.Kind, z.Impact, state, last)
	}
	tw.Flush()
	return exitOK
}
