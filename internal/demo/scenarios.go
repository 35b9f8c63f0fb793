// Package demo holds the four incidents vigie exists for as scenario
// data, in one place, and loads them into a store through the real alert
// pipeline, so `vigie demo` shows a newcomer what the dashboard looks like
// on a bad day. Times are relative to now: the demo always looks live.
package demo

import (
	"fmt"
	"math"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/vigie"
)

// Scenario is one incident: the findings the detectors report and the
// time series the watches record while it happens.
type Scenario struct {
	Name  string
	Title string
	// Findings returns what the detectors emit, in any order.
	Findings func(now time.Time) []vigie.Finding
	// Samples returns the graph points of the last week.
	Samples func(now time.Time) []vigie.Sample
}

// Scenarios are the four incidents of the design brief.
func Scenarios() []Scenario {
	return []Scenario{stolenPassword(), drupalRelay(), nsHijack(), certInWindow()}
}

const sampleStep = 5 * time.Minute

// every returns the sample times of the last week, oldest first.
func every(now time.Time) []time.Time {
	var out []time.Time
	for t := now.Add(-7 * 24 * time.Hour).Truncate(sampleStep); !t.After(now); t = t.Add(sampleStep) {
		out = append(out, t)
	}
	return out
}

// daily is a quiet daily rhythm: low at night, higher in the afternoon.
func daily(t time.Time, base, amp float64) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return math.Round(base + amp*(1+math.Sin((h-9)/24*2*math.Pi))/2)
}

// 1. A member's stolen password sends about a mail a second through
// authenticated submission (club1, 2024).
const (
	stolenAccount = "marie@club-asso.example"
	serverIP      = "198.51.100.25"
)

func stolenPassword() Scenario {
	group := alert.AccountGroup(stolenAccount)
	start := func(now time.Time) time.Time { return now.Add(-6 * time.Hour).Truncate(time.Minute) }
	return Scenario{
		Name:  "stolen-password",
		Title: "A stolen mail password sends a mail a second",
		Findings: func(now time.Time) []vigie.Finding {
			s := start(now)
			var out []vigie.Finding
			for t, i := s.Add(10*time.Minute), 0; t.Before(now); t, i = t.Add(15*time.Minute), i+1 {
				sev := vigie.SeverityWarning
				if i >= 2 {
					sev = vigie.SeverityCritical
				}
				sent := int(t.Sub(s).Seconds())
				out = append(out, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: stolenAccount, Group: group,
					Severity: sev, Time: t,
					Summary: fmt.Sprintf("%s sent %d mails since %s, about 1 a second (habit: 12 a day)", stolenAccount, sent, s.UTC().Format("15:04")),
					Evidence: map[string]string{"account": stolenAccount, "sent": fmt.Sprint(sent), "rate_per_min": "60",
						"baseline_per_day": "12", "client_ips": "185.220.101.7, 45.141.84.20, 103.251.167.10 and 34 more",
						"sample_recipients": "k.wong@hotmail.example, lotto.winner@outlook.example", "source": "submission (SASL)"}})
			}
			out = append(out,
				vigie.Finding{Watch: "mail", Rule: "sasl-many-ips", Subject: stolenAccount, Group: group, Severity: vigie.SeverityWarning,
					Time: s.Add(40 * time.Minute), Summary: stolenAccount + " logged in from 37 addresses in one hour (habit: 2)",
					Evidence: map[string]string{"account": stolenAccount, "addresses": "37", "countries": "NL, RU, VN, BR, US"}},
				vigie.Finding{Watch: "mail", Rule: "queue-growth", Subject: "deferred", Group: group, Severity: vigie.SeverityCritical,
					Time: s.Add(2 * time.Hour), Summary: "deferred queue at 1850 messages and growing (usual: under 20)",
					Evidence: map[string]string{"queue": "deferred", "messages": "1850", "usual_max": "20"}},
				vigie.Finding{Watch: "mail", Rule: "blocklist-bounce", Subject: serverIP, Key: vigie.BlocklistKey(serverIP, "outlook.com"),
					Group: group, Severity: vigie.SeverityCritical, Time: s.Add(4 * time.Hour),
					Summary: "Microsoft refuses mail from " + serverIP + " (S3150): outlook.com and hotmail.com bounce",
					Evidence: map[string]string{"ip": serverIP, "list": "outlook.com", "dsn": "5.7.1",
						"reply":   "550 5.7.1 Unfortunately, messages from [" + serverIP + "] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
						"delist":  "https://sender.office.com/ (Microsoft delist portal)",
						"bounces": "412"}},
			)
			return out
		},
		Samples: func(now time.Time) []vigie.Sample {
			s := start(now)
			var out []vigie.Sample
			for _, t := range every(now) {
				active, deferred, sent, blocked := daily(t, 0, 4), daily(t, 2, 6), 0.0, 0.0
				if t.Hour()%6 == 2 && t.Minute() < 10 {
					sent = 1
				}
				if !t.Before(s) {
					m := t.Sub(s).Minutes()
					active, deferred, sent = 40+float64(int(m)%7), math.Round(2+m*5.1), 60
					if t.After(s.Add(4 * time.Hour)) {
						blocked = 18
					}
				}
				out = append(out,
					vigie.Sample{Series: "mail_queue", Subject: "active", Time: t, Value: active},
					vigie.Sample{Series: "mail_queue", Subject: "deferred", Time: t, Value: deferred},
					vigie.Sample{Series: "mail_account_sent", Subject: stolenAccount, Time: t, Value: sent},
					vigie.Sample{Series: "mail_bounced", Subject: "blocklisted", Time: t, Value: blocked},
				)
			}
			return out
		},
	}
}

// 2. An outdated Drupal turned spam relay: mail injected locally through
// pickup by the site's uid, not through authenticated SMTP.
const (
	relayUser = "asso-home"
	relayRoot = "/var/www/asso-home/web"
	relayHost = "asso-home.example"
)

func drupalRelay() Scenario {
	group := "site/" + relayUser
	return Scenario{
		Name:  "drupal-relay",
		Title: "An outdated Drupal relays spam through pickup",
		Findings: func(now time.Time) []vigie.Finding {
			exploit := now.Add(-3 * time.Hour).Truncate(time.Minute)
			out := []vigie.Finding{
				{Watch: "web", Rule: "cms-vulnerable", Subject: relayRoot, Group: group, Severity: vigie.SeverityWarning,
					Time:    now.Add(-20 * time.Hour).Truncate(time.Minute),
					Summary: "Drupal 7.57 in " + relayRoot + " is vulnerable (SA-CORE-2018-002, Drupalgeddon2)",
					Evidence: map[string]string{"cms": "drupal", "version": "7.57", "latest": "7.103", "advisory": "SA-CORE-2018-002",
						"owner": relayUser, "host": relayHost, "core_changed": "2018-02-21"}},
				{Watch: "web", Rule: "exploit-request", Subject: relayHost + "/user/register", Group: group, Severity: vigie.SeverityCritical,
					Time: exploit, Summary: "Drupalgeddon2 exploitation attempt answered 200 on " + relayHost,
					Evidence: map[string]string{"path": "/user/register?element_parents=account/mail/%23value&ajax_form=1&_wrapper_format=drupal_ajax",
						"method": "POST", "status": "200", "client": "45.95.147.236", "user_agent": "python-requests/2.31"}},
			}
			for t, i := exploit.Add(12*time.Minute), 0; t.Before(now); t, i = t.Add(10*time.Minute), i+1 {
				out = append(out, vigie.Finding{Watch: "mail", Rule: "uid-volume", Subject: relayUser, Group: group, Severity: vigie.SeverityCritical,
					Time: t, Summary: fmt.Sprintf("uid 1004 (%s) injected %d mails through pickup (habit: 3 a day)", relayUser, 80*(i+1)*10),
					Evidence: map[string]string{"uid": "1004", "user": relayUser, "source": "pickup (sendmail)", "sent": fmt.Sprint(80 * (i + 1) * 10),
						"script": relayRoot + "/sites/default/files/.cache.php"}})
			}
			out = append(out, vigie.Finding{Watch: "mail", Rule: "bounce-storm", Subject: "MAILER-DAEMON", Group: group, Severity: vigie.SeverityWarning,
				Time: exploit.Add(50 * time.Minute), Summary: "640 bounces in 30 min for mail from " + relayHost,
				Evidence: map[string]string{"bounces": "640", "sender_domain": relayHost}})
			return out
		},
		Samples: func(now time.Time) []vigie.Sample {
			exploit := now.Add(-3 * time.Hour)
			var out []vigie.Sample
			for _, t := range every(now) {
				sent, reqs := 0.0, daily(t, 0, 2)
				if t.After(exploit.Add(10 * time.Minute)) {
					sent = 80
				}
				if t.After(exploit.Add(-20*time.Minute)) && t.Before(exploit.Add(20*time.Minute)) {
					reqs = 140
				}
				out = append(out, vigie.Sample{Series: "mail_uid_sent", Subject: relayUser, Time: t, Value: sent},
					vigie.Sample{Series: "web_requests", Subject: relayHost + "/user/register", Time: t, Value: reqs})
			}
			return out
		},
	}
}

// 3. A registrar's partner portal is used to switch the NS of 751 domains
// across 34 TLDs in 100 minutes (Gandi, 2017).
var hijackTLDs = []string{"fr", "com", "net", "org", "eu", "de", "be", "ch", "it", "es", "nl", "co.uk", "io", "info", "biz", "me", "tv",
	"cc", "pl", "pt", "at", "se", "dk", "fi", "no", "lu", "ca", "us", "re", "pm", "tf", "wf", "yt", "paris"}

const hijackedDomains = 751

// HijackedDomain is the i-th domain of the NS hijack scenario.
func HijackedDomain(i int) string {
	return fmt.Sprintf("client-%03d.%s", i, hijackTLDs[i%len(hijackTLDs)])
}

func hijackWindow(now time.Time) (time.Time, time.Time) {
	start := now.Add(-5 * time.Hour).Truncate(time.Minute)
	return start, start.Add(100 * time.Minute)
}

func nsHijack() Scenario {
	const group = "dns/delegation/ns1.rogue-dns.example"
	return Scenario{
		Name:  "ns-hijack",
		Title: "751 domains' NS switched at the registries",
		Findings: func(now time.Time) []vigie.Finding {
			start, end := hijackWindow(now)
			step := end.Sub(start) / hijackedDomains
			out := make([]vigie.Finding, 0, hijackedDomains+1)
			for i := range hijackedDomains {
				d := HijackedDomain(i)
				out = append(out, vigie.Finding{Watch: "dns", Rule: "ns-changed", Subject: d, Group: group, Severity: vigie.SeverityCritical,
					Time: start.Add(time.Duration(i) * step), Summary: "NS of " + d + " changed at the registry to ns1/ns2.rogue-dns.example",
					Evidence: map[string]string{"expected": "ns1.registrar.example. ns2.registrar.example. ns3.registrar.example.",
						"observed": "ns1.rogue-dns.example. ns2.rogue-dns.example.", "parent": "." + hijackTLDs[i%len(hijackTLDs)],
						"record": "NS"}})
			}
			d := HijackedDomain(42)
			out = append(out, vigie.Finding{Watch: "dns", Rule: "records-changed", Subject: d, Key: "dns/records/" + d, Group: group,
				Severity: vigie.SeverityCritical, Time: start.Add(45 * time.Minute),
				Summary: "A, MX and SPF of " + d + " now point at the rogue servers' hosts",
				Evidence: map[string]string{"A expected": "192.0.2.10", "A observed": "203.0.113.66",
					"MX expected": "10 mx.registrar.example.", "MX observed": "10 mx.rogue-dns.example.",
					"SPF expected": "v=spf1 mx -all", "SPF observed": "v=spf1 +all"}})
			return out
		},
		Samples: func(now time.Time) []vigie.Sample {
			start, end := hijackWindow(now)
			var out []vigie.Sample
			for _, t := range every(now) {
				v := 0.0
				switch {
				case !t.Before(end):
					v = hijackedDomains
				case !t.Before(start):
					v = math.Round(hijackedDomains * t.Sub(start).Seconds() / end.Sub(start).Seconds())
				}
				out = append(out, vigie.Sample{Series: "dns_drift_domains", Subject: "", Time: t, Value: v},
					vigie.Sample{Series: "dns_sweep_seconds", Subject: "delegation", Time: t, Value: 38 + float64(t.Minute()%5)})
			}
			return out
		},
	}
}

// 4. A certificate issued for a hijacked domain inside the window.
func certInWindow() Scenario {
	return Scenario{
		Name:  "cert-in-window",
		Title: "A certificate issued during the hijack window",
		Findings: func(now time.Time) []vigie.Finding {
			start, _ := hijackWindow(now)
			d := HijackedDomain(42)
			issued := start.Add(52 * time.Minute)
			return []vigie.Finding{{Watch: "ct", Rule: "cert-in-window", Subject: d, Severity: vigie.SeverityCritical, Time: issued.Add(2 * time.Minute),
				Summary: "certificate for " + d + " issued by Let's Encrypt while its NS were changed",
				Evidence: map[string]string{"dns_names": d + ", www." + d, "issuer": "C=US, O=Let's Encrypt, CN=R11",
					"not_before": issued.UTC().Format(time.RFC3339), "serial": "04:a1:7c:33:9e:0b:52:d4:18:6f:21:aa:90:3e:5c:71:02:be",
					"log": "Google 'Argon2026h1'", "index": "1184022913",
					"sha256": "9f2c4e1b7a5d3c08e6f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3"}}}
		},
		Samples: func(now time.Time) []vigie.Sample {
			start, _ := hijackWindow(now)
			var out []vigie.Sample
			for _, t := range every(now) {
				v := 0.0
				if t.Sub(start) >= 50*time.Minute && t.Sub(start) < 60*time.Minute {
					v = 1
				}
				out = append(out, vigie.Sample{Series: "ct_matches", Subject: "", Time: t, Value: v})
			}
			return out
		},
	}
}
