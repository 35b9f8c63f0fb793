// Command ctbench is the CT watch's side-by-side benchmark (make bench,
// scripts/bench.d/ct.sh): it fills an RFC 6962 log on loopback with
// generated certificates and precertificates, writes a watchlist of a
// registrar's size, then times `vigie ct check` and certspotter catching
// up the same log with a watchlist of the same size, and prints entries
// per second, CPU, peak memory and the ratio.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigie/vigie/internal/ct/cttest"
)

func main() {
	entries := flag.Int("entries", 100000, "log entries")
	domains := flag.Int("domains", 2100000, "watched domains")
	every := flag.Int("watched-every", 500, "one certificate in this many is for a watched domain")
	vigie := flag.String("vigie", "bin/vigie", "vigie binary")
	certspotter := flag.String("certspotter", "/usr/bin/certspotter", "certspotter binary (empty: skip)")
	budget := flag.Duration("budget", 90*time.Second, "longest a program may take to catch up")
	flag.Parse()
	if err := run(*entries, *domains, *every, *vigie, *certspotter, *budget); err != nil {
		fmt.Fprintln(os.Stderr, "ctbench:", err)
		os.Exit(1)
	}
}

type result struct {
	name     string
	entries  int64 // entries processed
	wall     time.Duration
	cpu      time.Duration
	maxRSSMB float64
	matches  int // matching entries
	certs    int // distinct certificates among them (vigie)
	note     string
}

func (r result) rate() float64 { return float64(r.entries) / r.wall.Seconds() }

func run(n, domains, every int, vigieBin, csBin string, budget time.Duration) error {
	dir, err := os.MkdirTemp("", "ctbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	l, err := cttest.NewLog()
	if err != nil {
		return err
	}
	ca, err := cttest.NewCA("Bench CA")
	if err != nil {
		return err
	}
	watched, err := cttest.NewCorpus(1).Fill(l, ca, n, every, domains)
	if err != nil {
		return err
	}
	fmt.Printf("log: %d entries (%d certificates for watched domains), generated in %v\n", l.Size(), watched, time.Since(start).Round(time.Millisecond))

	wl := filepath.Join(dir, "inventory")
	f, err := os.Create(wl)
	if err != nil {
		return err
	}
	if err := cttest.WriteWatchlist(f, domains); err != nil {
		return err
	}
	f.Close()
	// certspotter's format: ".domain" watches the domain and its subdomains.
	csWL := filepath.Join(dir, "certspotter-watchlist")
	if err := certspotterWatchlist(wl, csWL); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: l}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	fmt.Printf("watchlist: %d domains; log served at %s\n\n", domains, url)

	// The same run on an empty log is vigie's start: reading the
	// watchlist, opening the store.
	empty, err := cttest.NewLog()
	if err != nil {
		return err
	}
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	esrv := &http.Server{Handler: empty}
	go esrv.Serve(eln)
	defer esrv.Close()
	var startup result
	for i := 0; i < 2; i++ { // the first run also creates the store
		if startup, err = runVigie(dir, vigieBin, "http://"+eln.Addr().String()+"/", empty.PubB64, wl, budget); err != nil {
			return err
		}
	}
	fmt.Printf("vigie start (load %d domains, open the store): %v wall, %v CPU, %.0f MB peak RSS\n",
		domains, startup.wall.Round(time.Millisecond), startup.cpu.Round(time.Millisecond), startup.maxRSSMB)

	var results []result
	r, err := runVigie(dir, vigieBin, url, l.PubB64, wl, budget)
	if err != nil {
		return err
	}
	catchUp := r.wall - startup.wall
	r.entries = l.Size()
	if r.certs != watched {
		r.note = fmt.Sprintf("MISMATCH: %d certificates found, %d expected", r.certs, watched)
	}
	results = append(results, r)
	if csBin != "" {
		if _, err := os.Stat(csBin); err == nil {
			results = append(results, runCertspotter(dir, csBin, l, url, csWL, budget, l.Size()))
			small := filepath.Join(dir, "certspotter-small")
			if err := head(csWL, small, 1000); err == nil {
				r := runCertspotter(dir, csBin, l, url, small, budget, l.Size())
				r.name = "certspotter (1,000 domains)"
				results = append(results, r)
			}
		} else {
			fmt.Printf("certspotter not found at %s: skipped\n", csBin)
		}
	}
	fmt.Printf("%-30s %10s %10s %12s %10s %10s  %s\n", "program", "entries", "wall", "entries/s", "cpu", "peak RSS", "matching entries")
	for _, r := range results {
		fmt.Printf("%-30s %10d %10s %12.0f %10s %8.0fMB  %d %s\n", r.name, r.entries, r.wall.Round(time.Millisecond), r.rate(),
			r.cpu.Round(time.Millisecond), r.maxRSSMB, r.matches, r.note)
	}
	if catchUp > 0 {
		fmt.Printf("\nvigie catching up, start excluded: %.0f entries/s (%v CPU for %d entries: %.0f entries per CPU second)\n",
			float64(r.entries)/catchUp.Seconds(), (r.cpu - startup.cpu).Round(time.Millisecond), r.entries,
			float64(r.entries)/(r.cpu-startup.cpu).Seconds())
	}
	if len(results) > 1 && results[1].entries > 0 {
		fmt.Printf("\nratio vigie / certspotter (same %d-domain watchlist): %.1fx entries/s, %.2fx peak memory\n",
			domains, results[0].rate()/results[1].rate(), results[0].maxRSSMB/results[1].maxRSSMB)
	}
	return nil
}

func runVigie(dir, bin, url, key, wl string, budget time.Duration) (result, error) {
	data := filepath.Join(dir, "vigie-data")
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`http:
  listen: ""
ct:
  watchlist_file: %s
  start: beginning
  batch_size: 1000
  concurrency: 2
  rate_limit: 0
  logs:
    - {name: bench, url: %q, key: %q, api: rfc6962}
`, wl, url, key)), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--data", data, "ct", "check", "--config", cfg, "--json")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	began := time.Now()
	err := cmd.Run()
	wall := time.Since(began)
	if cmd.ProcessState == nil || (err != nil && cmd.ProcessState.ExitCode() != 1) {
		return result{}, fmt.Errorf("vigie ct check: %v", err)
	}
	tbs := map[string]bool{}
	lines := 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			TBS string `json:"tbs_sha256"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			tbs[m.TBS] = true
			lines++
		}
	}
	return result{name: "vigie ct check (GOMAXPROCS=1)", wall: wall, cpu: cpuTime(cmd.ProcessState), maxRSSMB: maxRSS(cmd.ProcessState),
		matches: lines, certs: len(tbs)}, nil
}

// runCertspotter runs certspotter until it has read the whole log (its
// state says so) or the budget is spent, then stops it.
func runCertspotter(dir, bin string, l *cttest.Log, url, wl string, budget time.Duration, size int64) result {
	state, _ := os.MkdirTemp(dir, "certspotter-state-")
	list := filepath.Join(dir, "loglist.json")
	os.WriteFile(list, l.LogListJSON(url), 0o644)
	cmd := exec.Command(bin, "-logs", list, "-watchlist", wl, "-state_dir", state, "-stdout", "-no_save", "-batch_size", "1000")
	var out syncBuf
	cmd.Stdout = &out
	var errb bytes.Buffer
	cmd.Stderr = &errb
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return result{name: "certspotter", note: err.Error()}
	}
	r := result{name: "certspotter"}
	deadline := began.Add(budget)
	for {
		time.Sleep(100 * time.Millisecond)
		pos := certspotterPosition(state)
		if p := maxLogEntry(out.String()) + 1; p > pos {
			pos = p // certspotter saves its position rarely; a match shows it got this far
		}
		if pos >= size {
			r.entries = pos
			break
		}
		if time.Now().After(deadline) {
			r.entries = pos
			r.note = fmt.Sprintf("(stopped after %v, %d of %d entries read)", budget, pos, size)
			break
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	r.wall = time.Since(began)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	r.cpu = cpuTime(cmd.ProcessState)
	r.maxRSSMB = maxRSS(cmd.ProcessState)
	if os.Getenv("CTBENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "certspotter stdout:\n%.2000s\nstderr:\n%.2000s\n", out.String(), errb.String())
	}
	r.matches = strings.Count(out.String(), "Log Entry = ")
	if r.entries == 0 && r.note == "" {
		r.note = "no progress: " + lastLine(errb.String())
	}
	return r
}

// certspotterPosition reads how far certspotter got from its state
// directory (the largest entry count any of its state files mentions).
func certspotterPosition(state string) int64 {
	var best int64
	filepath.Walk(state, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		for _, k := range []string{"download_position", "verified_position", "tree_size"} {
			if v, ok := findNumber(m, k); ok && k != "tree_size" && v > best {
				best = v
			}
		}
		return nil
	})
	return best
}

func findNumber(m map[string]any, key string) (int64, bool) {
	for k, v := range m {
		if k == key {
			switch x := v.(type) {
			case float64:
				return int64(x), true
			case map[string]any:
				if n, ok := findNumber(x, "size"); ok {
					return n, true
				}
			}
		}
		if sub, ok := v.(map[string]any); ok {
			if n, ok := findNumber(sub, key); ok {
				return n, true
			}
		}
	}
	return 0, false
}

var logEntry = regexp.MustCompile(`Log Entry = (\d+) @`)

// maxLogEntry is the largest log index certspotter printed a match for.
func maxLogEntry(out string) int64 {
	best := int64(-1)
	for _, m := range logEntry.FindAllStringSubmatch(out, -1) {
		if n, err := strconv.ParseInt(m[1], 10, 64); err == nil && n > best {
			best = n
		}
	}
	return best
}

func certspotterWatchlist(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 1<<20)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d, _, _ := strings.Cut(sc.Text(), " ")
		fmt.Fprintf(w, ".%s\n", d)
	}
	w.Flush()
	return o.Close()
}

func head(in, out string, n int) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	lines := strings.SplitAfterN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return os.WriteFile(out, []byte(strings.Join(lines, "")), 0o644)
}

func cpuTime(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

func maxRSS(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// syncBuf is a buffer a child process writes to while it is read.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
