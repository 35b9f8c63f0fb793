package policy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// Probe asks the policy server at addr (host:port or unix:PATH) one
// request that counts nothing (no account, no client address: vigie
// answers DUNNO) and returns its answer line ("action=DUNNO"). An error
// says nothing listens there, or what listens does not speak the policy
// protocol.
func Probe(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	network, a := "tcp", addr
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, a = "unix", path
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, network, a)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprint(c, "request=smtpd_access_policy\nprotocol_state=CONNECT\nprotocol_name=SMTP\n\n"); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("connected, but no policy answer: %w", err)
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "action=") {
		return "", fmt.Errorf("connected, but the answer %q is not the policy protocol", truncate(line, 60))
	}
	return line, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
