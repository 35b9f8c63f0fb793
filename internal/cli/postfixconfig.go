package cli

import (
	"context"
	"fmt"
	"strings"
)

func postfixConfigCommand() *command {
	return &command{name: "postfix-config", summary: "print the Postfix lines that connect Postfix to vigie's policy server", run: postfixConfig}
}

func postfixConfig(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie postfix-config", "[--config FILE]", `
Prints the main.cf (and master.cf) lines that make Postfix ask vigie's
policy server about each message, for the policy.listen addresses of the
configuration. Add them, then run 'postfix reload'.`)
	cfgPath := f.configFlag()
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
	p := cfg.Policy
	service := ""
	for _, l := range p.Listen {
		if path, ok := strings.CutPrefix(l, "unix:"); ok {
			service = "unix:" + path
		} else {
			service = "inet:" + l
		}
		break
	}
	restrictions := "smtpd_end_of_data_restrictions"
	why := `# At END-OF-MESSAGE Postfix knows the final recipient count, the real size
# and the queue id, and HOLD keeps the whole message in the hold queue.`
	if p.Stage == "DATA" {
		restrictions = "smtpd_data_restrictions"
		why = `# At DATA the recipients are known but not the size; the message is refused
# (or held) before its body is sent.`
	}
	fmt.Fprintf(env.Stdout, `# ---- main.cf ----
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
# %s with -o, add the check there too, for example:
#   submission inet n - y - - smtpd
#     -o { %s = check_policy_service %s }
# Mail from the Internet is not counted (vigie answers DUNNO unless the client
# authenticated or is in policy.unauthenticated_networks).
`, why, restrictions, service, p.IdleTimeout, restrictions, restrictions, service)
	if strings.HasPrefix(service, "unix:") {
		fmt.Fprintf(env.Stdout, `
# A chrooted smtpd (master.cf chroot column "y") sees only the queue directory:
# put the socket there (policy.listen: unix:/var/spool/postfix/private/vigie)
# and write it relative to it: check_policy_service unix:private/vigie
`)
	}
	return exitOK
}
