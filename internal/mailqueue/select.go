package mailqueue

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Criteria choose the messages of one account, sender, local user or
// SMTP client. Exactly one must be set.
type Criteria struct {
	SASLUser string
	Sender   string
	UID      int        // -1: not set
	Client   netip.Addr // an unauthenticated SMTP client; invalid: not set
}

// Check reports a criteria set that selects nothing or too much.
func (c Criteria) Check() error {
	n := 0
	if c.SASLUser != "" {
		n++
	}
	if c.Sender != "" {
		n++
	}
	if c.UID >= 0 {
		n++
	}
	if c.Client.IsValid() {
		n++
	}
	if n != 1 {
		return errors.New("choose exactly one of --sasl-user, --sender, --uid and --client")
	}
	return nil
}

// String describes the criteria for logs and the audit trail.
func (c Criteria) String() string {
	switch {
	case c.SASLUser != "":
		return "sasl_user=" + c.SASLUser
	case c.Sender != "":
		return "sender=" + c.Sender
	case c.Client.IsValid():
		return "client=" + c.Client.String()
	default:
		return "uid=" + strconv.Itoa(c.UID)
	}
}

// Select returns the messages in msgs that match c and that op applies to:
// hold skips messages already held, release takes only held ones. The
// sender is in the queue itself; accounts and uids are looked up in ix.
func Select(ctx context.Context, msgs []Message, c Criteria, op Op, ix OwnerIndex) ([]Message, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	var cand []Message
	for _, m := range msgs {
		switch {
		case op == Hold && m.Queue == "hold", op == Release && m.Queue != "hold":
			continue
		case m.Queue == "maildrop":
			continue // not a queue file yet: postsuper cannot act on it
		}
		cand = append(cand, m)
	}
	if c.Sender != "" {
		var out []Message
		for _, m := range cand {
			if strings.EqualFold(m.Sender, c.Sender) {
				out = append(out, m)
			}
		}
		return out, nil
	}
	if ix == nil || len(cand) == 0 {
		return nil, nil
	}
	owners, err := ix.Owners(ctx, cand)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range cand {
		o, ok := owners[m.ID]
		if !ok {
			continue
		}
		if c.SASLUser != "" && o.SASLUser != "" && strings.EqualFold(o.SASLUser, c.SASLUser) ||
			c.UID >= 0 && o.UID == c.UID ||
			c.Client.IsValid() && o.SASLUser == "" && sameAddr(o.Client, c.Client) {
			out = append(out, m)
		}
	}
	return out, nil
}

// sameAddr: an owner's client address (as Postfix or a record wrote it)
// is c. Authenticated mail from that address is not the client's: a
// webmail on 127.0.0.1 logs its users in.
func sameAddr(s string, c netip.Addr) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Unmap().WithZone("") == c.Unmap().WithZone("")
}

// IDs returns the queue ids of msgs.
func IDs(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}
