package mail_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/vigie"
)

// A remote refusal seen by the mail watch carries the blocklist data's
// delisting steps and is keyed as the blocklist watch keys the same list,
// so the two feed one alert: Microsoft (no DNSBL to query) by its entry,
// a Spamhaus component zone by the list the blocklist watch queries.
func TestRemoteRefusalCarriesTheDelistingSteps(t *testing.T) {
	var got []vigie.Finding
	e := mail.NewEngine(mail.EngineOptions{Config: config.Default().Mail, Emit: func(f vigie.Finding) { got = append(got, f) },
		Delisting: mail.Delisting(config.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))})
	t0 := time.Date(2024, 9, 30, 9, 0, 0, 0, time.UTC)
	line := func(i int, reply string) string {
		return t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339) +
			" mx postfix/smtp[1]: " + []string{"A1B2C3D4E5", "B1B2C3D4E5"}[i] + ": to=<x@outlook.com>, relay=mx[192.0.2.10]:25, dsn=5.7.1, status=bounced (" + reply + ")"
	}
	e.Line(line(0, "host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). (in reply to MAIL FROM command)"))
	e.Line(line(1, "host mx.example.com[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using sbl.spamhaus.org (in reply to RCPT TO command)"))
	if len(got) != 2 {
		t.Fatalf("findings: %+v", got)
	}
	ms, sh := got[0], got[1]
	if ms.Key != vigie.BlocklistKey("198.51.100.7", "microsoft") || ms.Evidence["delist_url"] == "" || ms.Evidence["delist_steps"] == "" {
		t.Errorf("Microsoft refusal: key %q, evidence %v", ms.Key, ms.Evidence)
	}
	if sh.Key != vigie.BlocklistKey("198.51.100.7", "zen.spamhaus.org") || sh.Evidence["delist_url"] == "" {
		t.Errorf("Spamhaus refusal: key %q, evidence %v", sh.Key, sh.Evidence)
	}
	if ms.Evidence["code"] != "S3150" || ms.Evidence["provider"] != "microsoft" {
		t.Errorf("the refusal's own evidence was lost: %v", ms.Evidence)
	}
}
