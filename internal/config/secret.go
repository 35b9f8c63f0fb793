package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a password or token. In the file it is either the value itself
// or a reference that keeps it out of the config text:
//
//	password: {file: /etc/vigie/smtp-password}
//	password: {env: VIGIE_SMTP_PASSWORD}
//
// The value is read when the config is loaded (and reloaded), so a missing
// file or variable is a config error. String() never shows it.
type Secret struct {
	value  string
	source string // "inline", "file PATH", "env NAME"
}

// Value returns the secret itself.
func (s Secret) Value() string { return s.value }

// IsSet reports whether a value was configured.
func (s Secret) IsSet() bool { return s.value != "" }

// Source says where the value came from, for messages.
func (s Secret) Source() string { return s.source }

// String hides the value so that a logged config leaks nothing.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return "<secret from " + s.source + ">"
}

// NewSecret makes a Secret from a literal value, for code and tests.
func NewSecret(v string) Secret { return Secret{value: v, source: "inline"} }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = Secret{value: n.Value, source: "inline"}
		if n.Value == "" {
			*s = Secret{} // "" is unset, as in Default()
		}
		return nil
	case yaml.MappingNode:
	default:
		return &lineError{n.Line, "expected a string, {file: PATH} or {env: NAME}"}
	}
	var ref struct{ file, env string }
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return &lineError{v.Line, fmt.Sprintf("%s: expected a string", k.Value)}
		}
		switch k.Value {
		case "file":
			ref.file = v.Value
		case "env":
			ref.env = v.Value
		default:
			return &lineError{k.Line, fmt.Sprintf("unknown key %q in a secret (expected file or env)", k.Value)}
		}
	}
	switch {
	case ref.file != "" && ref.env != "":
		return &lineError{n.Line, "a secret takes file or env, not both"}
	case ref.file != "":
		b, err := os.ReadFile(ref.file)
		if err != nil {
			return &lineError{n.Line, fmt.Sprintf("cannot read secret file: %v", err)}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return &lineError{n.Line, fmt.Sprintf("secret file %s is empty", ref.file)}
		}
		*s = Secret{value: v, source: "file " + ref.file}
	case ref.env != "":
		v, ok := os.LookupEnv(ref.env)
		if !ok || v == "" {
			return &lineError{n.Line, fmt.Sprintf("environment variable %s is not set or empty", ref.env)}
		}
		*s = Secret{value: v, source: "env " + ref.env}
	default:
		return &lineError{n.Line, "a secret reference needs file: PATH or env: NAME"}
	}
	return nil
}
