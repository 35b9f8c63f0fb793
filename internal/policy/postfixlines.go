package policy

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vigie/vigie/internal/config"
)

// MilterMacros are the macros the milter needs with MAIL FROM: the SASL
// login ({auth_authen}), the queue id (i), and the client address, which
// is the only way to know the client of a session's second message.
const MilterMacros = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {client_addr}"

// ServiceAddr writes a listen address as Postfix names a service:
// inet:HOST:PORT or unix:PATH.
func ServiceAddr(l string) string {
	if path, ok := strings.CutPrefix(l, "unix:"); ok {
		return "unix:" + path
	}
	return "inet:" + l
}

// RestrictionsFor is the main.cf parameter whose check_policy_service
// asks vigie at stage (policy.stage).
func RestrictionsFor(stage string) string {
	if stage == "DATA" {
		return "smtpd_data_restrictions"
	}
	return "smtpd_end_of_data_restrictions"
}

// A PostfixWant is one main.cf parameter vigie needs: its value must hold
// every one of Contains (or equal Equals). `vigie postfix-config --check`
// and `vigie doctor` compare Postfix's running configuration with these.
type PostfixWant struct {
	Name     string
	Contains []string
	Equals   string
	// Why says what the setting is for ("... so that" Why).
	Why string
	// Milter marks the milter's settings (the others are the policy
	// server's).
	Milter bool
}

// PostfixWants are the settings the policy section asks of Postfix.
func PostfixWants(p *config.Policy) []PostfixWant {
	var out []PostfixWant
	if p.Milter.Listen != "" {
		out = append(out, PostfixWant{Name: "smtpd_milters", Contains: []string{ServiceAddr(p.Milter.Listen)}, Milter: true,
			Why: "SMTP mail (submission, local SMTP clients) passes vigie's gate"})
	}
	if p.Milter.LocalListen != "" {
		out = append(out, PostfixWant{Name: "non_smtpd_milters", Contains: []string{ServiceAddr(p.Milter.LocalListen)}, Milter: true,
			Why: "mail sent with sendmail (web sites, cron) passes vigie's gate"})
	}
	if p.Milter.Listen != "" || p.Milter.LocalListen != "" {
		out = append(out,
			PostfixWant{Name: "milter_default_action", Equals: "accept", Milter: true, Why: "fail-open: mail flows when vigie is stopped or slow"},
			PostfixWant{Name: "milter_mail_macros", Contains: strings.Fields(MilterMacros), Milter: true, Why: "the milter learns the SASL user, queue id and client of every message"})
	}
	if len(p.Listen) > 0 {
		out = append(out,
			PostfixWant{Name: RestrictionsFor(p.Stage), Contains: []string{"check_policy_service " + ServiceAddr(p.Listen[0])}, Why: "the policy server answers at " + p.Stage},
			PostfixWant{Name: "smtpd_policy_service_default_action", Equals: "DUNNO", Why: "fail-open: mail flows when vigie is stopped or slow"})
	}
	return out
}

// Problem says what have (a parameter's value) lacks, "" when nothing.
func (w PostfixWant) Problem(have string) string {
	if w.Equals != "" {
		if strings.TrimSpace(have) != w.Equals {
			return "should be " + w.Equals
		}
		return ""
	}
	fields := postfixList(have)
	var lacks []string
	for _, c := range w.Contains {
		if !containsWords(fields, strings.Fields(c)) {
			lacks = append(lacks, c)
		}
	}
	if len(lacks) > 0 {
		return "lacks " + strings.Join(lacks, " ")
	}
	return ""
}

// postfixList splits a Postfix list value (separated by spaces, commas or
// tabs; "{ ... }" groups are not split apart further than their words).
func postfixList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}

// containsWords: words appear in fields one after the other
// ("check_policy_service inet:...").
func containsWords(fields, words []string) bool {
	for i := 0; i+len(words) <= len(fields); i++ {
		match := true
		for j, w := range words {
			if fields[i+j] != w {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// ParsePostconf reads postconf's "name = value" lines.
func ParsePostconf(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// A PostfixGap is one setting Postfix's running configuration lacks.
type PostfixGap struct {
	Want PostfixWant
	// Service is the master.cf service ("submission/inet") that overrides
	// the setting with -o; "" for main.cf.
	Service string
	Have    string
	Problem string
}

func (g PostfixGap) String() string {
	where := ""
	if g.Service != "" {
		where = "master.cf service " + g.Service + " overrides "
	}
	return fmt.Sprintf("%s%s: %s (now: %q)", where, g.Want.Name, g.Problem, g.Have)
}

// Postconf runs Postfix's postconf on configDir ("" = its default).
type Postconf struct {
	Program   string // "postconf" when empty
	ConfigDir string
}

// Run runs postconf with args.
func (pc Postconf) Run(ctx context.Context, args ...string) (string, error) {
	prog := pc.Program
	if prog == "" {
		prog = "postconf"
	}
	if pc.ConfigDir != "" {
		args = append([]string{"-c", pc.ConfigDir}, args...)
	}
	out, err := exec.CommandContext(ctx, prog, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s %s: %w", prog, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// PostfixRead is what CheckPostfix read of the running configuration.
type PostfixRead struct {
	// Values are the wanted parameters' values, and queue_directory.
	Values map[string]string
	// Services is `postconf -P`: master.cf services' -o overrides.
	Services string
}

// CheckPostfix compares Postfix's running configuration (main.cf values
// as postconf reads them, and master.cf services overriding them with -o)
// with wants, and returns what it lacks, and what it read.
func CheckPostfix(ctx context.Context, pc Postconf, wants []PostfixWant) ([]PostfixGap, PostfixRead, error) {
	names := make([]string, 0, len(wants)+1)
	for _, w := range wants {
		names = append(names, w.Name)
	}
	var read PostfixRead
	services := make(chan string, 1)
	go func() {
		out, _ := pc.Run(ctx, "-P") // none: no master.cf override
		services <- out
	}()
	mainOut, err := pc.Run(ctx, append(names, "queue_directory")...)
	read.Services = <-services
	if err != nil {
		return nil, read, err
	}
	read.Values = ParsePostconf(mainOut)
	qd := read.Values["queue_directory"]
	var gaps []PostfixGap
	for _, w := range wants {
		if p := w.Problem(absoluteSockets(read.Values[w.Name], qd)); p != "" {
			gaps = append(gaps, PostfixGap{Want: w, Have: read.Values[w.Name], Problem: p})
		}
	}
	for _, line := range strings.Split(read.Services, "\n") {
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		parts := strings.Split(key, "/")
		if len(parts) != 3 {
			continue
		}
		for _, w := range wants {
			if parts[2] == w.Name {
				if p := w.Problem(absoluteSockets(val, qd)); p != "" {
					gaps = append(gaps, PostfixGap{Want: w, Service: parts[0] + "/" + parts[1], Have: val, Problem: p})
				}
			}
		}
	}
	return gaps, read, nil
}

// absoluteSockets writes the unix: services of a Postfix list value that
// are relative to queue_directory ("unix:private/vigie", as a chrooted
// smtpd needs them) as absolute paths, as vigie's listen addresses are.
func absoluteSockets(v, queueDir string) string {
	if queueDir == "" || !strings.Contains(v, "unix:") {
		return v
	}
	fields := postfixList(v)
	for i, f := range fields {
		if path, ok := strings.CutPrefix(f, "unix:"); ok && path != "" && !filepath.IsAbs(path) {
			fields[i] = "unix:" + filepath.Join(queueDir, path)
		}
	}
	return strings.Join(fields, " ")
}

// PolicyServiceUses lists the Postfix settings (main.cf parameters, and
// master.cf services' -o overrides as "service/type/name") whose
// check_policy_service names one of listen, from `postconf -n` and
// `postconf -P` output. A unix: path written relative to Postfix's
// queue_directory ("unix:private/vigie") is matched against vigie's
// absolute one.
func PolicyServiceUses(mainN, masterP, queueDir string, listen []string) []string {
	var out []string
	scan := func(text string) {
		for _, line := range strings.Split(text, "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			fields := postfixList(v)
			for i := 0; i+1 < len(fields); i++ {
				if fields[i] != "check_policy_service" {
					continue
				}
				if namesListen(fields[i+1], queueDir, listen) {
					out = append(out, strings.TrimSpace(k))
					break
				}
			}
		}
	}
	scan(mainN)
	scan(masterP)
	return out
}

// namesListen says whether a Postfix service name (inet:host:port,
// unix:path, or a bare host:port) is one of vigie's listen addresses.
func namesListen(service, queueDir string, listen []string) bool {
	for _, l := range listen {
		want := ServiceAddr(l)
		if service == want || "inet:"+service == want {
			return true
		}
		if path, ok := strings.CutPrefix(service, "unix:"); ok && !filepath.IsAbs(path) && queueDir != "" {
			if "unix:"+filepath.Join(queueDir, path) == want {
				return true
			}
		}
	}
	return false
}
