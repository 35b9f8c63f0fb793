package app

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
)

// Under policy.enabled: auto, starting nothing is said in the log, with
// the reason and the directory looked at.
func TestPolicyAutoSaysWhyItStartsNothing(t *testing.T) {
	for _, c := range []struct {
		name, mainCF, want string
	}{
		{"no Postfix in the directory", "", "no main.cf in "},
		{"Postfix asks no policy server", "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n", "asks no policy server: add the lines 'vigie postfix-config' prints"},
		{"Postfix asks another policy server", "smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:12525\n", "for none of policy.listen [127.0.0.1:10040]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.mainCF != "" {
				os.WriteFile(filepath.Join(dir, "main.cf"), []byte(c.mainCF), 0o644)
			}
			cfg := config.Default()
			cfg.Postfix.ConfigDir = dir
			var log bytes.Buffer
			ws, err := buildPolicy(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(&log, nil)), Metrics: metrics.New(prometheus.NewRegistry())})
			if err != nil || len(ws) != 0 {
				t.Fatalf("built %v, %v", ws, err)
			}
			if !strings.Contains(log.String(), "policy server off (policy.enabled: auto): ") || !strings.Contains(log.String(), c.want) ||
				!strings.Contains(log.String(), "postfix_config_dir="+dir) {
				t.Errorf("log %q does not say why (%q)", log.String(), c.want)
			}
		})
	}
	// Postfix in postfix.config_dir asks vigie: the server is built.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040\n"), 0o644)
	if ok, why := PostfixAsksVigie(dir, []string{"127.0.0.1:10040"}); !ok || !strings.Contains(why, "main.cf names 127.0.0.1:10040") {
		t.Errorf("asks vigie: %v %q", ok, why)
	}
}
