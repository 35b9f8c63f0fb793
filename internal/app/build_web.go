package app

import (
	"os"
	"path/filepath"

	"github.com/vigie/vigie/internal/webapps"
)

// buildWeb turns the web: section into the web watch. Under auto it runs
// when a root or an access log exists.
func buildWeb(d Deps) ([]Watch, error) {
	c := d.Config.Web
	var roots []string
	for _, r := range c.Roots {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			roots = append(roots, r)
		} else if c.Enabled == "on" {
			roots = append(roots, r) // on: report it as unreadable
		}
	}
	var logs []webapps.LogSource
	for _, l := range c.AccessLogs {
		logs = append(logs, webapps.LogSource{Path: l.Path, Site: l.Site})
	}
	if len(c.AccessLogs) == 0 {
		for _, p := range []string{"/var/log/nginx/access.log", "/var/log/apache2/access.log",
			"/var/log/apache2/other_vhosts_access.log", "/var/log/httpd/access_log"} {
			if _, err := os.Stat(p); err == nil {
				logs = append(logs, webapps.LogSource{Path: p})
			}
		}
	}
	if !c.Enabled.On(len(roots) > 0 || len(logs) > 0) {
		return nil, nil
	}
	dataPath := c.DataFile
	if dataPath == "" {
		dataPath = filepath.Join(d.DataDir, webapps.DataFileName)
	}
	if _, err := webapps.LoadData(dataPath); err != nil {
		return nil, err
	}
	return []Watch{webapps.NewWatch(webapps.WatchOptions{
		Roots: roots,
		Scan: webapps.ScanOptions{MaxDepth: c.MaxDepth, NestedDepth: c.NestedDepth, MaxDirs: c.MaxDirs,
			AbandonedAfter: c.AbandonedAfter},
		ScanInterval: c.ScanInterval, CheckInterval: c.CheckInterval, DataPath: dataPath, Logs: logs,
		Buckets: webapps.BucketsFromConfig(c.Buckets), Distributed: webapps.DistributedFromConfig(c.Distributed),
		Repeat: c.Repeat, Sink: d.Sink, State: d.Store, Series: d.Store, Logger: d.Logger.With("component", "web"), Metrics: d.Metrics, Now: d.Now,
	})}, nil
}
