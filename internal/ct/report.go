package ct

import (
	"context"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// The evidence of a certificate alert that the incident report and the
// alert grouping read.
const (
	EvidenceNames     watch.EvidenceKey = "names"  // the certificate's names, comma or space separated
	EvidenceDomain    watch.EvidenceKey = "domain" // the watched domain it matched
	EvidenceIssuer    watch.EvidenceKey = "issuer"
	EvidenceNotBefore watch.EvidenceKey = "not_before" // RFC 3339
	EvidenceNotAfter  watch.EvidenceKey = "not_after"
)

// Rules of the CT watch's findings.
const (
	RuleCertificate    watch.RuleName = "certificate"     // a certificate for a watched domain was logged
	RuleMalformedEntry watch.RuleName = "malformed-entry" // a log entry vigie could not parse
)

// report reads a CT alert as its certificate.
func report() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceNames, EvidenceIssuer, EvidenceNotBefore, EvidenceNotAfter},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			c := watch.Certificate{Subject: a.Subject, Names: EvidenceNames.Of(a.Evidence), Issuer: EvidenceIssuer.Of(a.Evidence),
				Seen: a.FirstSeen, NotAfter: EvidenceNotAfter.Of(a.Evidence), State: a.State}
			if c.Names == "" {
				c.Names = EvidenceDomain.Of(a.Evidence)
			}
			if nb, err := time.Parse(time.RFC3339, EvidenceNotBefore.Of(a.Evidence)); err == nil {
				c.Seen = nb.UTC()
			}
			return watch.Reading{Certificates: []watch.Certificate{c}}, nil
		},
	}
}
