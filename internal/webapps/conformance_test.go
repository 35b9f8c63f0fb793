package webapps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		for _, p := range defaultAccessLogs() {
			if _, err := os.Stat(p); err == nil {
				t.Skipf("%s exists on this machine: the web watch has something to watch under auto", p)
			}
		}
		cfg := config.Default()
		cfg.Web.Roots = []string{t.TempDir() + "/www"}
		watchtest.Absent(t, Descriptor(), cfg)
	})
	t.Run("run", func(t *testing.T) {
		// The test sites, scanned by the watch as the daemon runs it, and
		// the access log of the Drupal 7.57 site, where a Drupalgeddon 2
		// request (CVE-2018-7600) arrives every 50 ms while it runs.
		root := copySites(t, time.Now().Add(-24*time.Hour))
		logPath := filepath.Join(t.TempDir(), "access.log")
		if err := os.WriteFile(logPath, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Web.Enabled = config.SwitchOn
		cfg.Web.Roots = []string{root}
		cfg.Web.AccessLogs = []config.AccessLog{{Path: logPath, Site: filepath.Join(root, "drupal7")}}
		watchtest.RunWith(t, Descriptor(), cfg, 20*time.Second, func(ctx context.Context, _ store.Store) {
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			for ctx.Err() == nil {
				fmt.Fprintf(f, "203.0.113.9 - - [%s] \"POST /user/register?element_parents=account/mail/%%23value&ajax_form=1&_wrapper_format=drupal_ajax HTTP/1.1\" 200 318 \"-\" \"python-requests/2.18.4\"\n",
					time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"))
				time.Sleep(50 * time.Millisecond)
			}
		})
	})
}
