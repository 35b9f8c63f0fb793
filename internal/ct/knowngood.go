package ct

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// MarkKnownGood records fingerprint (a certificate's SHA-256 or its TBS
// hash) as known-good, resolves the active alerts about it through sink
// and audits the action. It returns how many alerts it resolved. The
// watch checks the mark before reporting a certificate.
func MarkKnownGood(ctx context.Context, st store.Store, sink watch.Sink, fingerprint, actor, note string, now time.Time) (int, error) {
	rec, _ := json.Marshal(map[string]string{"actor": actor, "note": note, "at": now.UTC().Format(time.RFC3339)})
	if err := st.PutState(ctx, watchName, "known-good/"+fingerprint, rec); err != nil {
		return 0, err
	}
	alerts, err := st.ListAlerts(ctx, store.AlertQuery{Watch: watchName, States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range alerts {
		if a.Rule != string(RuleCertificate) || (a.Evidence["sha256"] != fingerprint && a.Evidence["tbs_sha256"] != fingerprint) {
			continue
		}
		// Its other form (precertificate or certificate) is known-good too.
		if tbs := a.Evidence["tbs_sha256"]; tbs != "" && tbs != fingerprint {
			if err := st.PutState(ctx, watchName, "known-good/"+tbs, rec); err != nil {
				return n, err
			}
		}
		err := sink.Emit(ctx, vigie.Finding{Watch: watchName, Rule: a.Rule, Subject: a.Subject, Key: a.Key, Resolved: true, Time: now,
			Summary: fmt.Sprintf("certificate %s marked known-good by %s", fingerprint, actor), Evidence: map[string]string{"note": note}})
		if err != nil {
			return n, err
		}
		n++
	}
	_, err = st.AddAudit(ctx, vigie.AuditEntry{Time: now, Actor: actor, Action: "ct.known-good", Target: fingerprint, Detail: note,
		Result: fmt.Sprintf("ok, %d alert(s) resolved", n)})
	return n, err
}
