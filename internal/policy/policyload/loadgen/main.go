// Command loadgen drives a Postfix policy server (vigie, postfwd,
// policyd-rate-limit) for scripts/bench.d/policy.sh and prints one line:
// name, decisions/s, p50 and p99 in microseconds, errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vigie/vigie/internal/policy/policyload"
)

func main() {
	name := flag.String("name", "server", "label for the output")
	network := flag.String("network", "tcp", "tcp or unix")
	addr := flag.String("addr", "127.0.0.1:10040", "server address")
	conns := flag.Int("conns", 50, "concurrent connections")
	d := flag.Duration("duration", 10*time.Second, "how long to run")
	state := flag.String("state", "END-OF-MESSAGE", "protocol_state of the requests (END-OF-MESSAGE or RCPT)")
	accounts := flag.Int("accounts", 1000, "distinct SASL accounts")
	flag.Parse()
	r, err := policyload.Run(context.Background(), policyload.Options{Network: *network, Addr: *addr, Conns: *conns, Duration: *d, Accounts: *accounts, State: *state})
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen %s: %v\n", *name, err)
		os.Exit(1)
	}
	fmt.Printf("%s %.0f %d %d %d %d %v\n", *name, r.PerSecond(), r.P50.Microseconds(), r.P99.Microseconds(), r.Requests, r.Errors, r.Actions)
}
