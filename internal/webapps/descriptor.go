package webapps

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the web watch's name.
const Name watch.Name = "web"

// Descriptor is the web watch as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Web", Build: Build, Doctor: Doctor,
		Series: []watch.Series{
			{Name: SeriesInstalls, Title: "Installs by status", Unit: "installs",
				Subjects: []string{"vulnerable", "end-of-life", "abandoned", "outdated", "current"}},
		},
		Panels:   []watch.Panel{dataPanel(), ownersPanel()},
		Report:   report(),
		Grouping: &watch.Grouping{Key: watch.UIDOrSiteKey(EvidenceUID)},
		Replay: func(cfg *config.Config, _ *slog.Logger, emit func(vigie.Finding)) (watch.LogSet, error) {
			o := LogOptionsFromConfig(cfg.Web)
			o.Log = "replay"
			return NewReplaySet(o, emit), nil
		},
	}
}

// defaultAccessLogs are looked for when web.access_logs is empty.
func defaultAccessLogs() []string {
	return []string{"/var/log/nginx/access.log", "/var/log/apache2/access.log",
		"/var/log/apache2/other_vhosts_access.log", "/var/log/httpd/access_log"}
}

// Build turns the web: section into the web watch. Under auto it runs
// when a root or an access log exists.
func Build(d watch.Deps) ([]watch.Watch, error) {
	c := d.Config.Web
	var roots []string
	for _, r := range c.Roots {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			roots = append(roots, r)
		} else if c.Enabled == "on" {
			roots = append(roots, r) // on: report it as unreadable
		}
	}
	var logs []LogSource
	for _, l := range c.AccessLogs {
		logs = append(logs, LogSource{Path: l.Path, Site: l.Site})
	}
	if len(c.AccessLogs) == 0 {
		for _, p := range defaultAccessLogs() {
			if _, err := os.Stat(p); err == nil {
				logs = append(logs, LogSource{Path: p})
			}
		}
	}
	if !c.Enabled.On(len(roots) > 0 || len(logs) > 0) {
		why := "web watch off: no web root or access log on this machine (set web.roots or web.access_logs)"
		if c.Enabled == config.SwitchOff {
			why = "web watch off: web.enabled is off"
		}
		d.Logger.Info(why, "component", string(Name))
		return nil, nil
	}
	dataPath := c.DataFile
	if dataPath == "" {
		dataPath = filepath.Join(d.DataDir, DataFileName)
	}
	if _, err := LoadData(dataPath); err != nil {
		return nil, err
	}
	return []watch.Watch{NewWatch(WatchOptions{
		Roots: roots,
		Scan: ScanOptions{MaxDepth: c.MaxDepth, NestedDepth: c.NestedDepth, MaxDirs: c.MaxDirs,
			AbandonedAfter: c.AbandonedAfter},
		ScanInterval: c.ScanInterval, CheckInterval: c.CheckInterval, DataPath: dataPath, Logs: logs,
		Buckets: BucketsFromConfig(c.Buckets), Distributed: DistributedFromConfig(c.Distributed),
		Repeat: c.Repeat, Sink: d.Sink, State: d.Store, Series: d.Store, Logger: d.Logger.With("component", string(Name)), Metrics: d.Metrics, Now: d.Now,
	})}, nil
}
