package rdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/vigie/vigie/internal/dnsname"
)

// A Domain is a registration as the registry's RDAP server describes it.
type Domain struct {
	Name        string    // as asked, canonical ("example.fr.")
	Handle      string    // the registry's ROID
	Status      []string  // EPP form, sorted: "clientTransferProhibited", "serverHold", ...
	Expires     time.Time // zero when the server gives no expiration event
	Registrar   string    // the registrar's name (vCard fn)
	RegistrarID string    // its IANA Registrar ID, when given
	Nameservers []string  // canonical, sorted
	Server      string    // the URL asked
}

// ErrNotFound is a registry saying the domain is not registered (404).
var ErrNotFound = errors.New("the registry has no such domain (RDAP 404)")

// ErrNoServer is a domain whose TLD has no RDAP server in the bootstrap.
var ErrNoServer = errors.New("no RDAP server for this TLD in the bootstrap file")

// Client asks RDAP servers, at most Rate queries a second to each host,
// and follows a server's Retry-After on 429.
type Client struct {
	HTTP      *http.Client
	Bootstrap *Bootstrap
	Rate      float64 // per host; 0: 1 a second
	UserAgent string
	Now       func() time.Time
	// MaxBody bounds one answer: a domain object is a few kilobytes.
	MaxBody int64

	mu   sync.Mutex
	next map[string]time.Time // host -> earliest next query
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// wait books the next slot to host (spaced by 1/Rate) and sleeps until it.
func (c *Client) wait(ctx context.Context, host string) error {
	rate := c.Rate
	if rate <= 0 {
		rate = 1
	}
	c.mu.Lock()
	if c.next == nil {
		c.next = map[string]time.Time{}
	}
	now := time.Now()
	at := c.next[host]
	if at.Before(now) {
		at = now
	}
	c.next[host] = at.Add(time.Duration(float64(time.Second) / rate))
	c.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// backoff pushes host's next slot to after d (Retry-After).
func (c *Client) backoff(host string, d time.Duration) {
	c.mu.Lock()
	if t := time.Now().Add(d); c.next[host].Before(t) {
		c.next[host] = t
	}
	c.mu.Unlock()
}

// Lookup asks the RDAP server of domain's TLD for its registration.
func (c *Client) Lookup(ctx context.Context, domain string) (*Domain, error) {
	bases := c.Bootstrap.Servers(domain)
	if len(bases) == 0 {
		return nil, ErrNoServer
	}
	name := strings.TrimSuffix(strings.ToLower(domain), ".")
	u := bases[0] + "domain/" + url.PathEscape(name)
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx, pu.Host); err != nil {
			return nil, err
		}
		d, retry, err := c.get(ctx, u, pu.Host)
		if err == nil {
			d.Name, d.Server = name+".", u
			return d, nil
		}
		if retry <= 0 || attempt >= 2 {
			return nil, err
		}
		c.backoff(pu.Host, retry)
	}
}

// get fetches and parses one answer; retry > 0 asks to try again after it.
func (c *Client) get(ctx context.Context, u, host string) (*Domain, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/rdap+json, application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("rdap %s: %w", host, err)
	}
	defer resp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, 0, fmt.Errorf("rdap %s: %w", host, err)
	}
	if int64(len(body)) > max {
		return nil, 0, fmt.Errorf("rdap %s: answer larger than %d bytes", host, max)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, 0, ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		retry := 10 * time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s < 3600 {
			retry = time.Duration(s) * time.Second
		}
		return nil, retry, fmt.Errorf("rdap %s: %s", host, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, 0, fmt.Errorf("rdap %s: %s", host, resp.Status)
	}
	d, err := ParseDomain(body)
	if err != nil {
		return nil, 0, fmt.Errorf("rdap %s: %w", host, err)
	}
	return d, 0, nil
}

// The parts of an RFC 9083 domain object read here.
type domainJSON struct {
	ObjectClassName string       `json:"objectClassName"`
	Handle          string       `json:"handle"`
	LDHName         string       `json:"ldhName"`
	Status          []string     `json:"status"`
	Events          []eventJSON  `json:"events"`
	Entities        []entityJSON `json:"entities"`
	Nameservers     []struct {
		LDHName string `json:"ldhName"`
	} `json:"nameservers"`
}

type eventJSON struct {
	Action string `json:"eventAction"`
	Date   string `json:"eventDate"`
}

type entityJSON struct {
	Roles     []string          `json:"roles"`
	VCard     []json.RawMessage `json:"vcardArray"`
	PublicIDs []struct {
		Type       string `json:"type"`
		Identifier string `json:"identifier"`
	} `json:"publicIds"`
	Handle string `json:"handle"`
}

// ParseDomain reads an RFC 9083 domain object. Strings are bounded and
// control characters dropped: the text comes from a server vigie does
// not control and ends up in alerts.
func ParseDomain(b []byte) (*Domain, error) {
	var j domainJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("not an RDAP answer: %w", err)
	}
	if j.ObjectClassName != "domain" {
		return nil, fmt.Errorf("not a domain object (objectClassName %q)", clean(j.ObjectClassName))
	}
	d := &Domain{Handle: clean(j.Handle)}
	for _, s := range j.Status {
		if st := EPPStatus(s); st != "" {
			d.Status = append(d.Status, st)
		}
	}
	d.Status = dnsname.SortedUnique(d.Status)
	for _, e := range j.Events {
		if strings.EqualFold(e.Action, "expiration") {
			t, err := time.Parse(time.RFC3339, e.Date)
			if err != nil {
				return nil, fmt.Errorf("expiration date %q is not RFC 3339", clean(e.Date))
			}
			d.Expires = t.UTC()
		}
	}
	for _, e := range j.Entities {
		if !hasRole(e.Roles, "registrar") {
			continue
		}
		d.Registrar = vcardFN(e.VCard)
		for _, id := range e.PublicIDs {
			if strings.EqualFold(id.Type, "IANA Registrar ID") {
				d.RegistrarID = clean(id.Identifier)
			}
		}
		if d.Registrar == "" {
			d.Registrar = clean(e.Handle)
		}
	}
	for _, ns := range j.Nameservers {
		n := strings.ToLower(strings.TrimSuffix(clean(ns.LDHName), "."))
		if n != "" {
			d.Nameservers = append(d.Nameservers, n+".")
		}
	}
	d.Nameservers = dnsname.SortedUnique(d.Nameservers)
	return d, nil
}

func hasRole(roles []string, r string) bool {
	for _, x := range roles {
		if strings.EqualFold(x, r) {
			return true
		}
	}
	return false
}

// vcardFN is the fn property of a jCard (RFC 7095): ["vcard", [["fn",
// {}, "text", "Name"], ...]].
func vcardFN(v []json.RawMessage) string {
	if len(v) != 2 {
		return ""
	}
	var props [][]json.RawMessage
	if json.Unmarshal(v[1], &props) != nil {
		return ""
	}
	for _, p := range props {
		if len(p) < 4 {
			continue
		}
		var name, val string
		if json.Unmarshal(p[0], &name) != nil || !strings.EqualFold(name, "fn") {
			continue
		}
		if json.Unmarshal(p[3], &val) == nil {
			return clean(val)
		}
	}
	return ""
}

// EPPStatus turns an RDAP status ("client transfer prohibited", RFC
// 8056) or an EPP one ("clientTransferProhibited") into the EPP form.
func EPPStatus(s string) string {
	s = clean(s)
	if !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	for i, w := range strings.Fields(strings.ToLower(s)) {
		if i > 0 {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			w = string(r)
		}
		b.WriteString(w)
	}
	switch out := b.String(); out {
	case "active":
		return "ok"
	default:
		return out
	}
}

// clean bounds a server's string and drops control characters.
func clean(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}
