package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Notify lists the notifiers, how alerts are routed to them, and how
// their messages are batched and retried.
type Notify struct {
	Log LogNotifier `yaml:"log"`
	// Delivery tunes batching, rate limiting and retries, per notifier.
	Delivery     Delivery               `yaml:"delivery"`
	Webhook      []WebhookNotifier      `yaml:"webhook"`
	Email        []EmailNotifier        `yaml:"email"`
	Matrix       []MatrixNotifier       `yaml:"matrix"`
	Ntfy         []NtfyNotifier         `yaml:"ntfy"`
	Slack        []SlackNotifier        `yaml:"slack"`
	Alertmanager []AlertmanagerNotifier `yaml:"alertmanager"`
	Routes       []Route                `yaml:"routes"`
}

// LogNotifier writes alert changes to vigie's own log.
type LogNotifier struct {
	Enabled     bool   `yaml:"enabled"`
	MinSeverity string `yaml:"min_severity"` // info, warning, critical
}

// Delivery tunes every notifier's dispatcher.
type Delivery struct {
	GroupWait   time.Duration `yaml:"group_wait"`
	MinInterval time.Duration `yaml:"min_interval"`
	Backoff     time.Duration `yaml:"backoff"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	MaxAttempts int           `yaml:"max_attempts"`
	QueueSize   int           `yaml:"queue_size"`
}

// WebhookNotifier posts signed JSON.
type WebhookNotifier struct {
	Name    string `yaml:"name"`
	URL     string `yaml:"url"`
	HMACKey Secret `yaml:"hmac_key"`
	CAFile  string `yaml:"ca_file"`
}

// EmailNotifier sends mail through a server and an optional relay.
type EmailNotifier struct {
	Name   string     `yaml:"name"`
	From   string     `yaml:"from"`
	To     []string   `yaml:"to"`
	Helo   string     `yaml:"helo"`
	Server SMTPServer `yaml:"server"`
	// Relay, when its address is set, is tried when the server fails, and
	// first for blocklisting alerts (the server's own mail may be refused).
	Relay SMTPServer `yaml:"relay"`
}

// SMTPServer is where mail is submitted.
type SMTPServer struct {
	Address  string `yaml:"address"` // host:port
	TLS      string `yaml:"tls"`     // required, opportunistic or tls
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	CAFile   string `yaml:"ca_file"`
}

// MatrixNotifier posts to a room.
type MatrixNotifier struct {
	Name        string `yaml:"name"`
	Homeserver  string `yaml:"homeserver"`
	RoomID      string `yaml:"room_id"`
	AccessToken Secret `yaml:"access_token"`
	CAFile      string `yaml:"ca_file"`
}

// NtfyNotifier publishes to a topic.
type NtfyNotifier struct {
	Name     string `yaml:"name"`
	Server   string `yaml:"server"`
	Topic    string `yaml:"topic"`
	Token    Secret `yaml:"token"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	CAFile   string `yaml:"ca_file"`
}

// SlackNotifier posts to an incoming webhook; the URL is the secret.
type SlackNotifier struct {
	Name string `yaml:"name"`
	URL  Secret `yaml:"url"`
}

// AlertmanagerNotifier pushes to Alertmanager's API v2.
type AlertmanagerNotifier struct {
	Name     string `yaml:"name"`
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	Token    Secret `yaml:"token"`
	CAFile   string `yaml:"ca_file"`
}

// Route sends some watches' alerts, at or above a severity, to some
// notifiers. A notifier no route names gets every alert.
type Route struct {
	Watches     []string `yaml:"watches"`
	MinSeverity string   `yaml:"min_severity"`
	Notifiers   []string `yaml:"notifiers"`
}

func defaultNotify() Notify {
	return Notify{
		Log:      LogNotifier{Enabled: true, MinSeverity: "info"},
		Delivery: Delivery{GroupWait: 5 * time.Second, MinInterval: time.Minute, Backoff: 2 * time.Second, MaxBackoff: 5 * time.Minute, QueueSize: 10000},
		Webhook:  []WebhookNotifier{}, Email: []EmailNotifier{}, Matrix: []MatrixNotifier{}, Ntfy: []NtfyNotifier{},
		Slack: []SlackNotifier{}, Alertmanager: []AlertmanagerNotifier{}, Routes: []Route{},
	}
}

// NotifierName is a notifier's name: its own, else its kind.
func NotifierName(name, kind string) string {
	if name != "" {
		return name
	}
	return kind
}

var severities = []string{"info", "warning", "critical"}

func (n *Notify) validate(c *checker) {
	c.oneOf("notify.log.min_severity", n.Log.MinSeverity, severities...)
	d := n.Delivery
	c.positive("notify.delivery.group_wait", d.GroupWait)
	c.positive("notify.delivery.min_interval", d.MinInterval)
	c.positive("notify.delivery.backoff", d.Backoff)
	c.positive("notify.delivery.max_backoff", d.MaxBackoff)
	c.atLeast("notify.delivery.max_attempts", d.MaxAttempts, 0)
	c.atLeast("notify.delivery.queue_size", d.QueueSize, 1)

	names := map[string]bool{}
	if n.Log.Enabled {
		names["log"] = true
	}
	name := func(key, name, kind string) {
		nm := NotifierName(name, kind)
		if names[nm] {
			c.bad(key+".name", "two notifiers are named %q: give each a distinct name", nm)
		}
		names[nm] = true
	}
	for i, w := range n.Webhook {
		k := fmt.Sprintf("notify.webhook[%d]", i)
		name(k, w.Name, "webhook")
		checkURL(c, k+".url", w.URL)
		if !w.HMACKey.IsSet() {
			c.bad(k+".hmac_key", "a webhook needs an hmac_key so the receiver can tell vigie's requests from forged ones")
		}
	}
	for i, e := range n.Email {
		k := fmt.Sprintf("notify.email[%d]", i)
		name(k, e.Name, "email")
		if _, err := mail.ParseAddress(e.From); err != nil {
			c.bad(k+".from", "expected a mail address, got %q", e.From)
		}
		if len(e.To) == 0 {
			c.bad(k+".to", "expected at least one address")
		}
		for j, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				c.bad(fmt.Sprintf("%s.to[%d]", k, j), "expected a mail address, got %q", to)
			}
		}
		checkSMTP(c, k+".server", e.Server, true)
		checkSMTP(c, k+".relay", e.Relay, false)
	}
	for i, m := range n.Matrix {
		k := fmt.Sprintf("notify.matrix[%d]", i)
		name(k, m.Name, "matrix")
		checkURL(c, k+".homeserver", m.Homeserver)
		if !strings.HasPrefix(m.RoomID, "!") || !strings.Contains(m.RoomID, ":") {
			c.bad(k+".room_id", "expected a room id such as !abcdef:example.org (Room settings, Advanced), got %q", m.RoomID)
		}
		if !m.AccessToken.IsSet() {
			c.bad(k+".access_token", "the bot account's access token is required")
		}
	}
	for i, t := range n.Ntfy {
		k := fmt.Sprintf("notify.ntfy[%d]", i)
		name(k, t.Name, "ntfy")
		checkURL(c, k+".server", t.Server)
		if t.Topic == "" || strings.ContainsAny(t.Topic, "/?#") {
			c.bad(k+".topic", "expected a topic name without /, ? or #, got %q", t.Topic)
		}
		if t.Token.IsSet() && t.Username != "" {
			c.bad(k+".token", "set token or username and password, not both")
		}
	}
	for i, s := range n.Slack {
		k := fmt.Sprintf("notify.slack[%d]", i)
		name(k, s.Name, "slack")
		if !s.URL.IsSet() {
			c.bad(k+".url", "the incoming webhook URL is required")
		} else if u, err := url.Parse(s.URL.Value()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			c.bad(k+".url", "expected an http(s) URL (%s)", s.URL) // never print the secret itself
		}
	}
	for i, a := range n.Alertmanager {
		k := fmt.Sprintf("notify.alertmanager[%d]", i)
		name(k, a.Name, "alertmanager")
		checkURL(c, k+".url", a.URL)
	}
	for i, r := range n.Routes {
		k := fmt.Sprintf("notify.routes[%d]", i)
		if r.MinSeverity != "" {
			c.oneOf(k+".min_severity", r.MinSeverity, severities...)
		}
		if len(r.Notifiers) == 0 {
			c.bad(k+".notifiers", "expected the names of the notifiers this route sends to")
		}
		for _, nm := range r.Notifiers {
			if !names[nm] {
				c.bad(k+".notifiers", "no notifier is named %q", nm)
			}
		}
	}
}

func checkURL(c *checker, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.bad(key, "expected an http:// or https:// URL, got %q", raw)
	}
}

func checkSMTP(c *checker, key string, s SMTPServer, required bool) {
	if s.Address == "" && !required {
		return
	}
	if _, _, err := net.SplitHostPort(s.Address); err != nil {
		c.bad(key+".address", "expected host:port such as smtp.example.org:587, got %q", s.Address)
	}
	if s.TLS != "" {
		c.oneOf(key+".tls", s.TLS, "required", "opportunistic", "tls")
	}
	if s.Password.IsSet() && s.Username == "" {
		c.bad(key+".username", "a password is set but no username")
	}
}
