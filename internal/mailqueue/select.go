package mailqueue

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Criteria choose the messages of one account, sender or local user.
// Exactly one must be set.
type Criteria struct {
	SASLUser string
	Sender   string
	UID      int // -1: not set
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
	if n != 1 {
		return errors.New("choose exactly one of --sasl-user, --sender and --uid")
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
			c.UID >= 0 && o.UID == c.UID {
			out = append(out, m)
		}
	}
	return out, nil
}

// IDs returns the queue ids of msgs.
func IDs(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}
