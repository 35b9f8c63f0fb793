package webapps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
)

// DefaultAccessLogs are the access logs the web watch follows when
// web.access_logs is empty and they exist.
var DefaultAccessLogs = []string{"/var/log/nginx/access.log", "/var/log/apache2/access.log",
	"/var/log/apache2/other_vhosts_access.log", "/var/log/httpd/access_log"}

// Doctor says which web roots and access logs the web watch would read
// here, and whether the daemon's account can read them.
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	c := env.Config.Web
	const w = string(Name)
	if c.Enabled == config.SwitchOff {
		return []doctor.Check{{Watch: w, Item: "web roots", Status: doctor.Off, Found: "web.enabled: off"}}
	}
	missing := doctor.Off
	if c.Enabled == config.SwitchOn {
		missing = doctor.Fail
	}
	var out []doctor.Check
	var found, absent []string
	for _, r := range c.Roots {
		fi, err := os.Stat(r)
		if err != nil || !fi.IsDir() {
			absent = append(absent, r)
			continue
		}
		if err := env.Account.CanRead(r); err != nil {
			out = append(out, doctor.Check{Watch: w, Item: "web root", Status: doctor.Fail, Found: err.Error(),
				Fix: fmt.Sprintf("let the %s user read the sites (it only reads: a group with read access, or ACLs: setfacl -R -m u:%s:rX %s)", env.Account.Name, env.Account.Name, r)})
			continue
		}
		entries, _ := os.ReadDir(r)
		found = append(found, fmt.Sprintf("%s (%d entries)", r, len(entries)))
	}
	switch {
	case len(found) > 0:
		ch := doctor.Check{Watch: w, Item: "web roots", Status: doctor.OK, Found: strings.Join(found, ", ")}
		if len(absent) > 0 {
			ch.Found += "; absent: " + strings.Join(absent, ", ")
		}
		out = append(out, ch)
	case len(out) == 0:
		out = append(out, doctor.Check{Watch: w, Item: "web roots", Status: missing, Found: "none of " + strings.Join(c.Roots, ", ") + " exists",
			Fix: "set web.roots to the directories holding the sites (e.g. /var/www, /home/*/public_html parents)"})
	}

	var logs []string
	if len(c.AccessLogs) > 0 {
		for _, l := range c.AccessLogs {
			logs = append(logs, l.Path)
		}
	} else {
		for _, p := range DefaultAccessLogs {
			if _, err := os.Stat(p); err == nil {
				logs = append(logs, p)
			}
		}
	}
	if len(logs) == 0 {
		out = append(out, doctor.Check{Watch: w, Item: "access logs", Status: doctor.Off,
			Found: "none of the usual nginx and Apache access logs exists (" + filepath.Dir(DefaultAccessLogs[0]) + ", ...)",
			Fix:   "list each site's log in web.access_logs (path, and site: its document root)"})
		return out
	}
	var readable []string
	for _, l := range logs {
		if err := env.Account.CanRead(l); err != nil {
			if os.IsNotExist(err) {
				out = append(out, doctor.Check{Watch: w, Item: "access log", Status: doctor.Warn, Found: l + ": named in web.access_logs, but not there",
					Fix: "correct its path in web.access_logs, or remove it (nginx: access_log in each server block; Apache: CustomLog)"})
				continue
			}
			out = append(out, doctor.Check{Watch: w, Item: "access log", Status: doctor.Fail, Found: err.Error(),
				Fix: fmt.Sprintf("the unit's adm group reads Debian's logs; make %s readable by adm", l)})
			continue
		}
		readable = append(readable, l)
	}
	if len(readable) > 0 {
		out = append(out, doctor.Check{Watch: w, Item: "access logs", Status: doctor.OK, Found: strings.Join(readable, ", ")})
	}
	return out
}
