package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/webapps"
)

func webCommand() *command {
	return &command{name: "web", summary: "CMS installs on disk and their version data", sub: []*command{
		{name: "scan", summary: "list the CMS installs under directories, with their status", run: webScan},
		{name: "update-data", summary: "replace the version data from a file or URL", run: webUpdateData},
		{name: "data", summary: "show the version data in use and its age", run: webData},
	}}
}

// webDataPath is where update-data writes and where scan reads: --data-file,
// else web-versions.json in the data directory.
func webDataPath(env *Env, flagPath string) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	dir, err := config.DataDir(env.data, env.Getenv, config.Default())
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, webapps.DataFileName), nil
}

func webScan(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie web scan", "[--json] [--max-depth N] DIR...", `
Finds the CMS installs (WordPress, Drupal, Joomla, Nextcloud, phpBB,
DokuWiki, MediaWiki, PrestaShop, Roundcube, TYPO3, Magento, Matomo,
phpMyAdmin) under each DIR from their version files alone, and rates each
against the version data: current, outdated, end-of-life, vulnerable (with
advisory ids) or abandoned. Symbolic links below DIR are not followed.

Plugins, themes and modules with advisories are listed under their
install. With --json, prints one JSON object per install and line (path,
app, version, status, advisories, owner, extensions, and more), then
nothing else; what
could not be read goes to stderr. Exit status 1 when an install is
vulnerable or end-of-life, 0 otherwise.`)
	asJSON := f.Bool("json", false, "one JSON object per install and line")
	depth := f.Int("max-depth", 4, "how far below each DIR installs are looked for")
	dataFile := f.String("data-file", "", "version data (default: what update-data wrote, else the built-in data)")
	abandoned := f.Duration("abandoned-after", config.Default().Web.AbandonedAfter, "not current and unchanged this long: abandoned (0: never)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() == 0 {
		return f.usageError("expected at least one DIR")
	}
	path, err := webDataPath(env, *dataFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web scan: %v\n", err)
		return exitUsage
	}
	data, err := webapps.LoadData(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web scan: %v\n", err)
		return exitFail
	}
	bad := false
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(true)
	stats, err := webapps.Scan(ctx, f.Args(), webapps.ScanOptions{Data: data, MaxDepth: *depth, NestedDepth: 2,
		AbandonedAfter: *abandoned}, func(in *webapps.Install) {
		if in.Status == webapps.StatusVulnerable || in.Status == webapps.StatusEOL {
			bad = true
		}
		if *asJSON {
			enc.Encode(in)
			return
		}
		line := fmt.Sprintf("%-12s %-10s %-12s %-8s %s", in.Status, in.Name, in.Version, in.Owner, in.Path)
		if len(in.Advisories) > 0 {
			line += "  " + strings.Join(in.Advisories, ",")
		}
		if in.Abandoned && in.Status != webapps.StatusAbandoned {
			line += "  (abandoned)"
		}
		for _, e := range in.VulnerableExtensions() {
			line += "\n    vulnerable " + e
		}
		for _, s := range in.ReadableSecrets {
			line += "\n    readable by every user: " + s
		}
		// Paths and versions come from users' trees: %q-style escaping
		// keeps control characters off the terminal.
		fmt.Fprintln(env.Stdout, escapeTerminal(line))
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web scan: %v\n", err)
		return exitFail
	}
	for _, e := range stats.Samples {
		fmt.Fprintf(env.Stderr, "vigie web scan: cannot read %s: %s\n", escapeTerminal(e.Path), e.Err)
	}
	if stats.Errors > len(stats.Samples) {
		fmt.Fprintf(env.Stderr, "vigie web scan: %d more unreadable paths\n", stats.Errors-len(stats.Samples))
	}
	if stats.Truncated {
		fmt.Fprintf(env.Stderr, "vigie web scan: stopped after %d directories\n", stats.Dirs)
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "%d installs in %d directories (%s); version data of %s\n",
			stats.Installs, stats.Dirs, stats.Duration.Round(time.Millisecond), data.Date)
	}
	if bad {
		return exitFail
	}
	return exitOK
}

// escapeTerminal replaces control characters, which a hostile directory
// name could use to rewrite the terminal.
func escapeTerminal(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func webUpdateData(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie web update-data", "[--data-file FILE] [--wordfence FEED] [FILE|URL]", `
Replaces the version data (release cycles, end-of-life dates, latest
versions, advisories of cores, plugins, themes and modules) with FILE or
the document at URL (http or https), after checking it: a file that does
not parse, lacks an app or has a bad version range is refused and the
current data stays. The running daemon picks the new data up at its next
check.

With --wordfence FEED (a file or URL of the Wordfence Intelligence v2
vulnerability feed, production or scanner), the WordPress plugin and theme
advisories of the feed replace those of the data (FILE|URL when given,
else the current data); each keeps its record's link, as the feed's
licence asks.`)
	dataFile := f.String("data-file", "", "where to write (default: web-versions.json in the data directory)")
	wordfence := f.String("wordfence", "", "import the plugin and theme advisories of this Wordfence v2 feed (file or URL)")
	timeout := f.Duration("timeout", 30*time.Second, "give up fetching a URL after this long")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() > 1 || f.NArg() == 0 && *wordfence == "" {
		return f.usageError("expected one FILE or URL, or --wordfence FEED")
	}
	dest, err := webDataPath(env, *dataFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web update-data: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *wordfence != "" {
		var base *webapps.Data
		if f.NArg() == 1 {
			base, _, err = webapps.FetchData(ctx, f.Arg(0), &http.Client{Timeout: *timeout})
		} else {
			base, err = webapps.LoadData(dest)
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie web update-data: %v; the current data stays\n", err)
			return exitFail
		}
		d, skipped, err := webapps.UpdateDataWordfence(ctx, base, *wordfence, dest, &http.Client{Timeout: *timeout})
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie web update-data: %v; the current data stays\n", err)
			return exitFail
		}
		n := 0
		for _, projects := range d.Extensions {
			n += len(projects)
		}
		fmt.Fprintf(env.Stdout, "%s: version data of %s (%d apps, advisories on %d plugins, themes and modules; %d feed entries skipped) with %s\n",
			dest, d.Date, len(d.Apps), n, skipped, *wordfence)
		return exitOK
	}
	d, err := webapps.UpdateData(ctx, f.Arg(0), dest, &http.Client{Timeout: *timeout})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web update-data: %v; the current data stays\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "%s: version data of %s (%d apps) from %s\n", dest, d.Date, len(d.Apps), f.Arg(0))
	return exitOK
}

func webData(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie web data", "[--data-file FILE]", `
Shows which version data scans use (the file update-data wrote, else the
data built into vigie), its date, age and source.`)
	dataFile := f.String("data-file", "", "version data file (default: web-versions.json in the data directory)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	path, err := webDataPath(env, *dataFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web data: %v\n", err)
		return exitUsage
	}
	d, err := webapps.LoadData(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie web data: %v\n", err)
		return exitFail
	}
	from := "built into vigie"
	if fi, err := webapps.DataFileInfo(path); err == nil && fi {
		from = path
	}
	age := d.Age(time.Now())
	fmt.Fprintf(env.Stdout, "version data: %s\ndate: %s (%d days old)\napps: %d\nsource: %s\n",
		from, d.Date, int(age.Hours()/24), len(d.Apps), d.Source)
	return exitOK
}
