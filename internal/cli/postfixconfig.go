package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/policy"
)

func postfixConfigCommand() *command {
	return &command{name: "postfix-config", summary: "print (or --check) the Postfix lines that put vigie's gate on every path mail leaves by", run: postfixConfig}
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
			fmt.Fprintf(env.Stdout, "smtpd_milters = %s\n", policy.ServiceAddr(p.Milter.Listen))
		}
		if p.Milter.LocalListen != "" {
			fmt.Fprintf(env.Stdout, "non_smtpd_milters = %s\n", policy.ServiceAddr(p.Milter.LocalListen))
		}
		fmt.Fprintf(env.Stdout, `# Fail open: vigie stopped or slow, Postfix accepts the mail.
milter_default_action = accept
milter_connect_timeout = 5s
milter_command_timeout = 10s
# The SASL user, queue id and client address of every message:
milter_mail_macros = %s

`, policy.MilterMacros)
	}
	restrictions := policy.RestrictionsFor(p.Stage)
	why := `# At END-OF-MESSAGE Postfix knows the final recipient count, the real size
# and the queue id, and HOLD keeps the whole message in the hold queue.`
	if p.Stage == "DATA" {
		why = `# At DATA the recipients are known but not the size; the message is refused
# (or held) before its body is sent.`
	}
	service := policy.ServiceAddr(p.Listen[0])
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

// postfixCheck compares the running configuration with what vigie needs
// (the same comparison vigie doctor makes).
func postfixCheck(ctx context.Context, env *Env, p *config.Policy, postconf string) int {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	gaps, _, err := policy.CheckPostfix(ctx, policy.Postconf{Program: postconf, ConfigDir: p.Postfix.ConfigDir}, policy.PostfixWants(p))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie postfix-config --check: %v\n", err)
		return exitFail
	}
	for _, g := range gaps {
		fmt.Fprintf(env.Stdout, "MISSING %s; needed so that %s\n", g, g.Want.Why)
	}
	if len(gaps) > 0 {
		fmt.Fprintf(env.Stdout, "%d settings missing: see 'vigie postfix-config' for the lines, then 'postfix reload'\n", len(gaps))
		return exitFail
	}
	fmt.Fprintln(env.Stdout, "ok: every path mail leaves by passes vigie's gate, failing open")
	return exitOK
}
