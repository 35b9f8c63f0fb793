package postfixtest

import (
	"fmt"
	"strings"
)

// mainCF is main.cf: the base both suites share, then the options'
// settings. A name the options set again replaces the base line in place,
// so that Postfix never sees a name twice.
func mainCF(o Options, dir, saslSock string, sinkPort int) string {
	lines := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + dir + "/queue",
		"data_directory = " + dir + "/data",
		"command_directory = /usr/sbin",
		"daemon_directory = /usr/lib/postfix/sbin",
		"meta_directory = /etc/postfix",
		"shlib_directory = /usr/lib/postfix",
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = mx.vigie.test",
		"mydomain = vigie.test",
		"myorigin = vigie.test",
		"mydestination =",
		"local_recipient_maps =",
		"alias_maps =",
		"alias_database =",
		"biff = no",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		// everything goes to the sink; no DNS, no TLS
		fmt.Sprintf("relayhost = [127.0.0.1]:%d", sinkPort),
		"smtp_dns_support_level = disabled",
		"disable_dns_lookups = yes",
		"smtp_tls_security_level = none",
		"smtpd_tls_security_level = none",
		"maillog_file = " + dir + "/maillog",
		"maillog_file_prefixes = " + dir,
		"smtpd_sasl_type = dovecot",
		"smtpd_sasl_path = " + saslSock,
	}
	if o.PolicyPort > 0 {
		lines = append(lines,
			fmt.Sprintf("smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:%d", o.PolicyPort),
			"smtpd_policy_service_default_action = DUNNO")
	}
	if o.HeaderChecks != "" {
		lines = append(lines, "header_checks = regexp:"+dir+"/header_checks")
	}
	for _, l := range o.Main {
		name := paramName(l)
		replaced := false
		for i := range lines {
			if paramName(lines[i]) == name {
				lines[i], replaced = l, true
			}
		}
		if !replaced {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func paramName(line string) string {
	name, _, _ := strings.Cut(line, "=")
	return strings.TrimSpace(name)
}

// masterCF is master.cf: smtpd on the SMTP port, the submission listener
// when asked for (SASL required there, its log lines as postfix/submission),
// and Postfix's own services, none chrooted so that they reach the temp
// directory.
func masterCF(smtpPort, subPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "127.0.0.1:%d inet n - n - - smtpd\n", smtpPort)
	if subPort > 0 {
		fmt.Fprintf(&b, `127.0.0.1:%d inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
`, subPort)
	}
	b.WriteString(`pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`)
	return b.String()
}

// MilterMain are the main.cf lines that send SMTP mail to the milter at
// smtpAddr and sendmail mail to the one at localAddr (host:port), failing
// open, as `vigie postfix-config` prints them.
func MilterMain(smtpAddr, localAddr string) []string {
	return []string{
		"smtpd_milters = inet:" + smtpAddr,
		"non_smtpd_milters = inet:" + localAddr,
		"milter_default_action = accept",
		"milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {client_addr}",
		"milter_connect_timeout = 5s",
		"milter_command_timeout = 10s",
	}
}
