package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

func dnsCommand() *command {
	return &command{name: "dns", summary: "check delegations and records, approve changes, export revert plans", sub: []*command{
		{name: "check", summary: "run one sweep and print every drift", run: dnsCheck},
		{name: "baseline", summary: "record the current state of every domain as expected", run: dnsBaseline},
		{name: "approve", summary: "accept changed values as the new expected state", run: dnsApprove},
		{name: "revert-plan", summary: "list an incident's domains with their expected and observed NS", run: dnsRevertPlan},
		{name: "update-rdap-bootstrap", summary: "replace the RDAP bootstrap file (each TLD's RDAP server) from a file or URL", run: dnsUpdateRDAPBootstrap},
	}}
}

// parentFlags collects repeated --parent ZONE=HOST:PORT.
type parentFlags map[string][]string

func (p parentFlags) String() string { return "" }

func (p parentFlags) Set(v string) error {
	zone, server, ok := strings.Cut(v, "=")
	if !ok || zone == "" || server == "" {
		return fmt.Errorf("expected ZONE=HOST:PORT such as fr.=192.0.2.1:53, got %q", v)
	}
	z, err := dnswatch.CanonicalName(zone)
	if err != nil && zone != "." {
		return err
	}
	if zone == "." {
		z = "."
	}
	if _, err := dnswatch.ParseServer(server); err != nil {
		return err
	}
	p[z] = append(p[z], server)
	return nil
}

// sweepFlags are the flags shared by check and baseline.
type sweepFlags struct {
	config  *string
	domains *string
	parents parentFlags
}

func addSweepFlags(f *flags) *sweepFlags {
	s := &sweepFlags{parents: parentFlags{}}
	s.config = f.configFlag()
	s.domains = f.String("domains", "", "domain inventory file, one \"domain\" or \"domain ns1,ns2\" a line (replaces dns.domains_file)")
	f.Var(s.parents, "parent", "servers of a parent zone, ZONE=HOST:PORT (repeatable; adds to dns.parents)")
	return s
}

// dnsSetup is what a sweep command works with.
type dnsSetup struct {
	cfg     *config.Config
	dataDir string
	db      store.Store
	pipe    *alert.Pipeline
	mon     *dnswatch.Monitor
}

// baseline is where the expected values are: the file in the data
// directory, or the store's records when nodes share PostgreSQL (as the
// daemon keeps them then).
func (s *dnsSetup) baseline() dnswatch.BaselineTarget {
	if s.cfg.Store.Driver == "postgres" {
		return dnswatch.BaselineTarget{State: s.db, Shards: s.cfg.DNS.Shards}
	}
	return dnswatch.BaselineTarget{Path: dnswatch.BaselinePath(s.dataDir)}
}

func (s *dnsSetup) Close() {
	if s.mon != nil {
		s.mon.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// openDNS loads the config and opens the store; with sweep, it also
// builds the monitor from the config and the flags.
func openDNS(ctx context.Context, env *Env, name string, cfgPath string, sf *sweepFlags) (*dnsSetup, int, bool) {
	cfg, code, ok := loadConfig(env, cfgPath)
	if !ok {
		return nil, code, false
	}
	dataDir, err := config.DataDir(env.data, env.Getenv, cfg)
	if err == nil {
		err = config.EnsureDataDir(dataDir)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", name, err)
		return nil, exitUsage, false
	}
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	db, err := openStore(ctx, env, cfg, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", name, err)
		return nil, exitUsage, false
	}
	s := &dnsSetup{cfg: cfg, dataDir: dataDir, db: db, pipe: alert.New(alert.Options{Store: db, Node: cfg.Node, Watches: watches.All()})}
	if sf == nil {
		return s, 0, true
	}
	c := cfg.DNS
	parents := map[string][]string{}
	for z, l := range c.Parents {
		parents[z] = append(parents[z], l...)
	}
	for z, l := range sf.parents {
		parents[z] = append(parents[z], l...)
	}
	inv := dnswatch.Inventory{Lines: c.Domains, File: c.DomainsFile}
	if *sf.domains != "" {
		inv.File = *sf.domains
	}
	if inv.Empty() {
		s.Close()
		fmt.Fprintf(env.Stderr, "%s: no domains: give --domains FILE or set dns.domains or dns.domains_file in the config\n", name)
		return nil, exitUsage, false
	}
	resolver := c.Resolver
	if resolver == "" {
		resolver = dnswatch.SystemResolver()
	}
	mon, err := dnswatch.New(dnswatch.Options{Parents: parents, Resolver: resolver, ChildPort: uint16(c.ChildPort),
		Timeout: c.Timeout, Retries: c.Retries, Backoff: c.Backoff, RateLimit: float64(c.RateLimit),
		Sockets: c.Sockets, InFlight: c.InFlight, BaselinePath: dnswatch.BaselinePath(dataDir),
		Shards: s.baseline().Shards, BaselineState: s.baseline().State})
	if err != nil {
		s.Close()
		fmt.Fprintf(env.Stderr, "%s: %v\n", name, err)
		return nil, exitUsage, false
	}
	s.mon = mon
	st, err := mon.SetInventory(inv.Scan)
	for _, e := range st.FirstErrors {
		fmt.Fprintf(env.Stderr, "%s: skipped: %v\n", name, e)
	}
	if err != nil {
		s.Close()
		fmt.Fprintf(env.Stderr, "%s: %v\n", name, err)
		return nil, exitUsage, false
	}
	if mon.Domains() == 0 {
		s.Close()
		fmt.Fprintf(env.Stderr, "%s: the inventory has no valid domain\n", name)
		return nil, exitUsage, false
	}
	return s, 0, true
}

// driftLine is one drift as `vigie dns check --json` prints it.
type driftLine struct {
	Domain   string `json:"domain"`
	Kind     string `json:"kind"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Server   string `json:"server"`
	TTL      uint32 `json:"ttl"`
	TLD      string `json:"tld"`
}

func dnsCheck(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie dns check", "[--config FILE] [--domains FILE] [--parent ZONE=HOST:PORT]... [--parent-only] [--json]", `
Runs one sweep: asks each domain's parent (TLD) servers for its delegation
(NS, glue, DS) and, unless --parent-only, the domain's own servers for its
A, AAAA, MX, SPF, DMARC and CAA records, and compares them with what is
expected (the NS given in the inventory, else the baseline; values never
seen before become the baseline). Each drift is printed, one line each
(a JSON object with --json: domain, kind, expected, observed, server, ttl,
tld), and recorded as an alert; drifts sharing the same new value are
grouped into one incident. Domains that could not be read are summarised
on stderr.

Exit status: 0 no drift, 1 drift (or parent servers that disagree),
2 error (bad arguments, or some domains could not be read).`)
	sf := addSweepFlags(f)
	asJSON := f.Bool("json", false, "print each drift as a JSON line")
	parentOnly := f.Bool("parent-only", false, "read the delegations only, not the records")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	s, code, ok := openDNS(ctx, env, "vigie dns check", *sf.config, sf)
	if !ok {
		return code
	}
	defer s.Close()
	res, err := s.mon.Sweep(ctx, !*parentOnly)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns check: %v\n", err)
		return exitUsage
	}
	rep := &dnswatch.Reporter{Sink: s.pipe, State: s.db}
	if _, err := rep.Report(ctx, s.mon, res); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns check: recording the findings: %v\n", err)
	}
	enc := json.NewEncoder(env.Stdout)
	for _, d := range res.Drifts {
		if *asJSON {
			enc.Encode(driftLine{Domain: d.Domain, Kind: d.Kind.String(), Expected: d.Expected, Observed: d.Observed,
				Server: d.Server, TTL: d.TTL, TLD: d.TLD})
			continue
		}
		fmt.Fprintf(env.Stdout, "%s %s: expected %s, observed %s (from %s, ttl %ds)\n", d.Domain, d.Kind,
			strconv.Quote(d.Expected), strconv.Quote(d.Observed), d.Server, d.TTL)
	}
	for _, d := range res.Disagreements {
		fmt.Fprintf(env.Stderr, "vigie dns check: %s: the servers of %s disagree on %s: %s\n", d.Domain, d.Zone, d.Kind, formatAnswers(d.Answers))
	}
	for _, sp := range res.SerialSplits {
		fmt.Fprintf(env.Stderr, "vigie dns check: the servers of %s serve different SOA serials: %v\n", sp.Zone, sp.Serials)
	}
	for z, e := range res.ZoneErrors {
		fmt.Fprintf(env.Stderr, "vigie dns check: %s: %s\n", z, e)
	}
	failed := 0
	for _, n := range res.Errors {
		failed += n
	}
	if failed > 0 {
		fmt.Fprintf(env.Stderr, "vigie dns check: %d checks got no usable answer %v; for example:\n", failed, res.Errors)
		for _, e := range res.ErrorSamples[:min(10, len(res.ErrorSamples))] {
			fmt.Fprintf(env.Stderr, "  %s %s: %s\n", e.Domain, e.Kind, strconv.QuoteToGraphic(e.Err))
		}
	}
	fmt.Fprintf(env.Stderr, "vigie dns check: %d domains, %d queries, %d drifts, %d values learned, in %s\n",
		res.Domains, res.Queries, len(res.Drifts), res.Learned, res.Finished.Sub(res.Started).Round(time.Millisecond))
	switch {
	case len(res.Drifts) > 0 || len(res.Disagreements) > 0:
		return exitFail
	case failed > 0:
		return exitUsage
	}
	return exitOK
}

func formatAnswers(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" says "+strconv.Quote(m[k]))
	}
	return strings.Join(parts, "; ")
}

func dnsBaseline(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie dns baseline", "[--config FILE] [--domains FILE] [--parent ZONE=HOST:PORT]...", `
Runs one full sweep and records what it sees as the expected state of
every domain, replacing the baseline (values that could not be read keep
their old baseline). Open drift alerts whose value is now expected are
resolved. Use it once after installing vigie, or after a planned change
to many domains; for a few domains, use 'vigie dns approve'.`)
	sf := addSweepFlags(f)
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	s, code, ok := openDNS(ctx, env, "vigie dns baseline", *sf.config, sf)
	if !ok {
		return code
	}
	defer s.Close()
	res, err := s.mon.Sweep(ctx, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns baseline: %v\n", err)
		return exitFail
	}
	if err := s.mon.RecordBaseline(); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns baseline: %v\n", err)
		return exitFail
	}
	res.Drifts, res.Disagreements = nil, nil
	rep := &dnswatch.Reporter{Sink: s.pipe, State: s.db}
	if _, err := rep.Report(ctx, s.mon, res); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns baseline: resolving alerts: %v\n", err)
		return exitFail
	}
	s.db.AddAudit(ctx, auditEntry(env, "dns.baseline", fmt.Sprintf("%d domains", res.Domains)))
	failed := 0
	for _, n := range res.Errors {
		failed += n
	}
	fmt.Fprintf(env.Stdout, "baseline recorded for %d domains in %s (%s)\n", res.Domains, s.baseline(),
		res.Finished.Sub(res.Started).Round(time.Millisecond))
	if failed > 0 {
		fmt.Fprintf(env.Stderr, "vigie dns baseline: %d checks got no usable answer %v: their old baseline stays\n", failed, res.Errors)
	}
	return exitOK
}

func auditEntry(env *Env, action, target string) vigie.AuditEntry {
	return vigie.AuditEntry{Time: time.Now().UTC(), Actor: actor(env), Action: action, Target: target, Result: "ok"}
}

func dnsApprove(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie dns approve", "[--config FILE] DOMAIN... | --incident N", `
Accepts the values that drifted as the new expected state: for each
DOMAIN (or each domain of incident N), every open drift alert's observed
value is written to the baseline and the alert is resolved. The approval
is recorded in the audit log and in the incident's timeline. The running
daemon reads the new baseline before its next sweep.

NS given in the inventory file are not in the baseline: change them in
the file.`)
	cfgPath := f.configFlag()
	incident := f.Int64("incident", 0, "approve every drift of this incident")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if (*incident == 0) == (f.NArg() == 0) {
		return f.usageError("give DOMAIN... or --incident N (one of them)")
	}
	var domains []string
	for _, a := range f.Args() {
		d, err := dnswatch.CanonicalName(a)
		if err != nil {
			return f.usageError("%v", err)
		}
		domains = append(domains, d)
	}
	s, code, ok := openDNS(ctx, env, "vigie dns approve", *cfgPath, nil)
	if !ok {
		return code
	}
	defer s.Close()
	alerts, err := dnswatch.DriftAlerts(ctx, s.db, domains, *incident)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns approve: %v\n", err)
		return exitFail
	}
	if len(alerts) == 0 {
		fmt.Fprintln(env.Stderr, "vigie dns approve: no open drift to approve")
		return exitFail
	}
	fromInventory := nsInInventory(s.cfg)
	for _, a := range alerts {
		if dnswatch.EvidenceKind.Of(a.Evidence) == "ns" && fromInventory[a.Subject] {
			fmt.Fprintf(env.Stderr, "vigie dns approve: the expected NS of %s come from the inventory: change them there too, or the drift comes back\n", a.Subject)
		}
	}
	if err := dnswatch.Approve(ctx, s.db, s.pipe, s.baseline(), alerts, actor(env), time.Now().UTC()); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns approve: %v\n", err)
		return exitFail
	}
	for _, a := range alerts {
		fmt.Fprintf(env.Stdout, "approved %s %s: %s\n", a.Subject, dnswatch.EvidenceKind.Of(a.Evidence), strconv.Quote(dnswatch.EvidenceObserved.Of(a.Evidence)))
	}
	return exitOK
}

// nsInInventory returns the domains whose NS the configured inventory sets.
func nsInInventory(cfg *config.Config) map[string]bool {
	out := map[string]bool{}
	inv := dnswatch.Inventory{Lines: cfg.DNS.Domains, File: cfg.DNS.DomainsFile}
	if inv.Empty() {
		return out
	}
	inv.Scan(func(e dnswatch.Entry) error {
		if e.NS != nil {
			out[e.Name] = true
		}
		return nil
	})
	return out
}

func dnsRevertPlan(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie dns revert-plan", "--incident N [--format csv|json] [--config FILE]", `
Lists every domain of incident N whose delegation changed, with the NS
(and DS) it should have and the ones the registry serves now, the first
and last time the change was seen and the longest TTL it was served with:
what a registrar pushes back to the registries, and what the incident
report needs. CSV (with a header) or one JSON object a line.`)
	cfgPath := f.configFlag()
	incident := f.Int64("incident", 0, "the incident")
	format := f.String("format", "csv", "csv or json")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *incident <= 0 {
		return f.usageError("--incident N is required")
	}
	if *format != "csv" && *format != "json" {
		return f.usageError("--format: expected csv or json, got %q", *format)
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	s, code, ok := openDNS(ctx, env, "vigie dns revert-plan", *cfgPath, nil)
	if !ok {
		return code
	}
	defer s.Close()
	if _, err := s.db.Incident(ctx, *incident); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns revert-plan: incident %d: %v\n", *incident, err)
		return exitFail
	}
	rows, err := dnswatch.RevertPlan(ctx, s.db, *incident)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns revert-plan: %v\n", err)
		return exitFail
	}
	if err := dnswatch.WriteRevertPlan(env.Stdout, *format, rows); err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns revert-plan: %v\n", err)
		return exitFail
	}
	if len(rows) == 0 {
		fmt.Fprintf(env.Stderr, "vigie dns revert-plan: incident %d has no NS or DS change\n", *incident)
	}
	return exitOK
}
