package mail

import (
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
)

// startPostfixLab starts a real Postfix (and Dovecot for SASL): smtpd for
// local network clients and a submission port where SASL is required,
// relaying to a sink that answers like Microsoft's blocklist for
// outlook.com recipients and defers recipients at slow.example.
func startPostfixLab(t *testing.T, users map[string]string) *postfixtest.Lab {
	t.Helper()
	testutil.RequireProgram(t, "swaks") // the lab sends with it
	return postfixtest.Start(t, postfixtest.Options{
		Users:      users,
		Submission: true,
		Rcpt: func(cmd string) string {
			switch {
			case strings.Contains(cmd, "@OUTLOOK.COM"):
				return "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150)."
			case strings.Contains(cmd, "@SLOW.EXAMPLE"):
				return "451 4.3.0 try again later"
			}
			return ""
		},
		// Local network clients may relay on the smtpd port, and
		// deferred mail stays in the queue for the watch to see.
		Main: []string{
			"mynetworks = 127.0.0.0/8",
			"smtpd_sasl_auth_enable = no",
			"smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination",
			"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
			"bounce_queue_lifetime = 1h",
			"maximal_queue_lifetime = 1h",
			"minimal_backoff_time = 300s",
			"queue_run_delay = 300s",
			"default_destination_concurrency_limit = 5",
		},
	})
}
