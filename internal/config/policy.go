package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
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
	// Unauthenticated mail is counted only from these networks, per client
	// address (UnauthenticatedKey must be "client": a per-sender count let
	// a web app forging a new sender per message through); other
	// unauthenticated mail (inbound mail from the Internet) is not counted.
	UnauthenticatedNetworks []string `yaml:"unauthenticated_networks"`
	UnauthenticatedKey      string   `yaml:"unauthenticated_key"`
	// Allow lists subjects (a SASL account, uid:N, client:ADDR) that are
	// neither limited nor contained automatically: a newsletter account.
	// An admin can still suspend them by hand.
	Allow []string `yaml:"allow"`
	// Milter is the gate every path passes (smtpd_milters and
	// non_smtpd_milters).
	Milter Milter `yaml:"milter"`
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

// Milter is where Postfix's milter clients connect: Listen for
// smtpd_milters (SMTP mail), LocalListen for non_smtpd_milters (sendmail
// mail). Two addresses, so that a message's path is known from where
// Postfix connected. Empty: that milter is not served.
type Milter struct {
	Listen      string `yaml:"listen"`
	LocalListen string `yaml:"local_listen"`
	// Timeout: past it the milter accepts the message (fail-open).
	Timeout time.Duration `yaml:"timeout"`
}

// Containment decides what happens when a critical compromise alert
// fires: `containment: off` is a whole line.
type Containment struct {
	// Automatic suspends the subject (its new mail is held) and holds its
	// queued mail at once. Off: the alert's incident timeline says what
	// the admin should run.
	Automatic bool `yaml:"automatic"`
	// Rules are the mail watch rules whose critical alert means
	// "compromised" (the policy server's own critical over-limit alert
	// always does).
	Rules []string `yaml:"rules"`
	// OverLimitMessages: a subject that keeps sending after this many of
	// its messages were answered over_limit within its first window is
	// compromised (the over-limit alert turns critical).
	OverLimitMessages int `yaml:"over_limit_messages"`
	// PollInterval is how often firing alerts are looked for in the store.
	PollInterval time.Duration `yaml:"poll_interval"`
	// HoldQueued also holds the account's mail already in the queue.
	HoldQueued bool `yaml:"hold_queued"`
}

// UnmarshalYAML accepts `containment: off` (or on) as well as the
// mapping.
func (c *Containment) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var sw Switch
		if err := sw.UnmarshalYAML(n); err != nil || sw == SwitchAuto {
			return fmt.Errorf("line %d: policy.containment: expected on, off or a mapping, got %q", n.Line, n.Value)
		}
		c.Automatic = sw == SwitchOn
		return nil
	}
	type plain Containment
	return n.Decode((*plain)(c))
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
			{Window: time.Minute, Messages: 20, Recipients: 300},
			{Window: time.Hour, Messages: 300, Recipients: 2000},
			{Window: 24 * time.Hour, Messages: 1000, Recipients: 5000},
		},
		Accounts:                map[string][]Limit{},
		Domains:                 map[string][]Limit{},
		UnauthenticatedNetworks: []string{"127.0.0.0/8", "::1/128"},
		UnauthenticatedKey:      "client",
		Allow:                   []string{},
		Milter:                  Milter{Listen: "127.0.0.1:10041", LocalListen: "127.0.0.1:10042", Timeout: 2 * time.Second},
		OverLimit:               Action{Action: "HOLD", Text: "Sending limit reached: held by vigie for review"},
		Suspended:               Action{Action: "HOLD", Text: "Account suspended by vigie"},
		Containment: Containment{
			Automatic:         true,
			Rules:             []string{"account-volume", "sasl-many-ips"},
			OverLimitMessages: 10,
			PollInterval:      time.Second,
			HoldQueued:        true,
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
	if p.UnauthenticatedKey == "sender" {
		c.bad("policy.unauthenticated_key", "sender is no longer accepted: a web app forging a new sender per message passed every per-sender limit; unauthenticated mail is limited per client")
	} else {
		c.oneOf("policy.unauthenticated_key", p.UnauthenticatedKey, "client")
	}
	for i, a := range p.Allow {
		if strings.TrimSpace(a) == "" {
			c.bad(fmt.Sprintf("policy.allow[%d]", i), "expected a subject: a SASL account, uid:N or client:ADDRESS")
		}
	}
	for _, m := range []struct{ key, addr string }{{"policy.milter.listen", p.Milter.Listen}, {"policy.milter.local_listen", p.Milter.LocalListen}} {
		if m.addr == "" {
			continue
		}
		if path, ok := strings.CutPrefix(m.addr, "unix:"); ok {
			if !strings.HasPrefix(path, "/") {
				c.bad(m.key, "expected an absolute socket path after unix:, got %q", m.addr)
			}
		} else if err := checkLoopback(m.addr); err != nil {
			c.bad(m.key, "%v (Postfix runs on this machine: listen on loopback or a unix socket)", err)
		}
	}
	if p.Milter.Listen != "" && p.Milter.Listen == p.Milter.LocalListen {
		c.bad("policy.milter.local_listen", "must differ from policy.milter.listen: the address tells SMTP mail from sendmail mail")
	}
	c.positive("policy.milter.timeout", p.Milter.Timeout)
	c.atLeast("policy.containment.over_limit_messages", p.Containment.OverLimitMessages, 1)
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
