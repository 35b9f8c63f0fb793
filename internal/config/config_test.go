package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestExampleIsTheDefaults(t *testing.T) {
	cfg, err := Parse("example.yaml", Example)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("example differs from Default():\n%+v\n%+v", cfg, Default())
	}
}

// Every key of Config must be shown in the example, so the example stays
// complete as watches add sections.
func TestExampleIsComplete(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal(Example, &root); err != nil {
		t.Fatal(err)
	}
	p := &parser{file: "example.yaml", lines: map[string]int{}, keyAt: map[int]string{}}
	p.walk(root.Content[0], reflect.TypeOf(Config{}), "")
	for _, key := range structKeys(reflect.TypeOf(Config{}), "") {
		if _, ok := p.lines[key]; !ok {
			t.Errorf("example.yaml does not show %s", key)
		}
	}
}

func structKeys(t reflect.Type, path string) []string {
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return nil
	}
	var out []string
	for name, ft := range yamlFields(t) {
		kp := join(path, name)
		out = append(out, kp)
		out = append(out, structKeys(ft, kp)...)
	}
	return out
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		cfg, err := Parse("empty.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("%q: got %+v", in, cfg)
		}
	}
}

func TestMetricsTokenFromAFile(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "metrics-token")
	os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	cfg, err := Parse("c.yaml", []byte("http:\n  metrics_listen: 0.0.0.0:9761\n  metrics_token: {file: "+tok+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.MetricsToken.Value() != "0123456789abcdef0123456789abcdef" || cfg.HTTP.MetricsListen != "0.0.0.0:9761" {
		t.Errorf("http = %+v", cfg.HTTP)
	}
}

func TestValuesOverrideDefaults(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("log:\n  format: json\nalerts:\n  resolve_after: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "json" || cfg.Log.Level != "info" || cfg.Alerts.ResolveAfter != 0 || cfg.Alerts.CheckInterval != time.Minute {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // each must appear in the error text
	}{
		{"unknown top-level key", "log:\n  level: info\nlgo: 1\n", []string{"c.yaml:3: lgo: unknown key", "(known keys: alerts, ", ", data_dir, "}},
		{"unknown nested key", "http:\n  listen: 127.0.0.1:1\n  tls: yes\n", []string{"c.yaml:3: http.tls: unknown key (known keys in http: external_url, listen, metrics_listen, metrics_token, reverse_proxy, session_lifetime, tls_cert, tls_key)"}},
		{"bad duration", "alerts:\n  resolve_after: soon\n", []string{"c.yaml:2: alerts.resolve_after: expected a duration", `"soon"`}},
		{"bad bool", "notify:\n  log:\n    enabled: maybe\n", []string{"c.yaml:3: notify.log.enabled: expected true or false"}},
		{"section as scalar", "log: loud\n", []string{"c.yaml:1: log: expected a mapping"}},
		{"bad enum", "log:\n  level: loud\n", []string{"c.yaml:2: log.level: expected one of [debug info warn error]", `"loud"`}},
		{"non-loopback", "http:\n  listen: 0.0.0.0:9760\n", []string{"c.yaml:2: http.listen:", "not a loopback address", "TLS"}},
		{"all interfaces", "http:\n  listen: :9760\n", []string{"c.yaml:2: http.listen:", "not a loopback address"}},
		{"public v6", "http:\n  listen: '[2001:db8::1]:80'\n", []string{"not a loopback address"}},
		{"no port", "http:\n  listen: 127.0.0.1\n", []string{"c.yaml:2: http.listen: expected host:port"}},
		{"cert without key", "http:\n  listen: 0.0.0.0:443\n  tls_cert: /c.pem\n", []string{"c.yaml:3: http.tls_cert: tls_cert and tls_key go together"}},
		{"tls and proxy", "http:\n  tls_cert: /c\n  tls_key: /k\n  reverse_proxy: true\n", []string{"c.yaml:4: http.reverse_proxy: choose one"}},
		{"session lifetime", "http:\n  session_lifetime: 0s\n", []string{"http.session_lifetime: expected a positive duration"}},
		{"negative", "alerts:\n  check_interval: -1s\n", []string{"c.yaml:2: alerts.check_interval: expected a positive duration"}},
		{"syntax", "log:\n  level: [info\n", []string{"c.yaml:", "syntax error"}},
		{"tab indent", "log:\n\tlevel: info\n", []string{"c.yaml:2: syntax error"}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", []string{"c.yaml:3", "already defined"}},
		{"driver", "store:\n  driver: mysql\n", []string{"c.yaml:2: store.driver: expected sqlite"}},
		{"open metrics listener", "http:\n  metrics_listen: 0.0.0.0:9761\n", []string{"c.yaml:2: http.metrics_listen:", "not a loopback address", "metrics_token"}},
		{"short metrics token", "http:\n  metrics_token: secret\n", []string{"c.yaml:2: http.metrics_token:", "guessable"}},
		{"metrics on the main port", "http:\n  metrics_listen: 127.0.0.1:9760\n", []string{"c.yaml:2: http.metrics_listen: must differ"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Errorf("error is %T, want Errors", err)
			}
		})
	}
}

func TestSeveralErrorsAtOnce(t *testing.T) {
	_, err := Parse("c.yaml", []byte("log:\n  level: loud\n  format: xml\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Line != 2 || es[1].Line != 3 {
		t.Fatalf("err = %v", err)
	}
}

func TestLoopbackAccepted(t *testing.T) {
	for _, l := range []string{"127.0.0.1:0", "127.8.9.10:80", "[::1]:9760", "localhost:9760"} {
		if err := checkLoopback(l); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

func TestNonLoopbackNeedsTLSOrProxy(t *testing.T) {
	cases := []struct {
		in    string
		login bool
	}{
		{"http:\n  listen: 0.0.0.0:9760\n  tls_cert: /c.pem\n  tls_key: /k.pem\n", true},
		{"http:\n  listen: '[2001:db8::1]:443'\n  reverse_proxy: true\n", true},
		{"http:\n  listen: 127.0.0.1:9760\n  reverse_proxy: true\n", true},
		{"http:\n  listen: 127.0.0.1:9760\n  tls_cert: /c.pem\n  tls_key: /k.pem\n", true},
		{"http:\n  listen: 127.0.0.1:9760\n", false},
	}
	for _, c := range cases {
		cfg, err := Parse("c.yaml", []byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := cfg.HTTP.LoginRequired(); got != c.login {
			t.Errorf("%q: LoginRequired = %v, want %v", c.in, got, c.login)
		}
	}
}

type secretHolder struct {
	Password Secret `yaml:"password"`
}

func decodeSecret(t *testing.T, in string) (Secret, error) {
	t.Helper()
	var h secretHolder
	err := yaml.Unmarshal([]byte(in), &h)
	return h.Password, err
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	t.Setenv("VIGIE_TEST_SECRET", "from-env")

	for _, c := range []struct{ in, want, source string }{
		{"password: inline-value", "inline-value", "inline"},
		{"password: {file: " + file + "}", "from-file", "file " + file},
		{"password: {env: VIGIE_TEST_SECRET}", "from-env", "env VIGIE_TEST_SECRET"},
	} {
		s, err := decodeSecret(t, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if s.Value() != c.want || s.Source() != c.source {
			t.Errorf("%s: got %q from %q", c.in, s.Value(), s.Source())
		}
		if strings.Contains(s.String(), c.want) {
			t.Errorf("String() shows the secret: %s", s)
		}
	}
	for _, in := range []string{
		"password: {file: " + filepath.Join(dir, "missing") + "}",
		"password: {env: VIGIE_TEST_UNSET_VARIABLE}",
		"password: {file: a, env: b}",
		"password: {path: a}",
		"password: {}",
		"password: [a]",
	} {
		if _, err := decodeSecret(t, in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestDataDirPrecedence(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "", "VIGIE_DATA": ""}
	getenv := func(k string) string { return env[k] }
	cfg := Default()
	check := func(flag, want string) {
		t.Helper()
		got, err := DataDir(flag, getenv, cfg)
		if err != nil || got != want {
			t.Errorf("DataDir(%q) = %q, %v; want %q", flag, got, err, want)
		}
	}
	check("", "/home/u/.local/state/vigie")
	env["XDG_STATE_HOME"] = "/x"
	check("", "/x/vigie")
	cfg.DataDir = "/cfg"
	check("", "/cfg")
	env["VIGIE_DATA"] = "/env"
	check("", "/env")
	check("/flag", "/flag")
	env = map[string]string{}
	if _, err := DataDir("", getenv, Default()); err == nil {
		t.Error("no HOME and nothing set: want an error")
	}
}

func TestEnsureDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := EnsureDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root writes anywhere; use a path below a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		bad := filepath.Join(f, "data")
		if err := EnsureDataDir(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("err = %v, want it to name %s", err, bad)
		}
		return
	}
	ro := t.TempDir()
	os.Chmod(ro, 0o500)
	if err := EnsureDataDir(ro); err == nil || !strings.Contains(err.Error(), ro) {
		t.Errorf("err = %v, want it to name %s", err, ro)
	}
}

func TestPostfixConfigDirOneKeyAndDeprecatedOnes(t *testing.T) {
	check := func(t *testing.T, cfg *Config, want string) {
		t.Helper()
		if cfg.Postfix.ConfigDir != want || cfg.Mail.Queue.ConfigDir != want || cfg.Policy.Postfix.ConfigDir != want || cfg.Blocklist.PostfixConfigDir != want {
			t.Errorf("postfix %q, mail.queue %q, policy.postfix %q, blocklist %q; want %q everywhere",
				cfg.Postfix.ConfigDir, cfg.Mail.Queue.ConfigDir, cfg.Policy.Postfix.ConfigDir, cfg.Blocklist.PostfixConfigDir, want)
		}
	}
	cfg, err := Parse("c.yaml", []byte("postfix:\n  config_dir: /etc/postfix-out\n"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, cfg, "/etc/postfix-out")
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings for the new key: %v", cfg.Warnings)
	}

	for _, c := range []struct{ in, key string }{
		{"mail:\n  queue:\n    interval: 10s\n    config_dir: /etc/postfix-out\n", "c.yaml:4: mail.queue.config_dir: deprecated: use postfix.config_dir"},
		{"policy:\n  postfix:\n    config_dir: /etc/postfix-out\n", "c.yaml:3: policy.postfix.config_dir: deprecated"},
		{"blocklist:\n  postfix_config_dir: /etc/postfix-out\n", "c.yaml:2: blocklist.postfix_config_dir: deprecated"},
	} {
		cfg, err := Parse("c.yaml", []byte(c.in))
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		check(t, cfg, "/etc/postfix-out")
		if len(cfg.Warnings) != 1 || !strings.HasPrefix(cfg.Warnings[0].String(), c.key) {
			t.Errorf("%q: warnings %v, want %q", c.in, cfg.Warnings, c.key)
		}
	}
	// The other keys of a section keep working around a removed old key.
	cfg, err = Parse("c.yaml", []byte("mail:\n  queue:\n    config_dir: /x\n    interval: 10s\n"))
	if err != nil || cfg.Mail.Queue.Interval != 10*time.Second {
		t.Fatalf("section around the old key: %v %+v", err, cfg)
	}

	// Same value in an old and the new key: a warning; different values: an error.
	cfg, err = Parse("c.yaml", []byte("postfix:\n  config_dir: /a\nblocklist:\n  postfix_config_dir: /a\n"))
	if err != nil || len(cfg.Warnings) != 1 {
		t.Fatalf("agreeing keys: %v %v", err, cfg)
	}
	for _, c := range []struct{ in, want string }{
		{"postfix:\n  config_dir: /a\nblocklist:\n  postfix_config_dir: /b\n", `c.yaml:4: blocklist.postfix_config_dir: deprecated key says "/b" but postfix.config_dir (line 2) says "/a"`},
		{"mail:\n  queue:\n    config_dir: /a\nblocklist:\n  postfix_config_dir: /b\n", "Postfix has one directory"},
		{"postfix:\n  config_dir: etc/postfix\n", `c.yaml:2: postfix.config_dir: expected an absolute directory`},
	} {
		if _, err := Parse("c.yaml", []byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}
