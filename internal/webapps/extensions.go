package webapps

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ExtensionKind names the kind of add-on an install carries; it is also
// the key of the version data's extension advisories.
type ExtensionKind string

const (
	KindWPPlugin   ExtensionKind = "wordpress-plugin"
	KindWPTheme    ExtensionKind = "wordpress-theme"
	KindDrupal     ExtensionKind = "drupal-module" // modules and themes: drupal.org projects
	KindJoomla     ExtensionKind = "joomla-extension"
	maxExtensions                = 400 // per install: a pathological tree stays bounded
	extHeadSize                  = 8 << 10
	maxFilesPerDir               = 24 // PHP or XML files read to find a plugin's header or a manifest
)

// An Extension is a plugin, theme or module of an install: what attackers
// exploit in practice far more often than the core.
type Extension struct {
	Kind    ExtensionKind `json:"kind"`
	Slug    string        `json:"slug"` // directory name: wordpress.org and drupal.org project names
	Name    string        `json:"name,omitempty"`
	Version string        `json:"version"`
	// From is the file the version came from, relative to the install.
	From       string   `json:"from,omitempty"`
	Advisories []string `json:"advisories,omitempty"`
}

var (
	// WordPress file headers (get_file_data): "Version: 1.2.3" in the
	// plugin's main file or the theme's style.css, "Stable tag: 1.2.3" in
	// readme.txt.
	reHdrVersion    = regexp.MustCompile(`(?mi)^[ \t/*#@]*Version:[ \t]*([0-9][^\s*]{0,39})`)
	reHdrPluginName = regexp.MustCompile(`(?mi)^[ \t/*#@]*Plugin Name:[ \t]*([^\r\n*]{1,120})`)
	reHdrThemeName  = regexp.MustCompile(`(?mi)^[ \t/*#@]*Theme Name:[ \t]*([^\r\n*]{1,120})`)
	reStableTag     = regexp.MustCompile(`(?mi)^[ \t]*Stable tag:[ \t]*([0-9][^\s]{0,39})`)
	reInfoName      = regexp.MustCompile(`(?m)^name\s*[:=]\s*['"]?([^'"\r\n]{1,120})`)
	reXMLName       = regexp.MustCompile(`<name>\s*([^<]{1,120}?)\s*</name>`)
	reXMLRoot       = regexp.MustCompile(`<(?:extension|install)\b`)
)

// extensions lists the add-ons of an install of app at dir.
func (s *scanner) extensions(app, dir string) []Extension {
	var out []Extension
	switch app {
	case "wordpress":
		out = s.wpPlugins(filepath.Join(dir, "wp-content/plugins"), out)
		out = s.wpThemes(filepath.Join(dir, "wp-content/themes"), out)
	case "drupal":
		for _, d := range []string{"sites/all/modules", "sites/all/themes", "modules", "themes", "profiles"} {
			out = s.drupalProjects(filepath.Join(dir, d), 3, out)
		}
		if sites, err := os.ReadDir(filepath.Join(dir, "sites")); err == nil {
			for _, e := range sites {
				if e.IsDir() && e.Name() != "all" {
					out = s.drupalProjects(filepath.Join(dir, "sites", e.Name(), "modules"), 3, out)
				}
			}
		}
	case "joomla":
		out = s.joomlaExtensions(dir, out)
	}
	for i := range out {
		// The readers record absolute paths; keep them relative.
		if rel, err := filepath.Rel(dir, out[i].From); err == nil {
			out[i].From = rel
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Slug < out[j].Slug
	})
	return out
}

func listDirs(dir string) []fs.DirEntry {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	ents, _ := f.ReadDir(maxExtensions)
	return ents
}

// readSmall reads the head of a regular file (headers sit at the top).
func (s *scanner) readSmall(path string) []byte {
	b, err := s.readHead(path)
	if err != nil {
		return nil
	}
	if len(b) > extHeadSize {
		b = b[:extHeadSize]
	}
	return b
}

func firstMatch(re *regexp.Regexp, b []byte) string {
	if m := re.FindSubmatch(b); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return ""
}

func (s *scanner) wpPlugins(dir string, out []Extension) []Extension {
	for _, e := range listDirs(dir) {
		if len(out) >= maxExtensions {
			break
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !e.IsDir() {
			// A single-file plugin (hello.php).
			if strings.HasSuffix(name, ".php") {
				head := s.readSmall(filepath.Join(dir, name))
				if pn := firstMatch(reHdrPluginName, head); pn != "" {
					out = append(out, Extension{Kind: KindWPPlugin, Slug: strings.TrimSuffix(name, ".php"), Name: pn,
						Version: sanitizeVersion(firstMatch(reHdrVersion, head)), From: filepath.Join(dir, name)})
				}
			}
			continue
		}
		pdir := filepath.Join(dir, name)
		ext := Extension{Kind: KindWPPlugin, Slug: name}
		// The main file is the one with a Plugin Name header; it is most
		// often <slug>.php, so that one is read first.
		cands := []string{name + ".php"}
		if ents := listDirs(pdir); ents != nil {
			for _, f := range ents {
				if !f.IsDir() && strings.HasSuffix(f.Name(), ".php") && f.Name() != name+".php" && len(cands) < maxFilesPerDir {
					cands = append(cands, f.Name())
				}
			}
		}
		for _, c := range cands {
			head := s.readSmall(filepath.Join(pdir, c))
			if pn := firstMatch(reHdrPluginName, head); pn != "" {
				ext.Name, ext.Version, ext.From = pn, sanitizeVersion(firstMatch(reHdrVersion, head)), filepath.Join(pdir, c)
				break
			}
		}
		if ext.Version == "" {
			// The readme's Stable tag: what wordpress.org served last, so
			// a fallback only.
			if v := sanitizeVersion(firstMatch(reStableTag, s.readSmall(filepath.Join(pdir, "readme.txt")))); v != "" {
				ext.Version, ext.From = v, filepath.Join(pdir, "readme.txt")
			}
		}
		if ext.Name == "" && ext.Version == "" {
			continue // not a plugin (an empty or leftover directory)
		}
		out = append(out, ext)
	}
	return out
}

func (s *scanner) wpThemes(dir string, out []Extension) []Extension {
	for _, e := range listDirs(dir) {
		if len(out) >= maxExtensions {
			break
		}
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		head := s.readSmall(filepath.Join(dir, e.Name(), "style.css"))
		tn := firstMatch(reHdrThemeName, head)
		if tn == "" {
			continue
		}
		out = append(out, Extension{Kind: KindWPTheme, Slug: e.Name(), Name: tn,
			Version: sanitizeVersion(firstMatch(reHdrVersion, head)), From: filepath.Join(dir, e.Name(), "style.css")})
	}
	return out
}

// drupalProjects finds <name>/<name>.info(.yml) below dir (contrib/ and
// custom/ subdirectories included). The version is the line drupal.org's
// packaging adds ("7.x-2.5", "8.x-1.9", "2.1.3"); a module without it was
// not packaged there (custom, or from git) and has no version.
func (s *scanner) drupalProjects(dir string, depth int, out []Extension) []Extension {
	if depth == 0 {
		return out
	}
	for _, e := range listDirs(dir) {
		if len(out) >= maxExtensions {
			break
		}
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || skipDirs[e.Name()] {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		var head []byte
		var from string
		for _, f := range []string{e.Name() + ".info.yml", e.Name() + ".info"} {
			if head = s.readSmall(filepath.Join(sub, f)); head != nil {
				from = filepath.Join(sub, f)
				break
			}
		}
		if head == nil {
			out = s.drupalProjects(sub, depth-1, out) // contrib/, custom/
			continue
		}
		v := firstMatch(reInfoVersion, head)
		if v == "" || !drupalVersionOK(v) {
			v = ""
		}
		// Core's own modules carry core's version: not extensions.
		if bytes.Contains(head, []byte("package: Core")) || bytes.Contains(head, []byte("package = Core")) {
			continue
		}
		out = append(out, Extension{Kind: KindDrupal, Slug: e.Name(), Name: firstMatch(reInfoName, head), Version: v, From: from})
	}
	return out
}

// drupalVersionOK accepts drupal.org release versions: 7.x-2.5,
// 8.x-1.0-rc3, 2.1.3.
func drupalVersionOK(v string) bool {
	if len(v) > 40 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	_, ok := ParseVersion(stripDrupalCore(v))
	return ok
}

// stripDrupalCore turns "7.x-2.5" into "2.5": the core prefix names the
// branch, the rest is the module's own version.
func stripDrupalCore(v string) string {
	if i := strings.Index(v, ".x-"); i > 0 && i <= 2 {
		return v[i+3:]
	}
	return v
}

// drupalCore is the "7.x" prefix of a contrib version, or "".
func drupalCore(v string) string {
	if i := strings.Index(v, ".x-"); i > 0 && i <= 2 {
		return v[:i+2]
	}
	return ""
}

// joomlaExtensions reads the manifests of components, modules, plugins
// and templates, site and administrator side.
func (s *scanner) joomlaExtensions(dir string, out []Extension) []Extension {
	type place struct {
		rel   string
		depth int // 1: <rel>/<ext>/*.xml, 2: <rel>/<group>/<ext>/*.xml
	}
	for _, p := range []place{{"administrator/components", 1}, {"components", 1}, {"modules", 1}, {"administrator/modules", 1},
		{"plugins", 2}, {"templates", 1}, {"administrator/templates", 1}} {
		out = s.joomlaManifests(filepath.Join(dir, p.rel), p.rel, p.depth, out)
	}
	// A component installs both sides; keep one entry per slug.
	seen := map[string]bool{}
	kept := out[:0]
	for _, e := range out {
		if e.Kind == KindJoomla && seen[e.Slug] {
			continue
		}
		seen[e.Slug] = true
		kept = append(kept, e)
	}
	return kept
}

func (s *scanner) joomlaManifests(dir, rel string, depth int, out []Extension) []Extension {
	for _, e := range listDirs(dir) {
		if len(out) >= maxExtensions {
			break
		}
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if depth > 1 {
			out = s.joomlaManifests(sub, rel+"/"+e.Name(), depth-1, out)
			continue
		}
		slug := e.Name()
		if rel == "plugins" || strings.HasPrefix(rel, "plugins/") {
			slug = "plg_" + filepath.Base(rel) + "_" + e.Name()
		} else if strings.HasSuffix(rel, "templates") {
			slug = "tpl_" + e.Name()
		}
		n := 0
		for _, f := range listDirs(sub) {
			if f.IsDir() || !strings.HasSuffix(f.Name(), ".xml") || n >= maxFilesPerDir {
				continue
			}
			n++
			head := s.readSmall(filepath.Join(sub, f.Name()))
			if !reXMLRoot.Match(head) {
				continue // config.xml, access.xml: not the manifest
			}
			v := firstMatch(reXMLVersion, head)
			if v == "" {
				continue
			}
			out = append(out, Extension{Kind: KindJoomla, Slug: slug, Name: firstMatch(reXMLName, head),
				Version: sanitizeVersion(v), From: filepath.Join(sub, f.Name())})
			break
		}
	}
	return out
}
