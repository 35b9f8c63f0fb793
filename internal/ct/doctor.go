package ct

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/doctor"
)

// Doctor says whether the CT watch would run (a watchlist, directly or
// through the DNS inventory) and whether each log it would follow answers
// with a tree head whose signature verifies, with the watch's own clients.
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	c := env.Config.CTWatch()
	const w = string(Name)
	if !c.Enabled() {
		return []doctor.Check{{Watch: w, Item: "watchlist", Status: doctor.Off, Found: "no domain to look for in CT logs",
			Fix: "set ct.watchlist (or ct.dns_inventory: true with dns.domains)"}}
	}
	c.Timeout = env.Timeout
	watch, err := New(Options{CT: c, Once: true, Client: &http.Client{Timeout: env.Timeout}})
	if err != nil {
		return []doctor.Check{{Watch: w, Item: "watchlist", Status: doctor.Fail, Found: err.Error(), Fix: "fix the ct section (vigie config check)"}}
	}
	wl := watch.Watchlist()
	n := 0
	if wl != nil {
		n = wl.Len()
	}
	out := []doctor.Check{{Watch: w, Item: "watchlist", Status: doctor.OK, Found: fmt.Sprintf("%d domain(s) to look for in %d log(s)", n, len(watch.logs))}}
	results := make([]doctor.Check, len(watch.logs))
	var wg sync.WaitGroup
	for i, l := range watch.logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, env.Timeout)
			defer cancel()
			began := time.Now()
			h, err := l.client.Head(hctx)
			if err != nil {
				results[i] = doctor.Check{Watch: w, Item: "log " + l.Name, Status: doctor.Fail, Found: fmt.Sprintf("%s: %v", l.URL, err),
					Fix: "check this machine reaches it over HTTPS (proxy, firewall), or drop it from ct.logs"}
				return
			}
			results[i] = doctor.Check{Watch: w, Item: "log " + l.Name, Status: doctor.OK,
				Found: fmt.Sprintf("reachable, tree of %d entries signed %s (%s)", h.Size, time.UnixMilli(int64(h.Timestamp)).UTC().Format(time.RFC3339), time.Since(began).Round(time.Millisecond))}
		}()
	}
	wg.Wait()
	return append(out, results...)
}
