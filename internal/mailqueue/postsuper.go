package mailqueue

import (
	"context"
	"fmt"
	"strings"
)

// An Op is what postsuper does to a message.
type Op string

const (
	Hold    Op = "hold"    // postsuper -h: keep it, do not deliver
	Release Op = "release" // postsuper -H: back to the deferred queue
	Purge   Op = "purge"   // postsuper -d: delete it
)

func (op Op) flag() (string, error) {
	switch op {
	case Hold:
		return "-h", nil
	case Release:
		return "-H", nil
	case Purge:
		return "-d", nil
	}
	return "", fmt.Errorf("unknown queue operation %q", op)
}

// Apply runs postsuper on ids. The ids are validated, then given on
// standard input ("postsuper -h -"), so their number is not limited by the
// argument list and nothing in them can be read as an option.
func (t *Tools) Apply(ctx context.Context, op Op, ids []string) error {
	flag, err := op.flag()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	var in strings.Builder
	for _, id := range ids {
		if !ValidQueueID(id) {
			return fmt.Errorf("postsuper %s: refusing invalid queue id %q", flag, id)
		}
		in.WriteString(id)
		in.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	cmd, err := t.command(ctx, t.Postsuper, flag, "-")
	if err != nil {
		return fmt.Errorf("postsuper: %w", err)
	}
	if _, err := output(cmd, strings.NewReader(in.String()), 1<<20); err != nil {
		return fmt.Errorf("postsuper %s: %w", flag, err)
	}
	return nil
}

// Flush asks Postfix to attempt delivery of deferred mail now
// (postqueue -f), so released messages need not wait for a queue run.
func (t *Tools) Flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	cmd, err := t.command(ctx, t.Postqueue, "-f")
	if err != nil {
		return fmt.Errorf("postqueue: %w", err)
	}
	if _, err := output(cmd, nil, 1<<20); err != nil {
		return fmt.Errorf("postqueue -f: %w", err)
	}
	return nil
}
