package mail

import (
	"context"
	"strconv"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// report reads a mail alert as the account it is about and what it sent.
func report() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceMessages, EvidenceRecipients},
		Read: func(ctx context.Context, a *vigie.Alert, findings func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			acc := watch.Account{Name: a.Subject}
			fs, err := findings(ctx)
			if err != nil {
				return watch.Reading{}, err
			}
			for _, f := range fs {
				acc.Messages = max(acc.Messages, count(f.Evidence[EvidenceMessages]))
				acc.Recipients = max(acc.Recipients, count(f.Evidence[EvidenceRecipients]))
			}
			return watch.Reading{Accounts: []watch.Account{acc}}, nil
		},
	}
}

func count(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
