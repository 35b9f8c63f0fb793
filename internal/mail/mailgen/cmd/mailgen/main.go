// Command mailgen writes a Postfix log in the real format (see package
// mailgen), for benchmarks: mailgen -lines 2000000 > big.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vigie/vigie/internal/mail/mailgen"
)

func main() {
	lines := flag.Int("lines", 1_000_000, "about how many lines to write")
	classic := flag.Bool("classic", true, "classic syslog stamps (else RFC 3339)")
	flag.Parse()
	// One day of traffic writes about 7 lines per message; size the
	// number of accounts to reach the line count in one simulated day.
	start := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	perDay := 30
	users := max(1, *lines/(7*perDay*2))
	s := mailgen.Scenario{Start: start, End: start.Add(24 * time.Hour), Seed: 1, Classic: *classic, Users: users,
		PerUserPerDay: perDay, InboundPerHour: users,
		Bursts: []mailgen.Burst{{User: "stolen@example.org", Start: start.Add(13 * time.Hour), Every: time.Second, Count: 3600, Blocked: true}},
		FailIP: "192.0.2.250", FailStart: start.Add(3 * time.Hour), FailEvery: 5 * time.Second, FailCount: 500}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	n, err := s.Write(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mailgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mailgen: %d lines\n", n)
}
