package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Policy configures the Postfix SMTP access policy server: per-account
// sending limits, suspensions and containment of a compromised account.
type Policy struct {
	// Enabled: auto runs the server when Postfix is configured to ask it
	// (main.cf or master.cf in postfix.config_dir names a listen address
	// in a check_policy_service).
	Enabled Switch `yaml:"enabled"`
	// Listen is where Postfix connects: host:port (loopback) or unix:PATH.
	Listen []string `yaml:"listen"`
	// Stage is the protocol_state at which messages are counted:
	// END-OF-MESSAGE (smtpd_end_of_data_restrictions) or DATA
	// (smtpd_data_restrictions). Requests at other stages are only
	// checked for suspension.
	Stage string `yaml:"stage"`
	// MaxConnections bounds simultaneous Postfix connections; more are
	// closed at once, with a log line.
	MaxConnections int `yaml:"max_connections"`
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// DecisionTimeout: past it vigie answers DUNNO (fail-open) and counts it.
	DecisionTimeout time.Duration `yaml:"decision_timeout"`
	// Limits apply to every account without an override.
	Limits []Limit `yaml:"limits"`
	// Accounts and Domains replace Limits for one SASL account or every
	// account of one domain (the part after @ of the account, else of the
	// sender). An account override wins over a domain one.
	Accounts map[string][]Limit `yaml:"accounts"`
	Domains  map[string][]Limit `yaml:"domains"`
	// Unauthenticated mail is counted only from these networks, keyed by
	// UnauthenticatedKey (sender or client); other unauthenticated mail
	// (inbound mail from the Internet) is not counted.
	UnauthenticatedNetworks []string `yaml:"unauthenticated_networks"`
	UnauthenticatedKey      string   `yaml:"unauthenticated_key"`
	// OverLimit is the answer for a message over a limit.
	OverLimit Action `yaml:"over_limit"`
	// Suspended is the answer for every message of a suspended account.
	Suspended   Action      `yaml:"suspended"`
	Containment Containment `yaml:"containment"`
	// RecordRetention is how long queue id -> account records are kept
	// (Postfix's maximal_queue_lifetime is 5 days by default).
	RecordRetention time.Duration `yaml:"record_retention"`
	Postfix         Postfix       `yaml:"postfix"`
}

// Limit is one window: at most Messages messages and Recipients
// recipients within any Window (0: no limit on that count).
type Limit struct {
	Window     time.Duration `yaml:"window"`
	Messages   int           `yaml:"messages"`
	Recipients int           `yaml:"recipients"`
}

// Action is a policy answer and the text shown to the client.
type Action struct {
	Action string `yaml:"action"` // DEFER_IF_PERMIT, HOLD, REJECT, DEFER or DISCARD
	Text   string `yaml:"text"`
}

// Containment decides what happens when the mail watch says an account is
// compromised.
type Containment struct {
	// Automatic suspends the account and holds its queued mail at once.
	// Off: the alert's incident timeline says what the admin should run.
	Automatic bool `yaml:"automatic"`
	// Rules are the mail watch rules whose firing alert (subject: the SASL
	// account) means "compromised".
	Rules []string `yaml:"rules"`
	// PollInterval is how often firing alerts are looked for in the store.
	PollInterval time.Duration `yaml:"poll_interval"`
	// HoldQueued also holds the account's mail already in the queue.
	HoldQueued bool `yaml:"hold_queued"`
}

// Postfix says how to reach the Postfix queue tools.
type Postfix struct {
	// ConfigDir is passed as -c to the tools; empty: Postfix's default.
	// It is postfix.config_dir (the old key policy.postfix.config_dir
	// still sets it, with a warning).
	ConfigDir string `yaml:"-"`
	// Commands, each a program and its first arguments (for example
	// [sudo, -n, /usr/sbin/postsuper] when vigie does not run as root).
	Postqueue []string `yaml:"postqueue"`
	Postsuper []string `yaml:"postsuper"`
	Postcat   []string `yaml:"postcat"`
	// Timeout bounds one run of a queue tool.
	Timeout time.Duration `yaml:"timeout"`
}

func defaultPolicy() Policy {
	return Policy{
		Enabled:         SwitchAuto,
		Listen:          []string{"127.0.0.1:10040"},
		Stage:           "END-OF-MESSAGE",
		MaxConnections:  1000,
		IdleTimeout:     6 * time.Minute,
		DecisionTimeout: 100 * time.Millisecond,
		Limits: []Limit{
			{Window: time.Minute, Messages: 30, Recipients: 300},
			{Window: time.Hour, Messages: 300, Recipients: 2000},
			{Window: 24 * time.Hour, Messages: 1000, Recipients: 5000},
		},
		Accounts:                map[string][]Limit{},
		Domains:                 map[string][]Limit{},
		UnauthenticatedNetworks: []string{"127.0.0.0/8", "::1/128"},
		UnauthenticatedKey:      "sender",
		OverLimit:               Action{Action: "DEFER_IF_PERMIT", Text: "4.7.1 Sending limit reached for this account, try again later"},
		Suspended:               Action{Action: "HOLD", Text: "Account suspended by vigie"},
		Containment: Containment{
			Automatic:    false,
			Rules:        []string{"account-volume", "sasl-many-ips"},
			PollInterval: time.Second,
			HoldQueued:   true,
		},
		RecordRetention: 120 * time.Hour,
		Postfix: Postfix{
			Postqueue: []string{"postqueue"},
			Postsuper: []string{"postsuper"},
			Postcat:   []string{"postcat"},
			Timeout:   2 * time.Minute,
		},
	}
}

// PolicyActions are the answers an over-limit or suspended account may get.
var PolicyActions = []string{"DEFER_IF_PERMIT", "HOLD", "REJECT", "DEFER", "DISCARD"}

func (p *Policy) validate(c *checker) {
	if len(p.Listen) == 0 {
		c.bad("policy.listen", "expected at least one address (host:port or unix:PATH)")
	}
	for i, l := range p.Listen {
		key := fmt.Sprintf("policy.listen[%d]", i)
		if path, ok := strings.CutPrefix(l, "unix:"); ok {
			if !strings.HasPrefix(path, "/") {
				c.bad(key, "expected an absolute socket path after unix:, got %q", l)
			}
			continue
		}
		if err := checkLoopback(l); err != nil {
			c.bad(key, "%v (Postfix runs on this machine: listen on loopback or a unix socket)", err)
		}
	}
	c.oneOf("policy.stage", p.Stage, "END-OF-MESSAGE", "DATA")
	c.atLeast("policy.max_connections", p.MaxConnections, 1)
	c.positive("policy.idle_timeout", p.IdleTimeout)
	c.positive("policy.decision_timeout", p.DecisionTimeout)
	checkLimits(c, "policy.limits", p.Limits)
	for name, ls := range p.Accounts {
		checkLimits(c, "policy.accounts."+name, ls)
	}
	for name, ls := range p.Domains {
		checkLimits(c, "policy.domains."+name, ls)
	}
	for i, n := range p.UnauthenticatedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			c.bad(fmt.Sprintf("policy.unauthenticated_networks[%d]", i), "expected a network such as 127.0.0.0/8, got %q", n)
		}
	}
	c.oneOf("policy.unauthenticated_key", p.UnauthenticatedKey, "sender", "client")
	checkAction(c, "policy.over_limit", p.OverLimit)
	checkAction(c, "policy.suspended", p.Suspended)
	c.positive("policy.containment.poll_interval", p.Containment.PollInterval)
	c.positive("policy.record_retention", p.RecordRetention)
	for _, cmd := range []struct {
		key  string
		argv []string
	}{{"policy.postfix.postqueue", p.Postfix.Postqueue}, {"policy.postfix.postsuper", p.Postfix.Postsuper}, {"policy.postfix.postcat", p.Postfix.Postcat}} {
		if len(cmd.argv) == 0 || cmd.argv[0] == "" {
			c.bad(cmd.key, "expected a program and its arguments, such as [%s]", cmd.key[strings.LastIndex(cmd.key, ".")+1:])
		}
	}
	c.positive("policy.postfix.timeout", p.Postfix.Timeout)
}

func checkLimits(c *checker, key string, ls []Limit) {
	for i, l := range ls {
		k := fmt.Sprintf("%s[%d]", key, i)
		if l.Window < time.Second {
			c.bad(k+".window", "expected a window of at least 1s, got %v", l.Window)
		}
		if l.Messages < 0 || l.Recipients < 0 {
			c.bad(k, "expected messages and recipients of 0 (no limit) or more")
		}
		if l.Messages == 0 && l.Recipients == 0 {
			c.bad(k, "sets neither messages nor recipients")
		}
	}
}

func checkAction(c *checker, key string, a Action) {
	c.oneOf(key+".action", a.Action, PolicyActions...)
	if strings.ContainsAny(a.Text, "\r\n") {
		c.bad(key+".text", "must be one line")
	}
}
