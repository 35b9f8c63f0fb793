package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads and checks a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse checks data as the file named file (used in messages only). It
// returns Errors, each with a line and key, when anything is wrong.
func Parse(file string, data []byte) (*Config, error) {
	cfg := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	p := &parser{file: file, lines: map[string]int{}, keyAt: map[int]string{}}
	var old []oldKey
	if len(root.Content) > 0 {
		old = takeDeprecated(root.Content[0])
		p.walk(root.Content[0], reflect.TypeOf(cfg).Elem(), "")
		if len(p.errs) > 0 {
			return nil, p.sorted()
		}
		if err := root.Content[0].Decode(cfg); err != nil {
			p.decodeError(err)
			return nil, p.sorted()
		}
	}
	p.applyPostfixDir(cfg, old)
	for _, fe := range cfg.validate() {
		p.errs = append(p.errs, &Error{File: file, Line: p.lines[fe.key], Key: fe.key, Msg: fe.msg})
	}
	if len(p.errs) > 0 {
		return nil, p.sorted()
	}
	cfg.Warnings = p.warnings
	return cfg, nil
}

type parser struct {
	file  string
	lines map[string]int // key path -> line
	keyAt map[int]string // line -> key path, for decoder errors
	errs  Errors
	// warnings are keys that work but should change (deprecated ones).
	warnings []Warning
}

func (p *parser) sorted() Errors {
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return p.errs
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	durationType    = reflect.TypeOf(time.Duration(0))
	containmentType = reflect.TypeOf(Containment{})
)

// walk records where each key is and reports keys the Go type does not
// have; the YAML decoder itself would only say "field x not found".
func (p *parser) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	// Secret, Switch, a scalar containment: they check their own shape; a
	// containment mapping is checked here, key by key
	if reflect.PointerTo(t).Implements(unmarshalerType) && !(t == containmentType && n.Kind == yaml.MappingNode) {
		return
	}
	// The decoder refuses bare integers for durations (is 30 seconds or
	// nanoseconds?), but 0 is unambiguous and how people write "never".
	if t == durationType && n.Kind == yaml.ScalarNode && n.Value == "0" {
		n.Tag, n.Value = "!!str", "0s"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			p.lines[kp] = k.Line
			p.keyAt[k.Line] = kp
			if v.Line != k.Line {
				p.keyAt[v.Line] = kp
			}
			ft, ok := fields[k.Value]
			if !ok {
				p.errs = append(p.errs, &Error{File: p.file, Line: k.Line, Key: kp,
					Msg: fmt.Sprintf("unknown key (known keys%s: %s)", where(path), strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			p.walk(v, ft, kp)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			p.lines[kp] = k.Line
			p.keyAt[k.Line] = kp
			p.walk(v, t.Elem(), kp)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, v := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			p.lines[ip] = v.Line
			if _, taken := p.keyAt[v.Line]; !taken {
				p.keyAt[v.Line] = ip
			}
			p.walk(v, t.Elem(), ip)
		}
	}
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML names of t's fields, inline ones included, to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "syntax error: " + m[2]}
	}
	return &Error{File: file, Msg: "syntax error: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decodeError turns the decoder's "line N: cannot unmarshal !!str `x` into
// int" into file:N: key: expected a whole number, got "x".
func (p *parser) decodeError(err error) {
	var te *yaml.TypeError
	var le *lineError
	switch {
	case errors.As(err, &le):
		p.errs = append(p.errs, &Error{File: p.file, Line: le.line, Key: p.keyAt[le.line], Msg: le.msg})
	case errors.As(err, &te):
		for _, e := range te.Errors {
			if m := yamlLine.FindStringSubmatch(e); m != nil {
				line, _ := strconv.Atoi(m[1])
				p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: p.keyAt[line], Msg: explain(m[2])})
			} else {
				p.errs = append(p.errs, &Error{File: p.file, Msg: e})
			}
		}
	default:
		p.errs = append(p.errs, syntaxError(p.file, err))
	}
}

var cannotUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

func explain(msg string) string {
	m := cannotUnmarshal.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	got := fmt.Sprintf("got %s %q", m[1], m[2])
	switch into := m[3]; {
	case into == "time.Duration":
		return "expected a duration such as 30s, 5m or 24h, " + got
	case into == "bool":
		return "expected true or false, " + got
	case strings.HasPrefix(into, "int") || strings.HasPrefix(into, "uint"):
		return "expected a whole number, " + got
	case strings.HasPrefix(into, "float"):
		return "expected a number, " + got
	case into == "string":
		return "expected a string, " + got
	case strings.HasPrefix(into, "[]"):
		return "expected a list, " + got
	case strings.HasPrefix(into, "map["):
		return "expected a mapping of keys to values, " + got
	default:
		return "expected a mapping of keys (a section), " + got
	}
}
