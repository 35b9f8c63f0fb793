package config

import (
	"fmt"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// PostfixSite says where this machine's Postfix keeps main.cf and
// master.cf. Every part of vigie that reads Postfix's configuration or runs
// its tools uses this one key: the mail watch's postqueue, the policy
// server's tools and its "does Postfix ask me" check under auto, the
// blocklist watch's sending-address discovery, vigie doctor.
type PostfixSite struct {
	// ConfigDir is Postfix's config_directory. Empty: what
	// `postconf -d -h config_directory` says, else /etc/postfix; the queue
	// tools then get no -c (a set-gid postqueue refuses a -c directory not
	// listed in alternate_config_directories unless run as root).
	ConfigDir string `yaml:"config_dir"`
}

// deprecatedPostfixKeys are the three keys that named the same directory
// before postfix.config_dir. They still work, with a warning.
var deprecatedPostfixKeys = [][]string{
	{"mail", "queue", "config_dir"},
	{"policy", "postfix", "config_dir"},
	{"blocklist", "postfix_config_dir"},
}

// Warning is a configuration that works but should change.
type Warning struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (w Warning) String() string {
	return (&Error{File: w.File, Line: w.Line, Key: w.Key, Msg: w.Msg}).Error()
}

type oldKey struct {
	key   string
	line  int
	value string
}

// takeDeprecated removes the deprecated keys from the document, so the
// strict decoder does not see them, and returns what they said.
func takeDeprecated(doc *yaml.Node) []oldKey {
	var out []oldKey
	for _, path := range deprecatedPostfixKeys {
		n := doc
		for i, k := range path {
			if n == nil || n.Kind != yaml.MappingNode {
				break
			}
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value != k {
					continue
				}
				if i == len(path)-1 {
					v := n.Content[j+1]
					out = append(out, oldKey{key: joinPath(path), line: n.Content[j].Line, value: v.Value})
					n.Content = append(n.Content[:j:j], n.Content[j+2:]...)
				} else {
					next = n.Content[j+1]
				}
				break
			}
			n = next
		}
	}
	return out
}

func joinPath(p []string) string {
	s := p[0]
	for _, k := range p[1:] {
		s += "." + k
	}
	return s
}

// applyPostfixDir settles postfix.config_dir from the file (the new key
// wins; old keys fill it in, with a warning each; old keys that disagree
// are an error) and hands it to every section that runs Postfix's tools
// or reads its files.
func (p *parser) applyPostfixDir(cfg *Config, old []oldKey) {
	newLine, hasNew := p.lines["postfix.config_dir"]
	for _, o := range old {
		if o.value == "" {
			p.warn(o.line, o.key, "deprecated and empty: remove it (postfix.config_dir is the one key for Postfix's directory)")
			continue
		}
		switch {
		case hasNew && cfg.Postfix.ConfigDir != o.value:
			p.errs = append(p.errs, &Error{File: p.file, Line: o.line, Key: o.key,
				Msg: fmt.Sprintf("deprecated key says %q but postfix.config_dir (line %d) says %q: remove it", o.value, newLine, cfg.Postfix.ConfigDir)})
			continue
		case !hasNew && cfg.Postfix.ConfigDir != "" && cfg.Postfix.ConfigDir != o.value:
			p.errs = append(p.errs, &Error{File: p.file, Line: o.line, Key: o.key,
				Msg: fmt.Sprintf("says %q but another deprecated key says %q: Postfix has one directory; set postfix.config_dir instead", o.value, cfg.Postfix.ConfigDir)})
			continue
		}
		cfg.Postfix.ConfigDir = o.value
		p.warn(o.line, o.key, "deprecated: use postfix.config_dir (one key for every part of vigie)")
	}
	if d := cfg.Postfix.ConfigDir; d != "" && !filepath.IsAbs(d) {
		p.errs = append(p.errs, &Error{File: p.file, Line: p.lines["postfix.config_dir"], Key: "postfix.config_dir",
			Msg: fmt.Sprintf("expected an absolute directory such as /etc/postfix, got %q", d)})
	}
	cfg.propagatePostfixDir()
}

// propagatePostfixDir copies postfix.config_dir into the sections whose
// code takes it from there.
func (cfg *Config) propagatePostfixDir() {
	d := cfg.Postfix.ConfigDir
	cfg.Mail.Queue.ConfigDir = d
	cfg.Policy.Postfix.ConfigDir = d
	cfg.Blocklist.PostfixConfigDir = d
}

func (p *parser) warn(line int, key, msg string) {
	p.warnings = append(p.warnings, Warning{File: p.file, Line: line, Key: key, Msg: msg})
}
