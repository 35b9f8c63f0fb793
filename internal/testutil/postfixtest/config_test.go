package postfixtest

import (
	"strings"
	"testing"
)

// Postfix warns about, and takes the last of, a name set twice: the
// options' lines replace the base ones in place, and every name appears
// once.
func TestMainCF(t *testing.T) {
	tests := []struct {
		name      string
		o         Options
		want, not []string
	}{
		{"base", Options{},
			[]string{"relayhost = [127.0.0.1]:2525", "smtpd_sasl_path = /sock", "maillog_file = /d/maillog"},
			[]string{"check_policy_service", "header_checks"}},
		{"override and add", Options{Main: []string{"queue_run_delay = 1s", "myhostname = other.test"}},
			[]string{"queue_run_delay = 1s", "myhostname = other.test"},
			[]string{"myhostname = mx.vigie.test"}},
		{"policy and header checks", Options{PolicyPort: 10040, HeaderChecks: "/x/ HOLD\n"},
			[]string{"smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040",
				"smtpd_policy_service_default_action = DUNNO", "header_checks = regexp:/d/header_checks"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := mainCF(tt.o, "/d", "/sock", 2525)
			lines := strings.Split(strings.TrimSpace(cf), "\n")
			for _, w := range tt.want {
				if !strings.Contains(cf, w+"\n") {
					t.Errorf("missing %q in\n%s", w, cf)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(cf, n) {
					t.Errorf("unexpected %q in\n%s", n, cf)
				}
			}
			seen := map[string]bool{}
			for _, l := range lines {
				if seen[paramName(l)] {
					t.Errorf("%s set twice", paramName(l))
				}
				seen[paramName(l)] = true
			}
		})
	}
}

func TestMasterCFSubmission(t *testing.T) {
	without, with := masterCF(2525, 0), masterCF(2525, 2587)
	if strings.Contains(without, "postfix/submission") || !strings.HasPrefix(without, "127.0.0.1:2525 inet") {
		t.Errorf("without submission:\n%s", without)
	}
	if !strings.Contains(with, "127.0.0.1:2587 inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n  -o smtpd_sasl_auth_enable=yes") {
		t.Errorf("with submission:\n%s", with)
	}
}
