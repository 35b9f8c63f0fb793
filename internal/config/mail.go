package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Mail configures the mail watch: the Postfix log (a file or the systemd
// journal), the queue (postqueue -j) and the detectors' thresholds.
type Mail struct {
	// Enabled: auto turns the watch on when the log file exists or the
	// journal holds Postfix lines.
	Enabled Switch `yaml:"enabled"`
	// Source of the log: auto (the file if it exists, else the journal),
	// file or journal.
	Source string `yaml:"source"`
	// LogFile is the Postfix log (syslog's mail.log or Postfix's own
	// maillog_file).
	LogFile string `yaml:"log_file"`
	// Journalctl is the program that reads the journal (journalctl -f -o json).
	Journalctl string `yaml:"journalctl"`
	// PollInterval is how often the log file is checked for new lines and rotation.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxLine: longer lines are counted and skipped.
	MaxLine int `yaml:"max_line"`
	// SilentAfter: the watch reports itself blind (an alert of the vigie
	// watch, /healthz 503) when the log has not advanced for this long
	// while Postfix's queue changed meanwhile: mail flows but vigie does
	// not see it (rsyslog stopped, the file moved, logrotate without a
	// reload). 0 turns the check off.
	SilentAfter time.Duration `yaml:"silent_after"`
	// MyNetworks are the networks Postfix relays for without
	// authentication (its mynetworks): their clients' mail is outbound
	// mail of ours, counted to the client's address. Loopback always is.
	MyNetworks []string `yaml:"mynetworks"`

	Queue       MailQueue       `yaml:"queue"`
	Volume      MailVolume      `yaml:"volume"`
	SASL        MailSASL        `yaml:"sasl"`
	QueueGrowth MailQueueGrowth `yaml:"queue_growth"`
	Storm       MailStorm       `yaml:"storm"`
	Blocklist   MailBlocklist   `yaml:"blocklist"`
}

// MailQueue configures the reading of the queue with postqueue -j.
type MailQueue struct {
	Enabled   Switch        `yaml:"enabled"` // auto: when postqueue is installed
	Interval  time.Duration `yaml:"interval"`
	Postqueue string        `yaml:"postqueue"`
	// ConfigDir is passed as postqueue -c DIR; empty: Postfix's default.
	// It is postfix.config_dir (the old key mail.queue.config_dir still
	// sets it, with a warning).
	ConfigDir string `yaml:"-"`
	// TopSenders is how many senders with the most queued mail are kept.
	TopSenders int `yaml:"top_senders"`
}

// MailWindows holds one number per counting window.
type MailWindows struct {
	Minute int `yaml:"minute"`
	Hour   int `yaml:"hour"`
	Day    int `yaml:"day"`
}

// MailVolume is the account-volume rule: an account (SASL user) or a
// local uid sending far above its own habit, or above a ceiling.
type MailVolume struct {
	// Messages and Recipients are the floors: below them an account never
	// alerts, whatever its habit (a new account has no habit).
	Messages   MailWindows `yaml:"messages"`
	Recipients MailWindows `yaml:"recipients"`
	// HabitFactor: an account alerts above this many times its busiest
	// minute, hour and day of the last HabitDays days.
	HabitFactor float64 `yaml:"habit_factor"`
	HabitDays   int     `yaml:"habit_days"`
	// Ceilings alert whatever the habit, as critical.
	MessagesCeiling   MailWindows `yaml:"messages_ceiling"`
	RecipientsCeiling MailWindows `yaml:"recipients_ceiling"`
	// PaceMessages and PaceSlots: a subject alerts when it sends more in
	// the last hour than PaceMessages, than its busiest day and than
	// habit_factor times its busiest hour, in at least PaceSlots of the
	// hour's twelve 5-minute slots (a slow, steady sender).
	PaceMessages int `yaml:"pace_messages"`
	PaceSlots    int `yaml:"pace_slots"`
	// Domains (recipient domains it never sent to) and Bounces (unknown
	// user) in the last hour make an alert critical; so do remote
	// refusals and logins from new networks.
	Domains int `yaml:"domains"`
	Bounces int `yaml:"bounces"`
	// Calm: an alert resolves once the account's last minute is under its
	// limit and it sent nothing for this long.
	Calm time.Duration `yaml:"calm"`
}

// MailSASL configures the SASL rules.
type MailSASL struct {
	// NewNetworks: one SASL user logged in from this many networks new to
	// it within NewNetworksWindow (sasl-many-ips, critical). A network is
	// the client's /NetworkBitsV4 or /NetworkBitsV6; networks are learned
	// per user over volume.habit_days; new networks in one /16 (IPv4) or
	// /48 (IPv6), or next to a known one, count once (a carrier's NAT pool).
	NewNetworks       int           `yaml:"new_networks"`
	NewNetworksWindow time.Duration `yaml:"new_networks_window"`
	NetworkBitsV4     int           `yaml:"network_bits_v4"`
	NetworkBitsV6     int           `yaml:"network_bits_v6"`
	// FailuresPerNetwork authentication failures (with or without a user
	// name, and auth=0/N on disconnect lines) from one client network
	// within FailuresNetworkWindow: password spraying from many
	// addresses, 1 to 3 tries each.
	FailuresPerNetwork    int           `yaml:"failures_per_network"`
	FailuresNetworkWindow time.Duration `yaml:"failures_network_window"`
	// Authentication failures within FailuresWindow, per client address
	// and per user name (Postfix 3.9+ logs the name).
	FailuresPerIP   int           `yaml:"failures_per_ip"`
	FailuresPerUser int           `yaml:"failures_per_user"`
	FailuresWindow  time.Duration `yaml:"failures_window"`
}

// MailQueueGrowth is the queue-growth rule.
type MailQueueGrowth struct {
	// Deferred messages in the queue that alert on their own.
	Deferred int `yaml:"deferred"`
	// Growth of the deferred count within Window that alerts.
	Growth int           `yaml:"growth"`
	Window time.Duration `yaml:"window"`
}

// MailStorm is the bounce and deferral storm rule.
type MailStorm struct {
	Window time.Duration `yaml:"window"`
	// Failures: bounced (or deferred) deliveries within Window, which must
	// also be at least Ratio of all deliveries.
	Failures int     `yaml:"failures"`
	Ratio    float64 `yaml:"ratio"`
}

// MailBlocklist is the remote-blocklist rule (a receiving server says our
// address is listed).
type MailBlocklist struct {
	// Repeat: while refusals go on, the alert is refreshed this often.
	Repeat time.Duration `yaml:"repeat"`
	// ResolveAfter: the alert resolves after this long without a refusal.
	ResolveAfter time.Duration `yaml:"resolve_after"`
}

func defaultMail() Mail {
	return Mail{
		Enabled:      SwitchAuto,
		Source:       "auto",
		LogFile:      "/var/log/mail.log",
		Journalctl:   "journalctl",
		PollInterval: 250 * time.Millisecond,
		SilentAfter:  10 * time.Minute,
		MaxLine:      65536,
		MyNetworks:   []string{},
		Queue:        MailQueue{Enabled: SwitchAuto, Interval: 30 * time.Second, Postqueue: "postqueue", TopSenders: 10},
		Volume: MailVolume{
			Messages:          MailWindows{Minute: 20, Hour: 150, Day: 600},
			Recipients:        MailWindows{Minute: 100, Hour: 500, Day: 2000},
			HabitFactor:       3,
			HabitDays:         28,
			MessagesCeiling:   MailWindows{Minute: 300, Hour: 3000, Day: 20000},
			RecipientsCeiling: MailWindows{Minute: 1000, Hour: 10000, Day: 50000},
			PaceMessages:      20,
			PaceSlots:         9,
			Domains:           20,
			Bounces:           10,
			Calm:              15 * time.Minute,
		},
		SASL: MailSASL{NewNetworks: 4, NewNetworksWindow: 30 * time.Minute, NetworkBitsV4: 24, NetworkBitsV6: 64,
			FailuresPerNetwork: 15, FailuresNetworkWindow: time.Hour,
			FailuresPerIP: 10, FailuresPerUser: 10, FailuresWindow: 10 * time.Minute},
		QueueGrowth: MailQueueGrowth{Deferred: 500, Growth: 200, Window: 30 * time.Minute},
		Storm:       MailStorm{Window: 10 * time.Minute, Failures: 100, Ratio: 0.3},
		Blocklist:   MailBlocklist{Repeat: 5 * time.Minute, ResolveAfter: 24 * time.Hour},
	}
}

func (w MailWindows) validate(c *checker, key string) {
	c.atLeast(key+".minute", w.Minute, 1)
	c.atLeast(key+".hour", w.Hour, 1)
	c.atLeast(key+".day", w.Day, 1)
}

func (m *Mail) validate(c *checker) {
	c.oneOf("mail.source", m.Source, "auto", "file", "journal")
	if m.Source == "file" && m.LogFile == "" {
		c.bad("mail.log_file", "source is file but no log_file is set")
	}
	c.positive("mail.poll_interval", m.PollInterval)
	if m.SilentAfter < 0 {
		c.bad("mail.silent_after", "expected a duration, 0 to turn the check off, got %s", m.SilentAfter)
	}
	c.atLeast("mail.max_line", m.MaxLine, 1024)
	for i, n := range m.MyNetworks {
		if _, err := ParseNetwork(n); err != nil {
			c.bad(fmt.Sprintf("mail.mynetworks[%d]", i), "%v", err)
		}
	}
	c.positive("mail.queue.interval", m.Queue.Interval)
	c.atLeast("mail.queue.top_senders", m.Queue.TopSenders, 0)
	v := &m.Volume
	v.Messages.validate(c, "mail.volume.messages")
	v.Recipients.validate(c, "mail.volume.recipients")
	v.MessagesCeiling.validate(c, "mail.volume.messages_ceiling")
	v.RecipientsCeiling.validate(c, "mail.volume.recipients_ceiling")
	if v.HabitFactor < 1 {
		c.bad("mail.volume.habit_factor", "expected a number of at least 1, got %v", v.HabitFactor)
	}
	c.atLeast("mail.volume.habit_days", v.HabitDays, 1)
	if v.HabitDays > 366 {
		c.bad("mail.volume.habit_days", "expected at most 366, got %d", v.HabitDays)
	}
	c.atLeast("mail.volume.pace_messages", v.PaceMessages, 1)
	if v.PaceSlots < 1 || v.PaceSlots > 12 {
		c.bad("mail.volume.pace_slots", "expected 1 to 12 (5-minute slots of an hour), got %d", v.PaceSlots)
	}
	c.atLeast("mail.volume.domains", v.Domains, 1)
	c.atLeast("mail.volume.bounces", v.Bounces, 1)
	c.positive("mail.volume.calm", v.Calm)
	c.atLeast("mail.sasl.new_networks", m.SASL.NewNetworks, 2)
	c.positive("mail.sasl.new_networks_window", m.SASL.NewNetworksWindow)
	if b := m.SASL.NetworkBitsV4; b < 8 || b > 32 {
		c.bad("mail.sasl.network_bits_v4", "expected 8 to 32, got %d", b)
	}
	if b := m.SASL.NetworkBitsV6; b < 16 || b > 128 {
		c.bad("mail.sasl.network_bits_v6", "expected 16 to 128, got %d", b)
	}
	c.atLeast("mail.sasl.failures_per_network", m.SASL.FailuresPerNetwork, 1)
	c.positive("mail.sasl.failures_network_window", m.SASL.FailuresNetworkWindow)
	c.atLeast("mail.sasl.failures_per_ip", m.SASL.FailuresPerIP, 1)
	c.atLeast("mail.sasl.failures_per_user", m.SASL.FailuresPerUser, 1)
	c.positive("mail.sasl.failures_window", m.SASL.FailuresWindow)
	c.atLeast("mail.queue_growth.deferred", m.QueueGrowth.Deferred, 1)
	c.atLeast("mail.queue_growth.growth", m.QueueGrowth.Growth, 1)
	c.positive("mail.queue_growth.window", m.QueueGrowth.Window)
	c.positive("mail.storm.window", m.Storm.Window)
	c.atLeast("mail.storm.failures", m.Storm.Failures, 1)
	if m.Storm.Ratio <= 0 || m.Storm.Ratio > 1 {
		c.bad("mail.storm.ratio", "expected a fraction above 0 and at most 1, got %v", m.Storm.Ratio)
	}
	c.positive("mail.blocklist.repeat", m.Blocklist.Repeat)
	c.positive("mail.blocklist.resolve_after", m.Blocklist.ResolveAfter)
}

// ParseNetwork reads a network as Postfix's mynetworks writes it: a CIDR
// prefix ("192.0.2.0/24", "[2001:db8::]/64") or one address.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		s = strings.Replace(strings.TrimPrefix(s, "["), "]", "", 1)
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("expected a network (192.0.2.0/24) or an address, got %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// MyNetworkPrefixes is MyNetworks parsed (validated at load).
func (m *Mail) MyNetworkPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range m.MyNetworks {
		if p, err := ParseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}
