// Package policyload drives a Postfix policy server over loopback the way
// Postfix does: many connections, each sending one request and waiting for
// its answer before the next. It measures decisions per second and
// latency, for vigie's benchmark and for the peers it is compared with.
package policyload

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options of one run.
type Options struct {
	Network  string // tcp (default) or unix
	Addr     string
	Conns    int           // concurrent connections (default 50)
	Duration time.Duration // how long to run, if Requests is 0
	Requests int           // total requests; 0: run for Duration
	Accounts int           // distinct sasl_username values (default 1000)
	// State is the protocol_state sent: END-OF-MESSAGE (default) or RCPT
	// (for servers that count recipients at RCPT, like policyd-rate-limit).
	State string
	// Timeout for one answer (default 5s); a request past it is an error
	// and its connection is reopened.
	Timeout time.Duration
}

// Result of one run.
type Result struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	P50, P99 time.Duration
	Actions  map[string]int64 // answers by action word
}

// PerSecond is the decision rate.
func (r Result) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%.0f decisions/s, p50 %v, p99 %v, %d requests, %d errors, answers %v",
		r.PerSecond(), r.P50, r.P99, r.Requests, r.Errors, r.Actions)
}

// Run drives the server until ctx is done, Duration passed or Requests
// were answered.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.Conns <= 0 {
		o.Conns = 50
	}
	if o.Accounts <= 0 {
		o.Accounts = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.State == "" {
		o.State = "END-OF-MESSAGE"
	}
	if o.Requests == 0 {
		if o.Duration <= 0 {
			o.Duration = 10 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	// fail early if nothing listens
	c, err := net.DialTimeout(o.Network, o.Addr, o.Timeout)
	if err != nil {
		return Result{}, err
	}
	c.Close()

	var left atomic.Int64
	left.Store(int64(o.Requests))
	var errs atomic.Int64
	type worker struct {
		lat     []time.Duration
		actions map[string]int64
	}
	workers := make([]*worker, o.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.Conns {
		w := &worker{actions: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for n := 0; ctx.Err() == nil; n++ {
				if o.Requests > 0 && left.Add(-1) < 0 {
					return
				}
				if conn == nil {
					var err error
					if conn, err = net.DialTimeout(o.Network, o.Addr, o.Timeout); err != nil {
						errs.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					br = bufio.NewReader(conn)
				}
				req := request(o.State, i, n, o.Accounts)
				t0 := time.Now()
				conn.SetDeadline(t0.Add(o.Timeout))
				action, err := roundTrip(conn, br, req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					conn.Close()
					conn = nil
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
				w.actions[action]++
			}
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Errors: errs.Load(), Actions: map[string]int64{}}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		for k, v := range w.actions {
			res.Actions[k] += v
		}
	}
	res.Requests = int64(len(all))
	if len(all) > 0 {
		slices.Sort(all)
		res.P50 = all[len(all)/2]
		res.P99 = all[len(all)*99/100]
	}
	return res, nil
}

// request is what smtpd sends at END-OF-MESSAGE for an authenticated
// client, the accounts taken in turn.
func request(state string, conn, n, accounts int) []byte {
	acct := (conn*7919 + n) % accounts
	rcpt := ""
	if state == "RCPT" {
		rcpt = fmt.Sprintf("rcpt%d@example.net", n)
	}
	return fmt.Appendf(nil, "request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n"+
		"client_address=192.0.2.%d\nclient_name=client%d.example\nreverse_client_name=client%d.example\nhelo_name=client%d.example\n"+
		"sender=user%d@example.org\nrecipient=%s\nrecipient_count=1\nqueue_id=%X\ninstance=%x.%x\nsize=2048\n"+
		"etrn_domain=\nstress=\nsasl_method=PLAIN\nsasl_username=user%d@example.org\nsasl_sender=\nccert_subject=\n"+
		"ccert_issuer=\nccert_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\n\n",
		state, acct%250+1, acct, acct, acct, acct, rcpt, 0x10000000+conn*1000000+n, conn, n, acct)
}

func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (string, error) {
	if _, err := c.Write(req); err != nil {
		return "", err
	}
	var action string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if action == "" {
				return "", fmt.Errorf("empty answer")
			}
			return action, nil
		}
		if v, ok := strings.CutPrefix(line, "action="); ok {
			word, _, _ := strings.Cut(v, " ")
			action = strings.ToUpper(word)
		}
	}
}
