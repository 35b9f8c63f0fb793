package cli

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
)

func postfixConfigCommand() *command {
	return &command{name: "postfix-config", summary: "print (or --check) the Postfix lines that put vigie's gate on every path mail leaves by", run: postfixConfig}
}

// milterMacros are the macros the milter needs with MAIL FROM: the SASL
// login ({auth_authen}), the queue id (i), and the client address, which
// is the only way to know the client of a session's second message.
const milterMacros = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {client_addr}"

// serviceAddr writes a listen address as Postfix names a service.
func serviceAddr(l string) string {
	if path, ok := strings.CutPrefix(l, "unix:"); ok {
		return "unix:" + path
	}
	return "inet:" + l
}

// postfixWant is one main.cf parameter vigie needs: its value must hold
// every one of contains (or equal equals).
type postfixWant struct {
	name     string
	contains []string
	equals   string
	why      string
}

func postfixWants(p *config.Policy) []postfixWant {
	var out []postfixWant
	if p.Milter.Listen != "" {
		out = append(out, postfixWant{name: "smtpd_milters", contains: []string{serviceAddr(p.Milter.Listen)},
			why: "SMTP mail (submission, local SMTP clients) passes vigie's gate"})
	}
	if p.Milter.LocalListen != "" {
		out = append(out, postfixWant{name: "non_smtpd_milters", contains: []string{serviceAddr(p.Milter.LocalListen)},
			why: "mail sent with sendmail (web sites, cron) passes vigie's gate"})
	}
	if p.Milter.Listen != "" || p.Milter.LocalListen != "" {
		out = append(out,
			postfixWant{name: "milter_default_action", equals: "accept", why: "fail-open: mail flows when vigie is stopped or slow"},
			postfixWant{name: "milter_mail_macros", contains: strings.Fields(milterMacros), why: "the milter learns the SASL user, queue id and client of every message"})
	}
	if len(p.Listen) > 0 {
		restrictions := "smtpd_end_of_data_restrictions"
		if p.Stage == "DATA" {
			restrictions = "smtpd_data_restrictions"
		}
		out = append(out,
			postfixWant{name: restrictions, contains: []string{"check_policy_service " + serviceAddr(p.Listen[0])}, why: "the policy server answers at " + p.Stage},
			postfixWant{name: "smtpd_policy_service_default_action", equals: "DUNNO", why: "fail-open: mail flows when vigie is stopped or slow"})
	}
	return out
}

func postfixConfig(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie postfix-config", "[--config FILE] [--check] [--postconf PROGRAM]", `
Prints the main.cf lines that put vigie's gate on every path mail leaves
by: the milter for SMTP mail (smtpd_milters) and for mail sent with
sendmail (non_smtpd_milters), and the policy server at the end of each SMTP
message, all failing open (Postfix accepts mail when vigie is stopped).
Add them, then run 'postfix reload'.

With --check, asks the running configuration (postconf, with
policy.postfix.config_dir) and prints what is missing, including master.cf
services that override a setting without vigie; exit 1 when something is.`)
	cfgPath := f.configFlag()
	check := f.Bool("check", false, "say what the running Postfix configuration lacks")
	postconf := f.String("postconf", "postconf", "the postconf program")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	if *check {
		return postfixCheck(ctx, env, &cfg.Policy, *postconf)
	}
	p := cfg.Policy
	fmt.Fprintln(env.Stdout, "# ---- main.cf ----")
	if p.Milter.Listen != "" || p.Milter.LocalListen != "" {
		fmt.Fprintln(env.Stdout, "# vigie's milter sees every message: SMTP mail, and mail sent with sendmail")
		fmt.Fprintln(env.Stdout, "# (its uid read from the queue file). Add the addresses to the milters you")
		fmt.Fprintln(env.Stdout, "# already have (OpenDKIM...), separated by spaces.")
		if p.Milter.Listen != "" {
			fmt.Fprintf(env.Stdout, "smtpd_milters = %s\n", serviceAddr(p.Milter.Listen))
		}
		if p.Milter.LocalListen != "" {
			fmt.Fprintf(env.Stdout, "non_smtpd_milters = %s\n", serviceAddr(p.Milter.LocalListen))
		}
		fmt.Fprintf(env.Stdout, `# Fail open: vigie stopped or slow, Postfix accepts the mail.
milter_default_action = accept
milter_connect_timeout = 5s
milter_command_timeout = 10s
# The SASL user, queue id and client address of every message:
milter_mail_macros = %s

`, milterMacros)
	}
	restrictions := "smtpd_end_of_data_restrictions"
	why := `# At END-OF-MESSAGE Postfix knows the final recipient count, the real size
# and the queue id, and HOLD keeps the whole message in the hold queue.`
	if p.Stage == "DATA" {
		restrictions = "smtpd_data_restrictions"
		why = `# At DATA the recipients are known but not the size; the message is refused
# (or held) before its body is sent.`
	}
	service := serviceAddr(p.Listen[0])
	fmt.Fprintf(env.Stdout, `# The policy server answers at the end of each SMTP message. It shares its
# counters and suspensions with the milter (a message both see is counted once).
%s
%s = check_policy_service %s

# Fail open: if vigie is stopped or slow, Postfix accepts the mail instead of
# refusing it (its default is "451 4.3.5 Server configuration problem").
smtpd_policy_service_default_action = DUNNO
# vigie answers in well under a millisecond; give up on it quickly.
smtpd_policy_service_timeout = 10s
smtpd_policy_service_try_limit = 2
smtpd_policy_service_retry_delay = 1s
# Postfix keeps its connections to vigie open between messages; vigie closes
# connections idle for policy.idle_timeout (%s), longer than this:
smtpd_policy_service_max_idle = 300s
smtpd_policy_service_max_ttl = 1000s

# ---- master.cf ----
# If your submission (587) or submissions (465) services override
# smtpd_milters or %s with -o, add vigie there too, for example:
#   submission inet n - y - - smtpd
#     -o { %s = check_policy_service %s }
# Mail from the Internet is not counted (vigie answers DUNNO unless the client
# authenticated or is in policy.unauthenticated_networks).
`, why, restrictions, service, p.IdleTimeout, restrictions, restrictions, service)
	if strings.HasPrefix(service, "unix:") || strings.HasPrefix(p.Milter.Listen, "unix:") {
		fmt.Fprintf(env.Stdout, `
# A chrooted smtpd (master.cf chroot column "y") sees only the queue directory:
# put the sockets there (e.g. policy.listen: unix:/var/spool/postfix/private/vigie)
# and write them relative to it: check_policy_service unix:private/vigie
`)
	}
	fmt.Fprintln(env.Stdout, "\n# Check what the running Postfix lacks: vigie postfix-config --check")
	return exitOK
}

// postfixCheck compares the running configuration with what vigie needs.
func postfixCheck(ctx context.Context, env *Env, p *config.Policy, postconf string) int {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	run := func(args ...string) (string, error) {
		if p.Postfix.ConfigDir != "" {
			args = append([]string{"-c", p.Postfix.ConfigDir}, args...)
		}
		out, err := exec.CommandContext(ctx, postconf, args...).Output()
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", postconf, strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	wants := postfixWants(p)
	names := make([]string, len(wants))
	for i, w := range wants {
		names[i] = w.name
	}
	mainOut, err := run(names...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie postfix-config --check: %v\n", err)
		return exitFail
	}
	values := parsePostconf(mainOut)
	missing := 0
	report := func(where string, w postfixWant, have string) {
		if problem := w.problem(have); problem != "" {
			missing++
			fmt.Fprintf(env.Stdout, "MISSING %s%s: %s (now: %q); needed so that %s\n", where, w.name, problem, have, w.why)
		}
	}
	for _, w := range wants {
		report("", w, values[w.name])
	}
	// master.cf services that override a setting (-o name=value)
	if out, err := run("-P"); err == nil {
		for _, line := range strings.Split(out, "\n") {
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
				if parts[2] == w.name {
					report("master.cf service "+parts[0]+"/"+parts[1]+" overrides ", w, val)
				}
			}
		}
	}
	if missing > 0 {
		fmt.Fprintf(env.Stdout, "%d settings missing: see 'vigie postfix-config' for the lines, then 'postfix reload'\n", missing)
		return exitFail
	}
	fmt.Fprintln(env.Stdout, "ok: every path mail leaves by passes vigie's gate, failing open")
	return exitOK
}

func (w postfixWant) problem(have string) string {
	if w.equals != "" {
		if strings.TrimSpace(have) != w.equals {
			return "should be " + w.equals
		}
		return ""
	}
	// Postfix lists are separated by spaces or commas
	fields := strings.FieldsFunc(have, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	var lacks []string
	for _, c := range w.contains {
		if !strings.Contains(" "+strings.Join(fields, " ")+" ", " "+c+" ") && !containsWords(fields, strings.Fields(c)) {
			lacks = append(lacks, c)
		}
	}
	if len(lacks) > 0 {
		return "lacks " + strings.Join(lacks, " ")
	}
	return ""
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

// parsePostconf reads "name = value" lines.
func parsePostconf(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}
