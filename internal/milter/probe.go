package milter

import (
	"context"
	"fmt"
	"net"
	"time"

	gomilter "github.com/emersion/go-milter"
)

// Probe connects to a milter at network/address as Postfix would and
// negotiates the protocol (SMFIC_OPTNEG), then quits: it says whether a
// milter answers there, without sending it any message.
func Probe(ctx context.Context, network, address string, timeout time.Duration) error {
	d := &net.Dialer{Timeout: timeout}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	c := gomilter.NewClientWithOptions(network, address, gomilter.ClientOptions{Dialer: d,
		ReadTimeout: timeout, WriteTimeout: timeout, ActionMask: gomilter.OptAddHeader})
	s, err := c.Session()
	if err != nil {
		return fmt.Errorf("no milter negotiation: %w", err)
	}
	return s.Close()
}
