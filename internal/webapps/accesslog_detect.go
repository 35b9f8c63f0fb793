package webapps

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// Buckets are the leaky-bucket sizes of the access-log detectors. The
// defaults (DefaultBuckets) are documented in the README and example.yaml.
type Buckets struct {
	// WPLogin: failed POSTs to wp-login.php (answered 200: the form shown
	// again; a login that works is a 302) from one IP.
	WPLogin BucketSpec `yaml:"wp_login"`
	// XMLRPC: POSTs to xmlrpc.php from one IP (each can carry hundreds of
	// password guesses through system.multicall).
	XMLRPC BucketSpec `yaml:"xmlrpc"`
	// Probe: requests for config backups from one IP.
	Probe BucketSpec `yaml:"probe"`
	// PostFlood: POSTs to one page (one vhost and path) from all IPs
	// together: a contact form turned spam relay.
	PostFlood BucketSpec `yaml:"post_flood"`
	// AuthorScan: /?author=N requests from one IP.
	AuthorScan BucketSpec `yaml:"author_scan"`
}

// DefaultBuckets: a person mistyping a password a few times, a form used
// by real visitors, never fill these; a password-guessing robot or a spam
// run fills them within seconds or minutes. The WordPress login bucket is
// CrowdSec's http-bf-wordpress_bf scenario (capacity 5, leak one every
// 10 s, failed logins only): a sixth failure within seconds raises.
func DefaultBuckets() Buckets {
	return Buckets{
		WPLogin:    BucketSpec{Capacity: 5, PerMinute: 6},    // > 5 failed logins, one leaks every 10 s
		XMLRPC:     BucketSpec{Capacity: 10, PerMinute: 2},   // > 10 xmlrpc POSTs in ~5 min
		Probe:      BucketSpec{Capacity: 5, PerMinute: 0.5},  // > 5 config-backup probes in ~10 min
		PostFlood:  BucketSpec{Capacity: 300, PerMinute: 30}, // > 300 POSTs to one page in ~10 min
		AuthorScan: BucketSpec{Capacity: 3, PerMinute: 1},    // > 3 author ids in ~3 min
	}
}

// MulticallBytes: an xmlrpc.php answer this large to one POST is many
// answers in one: system.multicall. Each wp.getUsersBlogs fault is about
// 250 bytes, so 20 KB is some 80 password guesses in a single request; a
// pingback or a single failed login answers under 1 KB.
const MulticallBytes = 20_000

// LogOptions configure a LogDetector.
type LogOptions struct {
	// Log names the log in findings (its path).
	Log string
	// Site is the document root this log serves, to link a request to an
	// install under it; empty: link by virtual host name only.
	Site string
	// Inventory, when set, links exploitation requests to installs known
	// to be vulnerable to them (a higher severity).
	Inventory *Inventory
	// Data names which advisories each attack exploits; nil: embedded.
	Data        *Data
	Buckets     Buckets
	Distributed DistributedSpec
	// Repeat is how often (log time) a finding about the same subject and
	// rule is repeated while the activity goes on. Default 10 minutes.
	Repeat time.Duration
	// MaxTracked bounds the IPs and pages with state. Default 100,000.
	MaxTracked int
}

// LogStats count what a detector saw.
type LogStats struct {
	Lines, Bad, Attacks, Findings int64
}

// LogDetector runs the access-log detectors over lines fed one at a time.
// Its clock is the time in each line, so it gives the same findings on a
// live log and on a replayed one. It is not safe for concurrent use: use
// one per log.
type LogDetector struct {
	o       LogOptions
	p       LineParser
	req     Request
	dec     []byte
	ips     map[string]*ipState
	pages   map[string]*pageState
	logins  map[string]*loginPage
	advs    map[attack][]string
	stats   LogStats
	evicted int64
}

type ipState struct {
	wp, xmlrpc, probe, author bucket
	last                      time.Time
	emitted                   map[string]time.Time // rule -> last finding
}

type pageState struct {
	b       bucket
	emitted time.Time
}

// NewLogDetector returns a detector.
func NewLogDetector(o LogOptions) *LogDetector {
	if o.Repeat <= 0 {
		o.Repeat = 10 * time.Minute
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = 100_000
	}
	if o.Buckets == (Buckets{}) {
		o.Buckets = DefaultBuckets()
	}
	if o.Buckets.AuthorScan == (BucketSpec{}) {
		o.Buckets.AuthorScan = DefaultBuckets().AuthorScan
	}
	if o.Distributed == (DistributedSpec{}) {
		o.Distributed = DefaultDistributed()
	}
	if o.Data == nil {
		o.Data = EmbeddedData()
	}
	d := &LogDetector{o: o, ips: map[string]*ipState{}, pages: map[string]*pageState{}, logins: map[string]*loginPage{}, advs: map[attack][]string{}}
	for a, name := range ruleNames {
		for app := range o.Data.Apps {
			d.advs[a] = append(d.advs[a], o.Data.AdvisoriesFor(app, name)...)
		}
	}
	d.advs[attackEvalStdin] = append(d.advs[attackEvalStdin], "CVE-2017-9841")
	d.advs[attackDrupalLogin] = d.advs[attackDrupalgeddon]
	return d
}

// Stats returns the counts so far.
func (d *LogDetector) Stats() LogStats { return d.stats }

// FeedLine parses one log line and runs the detectors on it. A line that
// does not parse is counted and returned as an error; the detector goes
// on with the next.
func (d *LogDetector) FeedLine(line []byte) ([]vigie.Finding, error) {
	d.stats.Lines++
	if err := d.p.Parse(line, &d.req); err != nil {
		d.stats.Bad++
		return nil, err
	}
	return d.Feed(&d.req), nil
}

// Feed runs the detectors on one parsed request.
func (d *LogDetector) Feed(r *Request) []vigie.Finding {
	dec := r.Target
	if bytes.IndexByte(dec, '%') >= 0 {
		dec = decodeURL(d.dec[:0], r.Target)
		d.dec = dec[:0] // keep the grown buffer for the next line
	}
	path := dec
	if q := bytes.IndexByte(dec, '?'); q >= 0 {
		path = dec[:q]
	}
	var out []vigie.Finding
	isPost := string(r.Method) == "POST"
	if isPost {
		out = d.postFlood(r, path, out)
	}
	a := classify(r.Method, dec, path)
	if a == attackNone {
		return out
	}
	switch a {
	case attackWPLogin, attackXMLRPC, attackDrupalLogin:
		out = d.loginRate(r, path, a, out)
	}
	if a = counted(a, r, dec); a == attackNone {
		d.stats.Findings += int64(len(out))
		return out
	}
	d.stats.Attacks++
	ip := d.ip(r)
	switch a {
	case attackWPLogin:
		if d.overflow(&ip.wp, d.o.Buckets.WPLogin, ip, a, r.Time) {
			out = append(out, d.bucketFinding(r, a, vigie.SeverityWarning, ip, &ip.wp, d.o.Buckets.WPLogin,
				"password guessing on WordPress: failed POSTs to wp-login.php"))
		}
	case attackXMLRPC:
		if r.Status == 200 && r.Bytes >= MulticallBytes && d.due(ip, attackXMLRPC+100, r.Time) {
			f := d.finding(r, string(RuleXMLRPCMulticall), vigie.SeverityWarning, fmt.Sprintf(
				"password guessing through xmlrpc.php system.multicall from %s: one POST answered with %d bytes, some %d calls in one request",
				r.IP, r.Bytes, r.Bytes/250))
			out = append(out, f)
		}
		if d.overflow(&ip.xmlrpc, d.o.Buckets.XMLRPC, ip, a, r.Time) {
			out = append(out, d.bucketFinding(r, a, vigie.SeverityWarning, ip, &ip.xmlrpc, d.o.Buckets.XMLRPC,
				"password guessing or pingback abuse on WordPress: POSTs to xmlrpc.php"))
		}
	case attackDrupalLogin:
		out = d.exploit(r, attackDrupalLogin, ip, " (a Drupal login form answered 500: the SQL injection in the POST body fails this way on Drupal 7 before 7.32)", out)
	case attackConfigProbe:
		if r.Status >= 200 && r.Status < 300 && r.Bytes > 0 {
			// The backup was there and was sent: its secrets are out.
			if d.due(ip, a, r.Time) {
				f := d.finding(r, string(RuleConfigServed), vigie.SeverityCritical,
					fmt.Sprintf("%s downloaded %s (HTTP %d, %d bytes): a config backup holding passwords was served; change those passwords",
						r.IP, clip(r.Target, 200), r.Status, r.Bytes))
				out = append(out, f)
			}
		}
		if d.overflow(&ip.probe, d.o.Buckets.Probe, ip, attackConfigProbe+100, r.Time) {
			out = append(out, d.bucketFinding(r, a, vigie.SeverityInfo, ip, &ip.probe, d.o.Buckets.Probe,
				"scanning for config file backups"))
		}
	case attackWPUserEnum:
		if !d.due(ip, a, r.Time) {
			break
		}
		sev, what := vigie.SeverityInfo, "refused"
		if r.Status >= 200 && r.Status < 300 {
			sev, what = vigie.SeverityWarning, "answered: the site's user names (often the logins) are known to this address"
		}
		out = append(out, d.finding(r, string(RuleWPUserEnum), sev, fmt.Sprintf(
			"WordPress user enumeration from %s through the REST API (%s, HTTP %d): %s", r.IP, clip(r.Target, 200), r.Status, what)))
	case attackWPAuthorScan:
		if d.overflow(&ip.author, d.o.Buckets.AuthorScan, ip, a, r.Time) {
			out = append(out, d.bucketFinding(r, a, vigie.SeverityInfo, ip, &ip.author, d.o.Buckets.AuthorScan,
				"WordPress user enumeration through /?author=N (each redirects to /author/LOGIN/)"))
		}
	default: // single-request exploitation attempts
		out = d.exploit(r, a, ip, "", out)
	}
	d.stats.Findings += int64(len(out))
	return out
}

// counted keeps the requests that count toward a's rule once the answer
// is known, and drops the legitimate ones that look the same.
func counted(a attack, r *Request, dec []byte) attack {
	ok := r.Status >= 200 && r.Status < 300
	switch a {
	case attackWPLogin:
		if r.Status >= 300 && r.Status < 400 {
			return attackNone // a login that worked (or a redirect to the password reset)
		}
	case attackDrupalLogin:
		// A login form answered 500: what Drupalgeddon 1's SQL injection
		// produces on Drupal 7 < 7.32 (PDOException); a login, good or
		// bad, is a 200 or a 302.
		if r.Status != 500 {
			return attackNone
		}
	case attackWPUserEnum:
		if ok && bytes.Contains(dec, whoAuthors) {
			return attackNone // the block editor's author list: answered only to editors
		}
	}
	return a
}

// RuleOf is the rule a single request counts toward ("" for none), with
// the same parsing and decoding as the detector: what the exploit corpus
// test and `vigie web replay` use to say which line matched what.
func RuleOf(r *Request) string {
	dec := decodeURL(nil, r.Target)
	path := dec
	if q := bytes.IndexByte(dec, '?'); q >= 0 {
		path = dec[:q]
	}
	a := counted(classify(r.Method, dec, path), r, dec)
	if a == attackNone {
		return ""
	}
	if a == attackConfigProbe && r.Status >= 200 && r.Status < 300 && r.Bytes > 0 {
		return string(RuleConfigServed)
	}
	return ruleNames[a]
}

// exploitSeverity grades one exploitation attempt: what the server
// answered and whether the install it hits is vulnerable to it (patched:
// the installs behind this log are known and none is). A 2xx is the
// application having run the request (a 404 or 403 is a scanner missing,
// or a WAF stopping it); for SQL injections a 500 is the injected SQL
// failing inside the application, which is the proof it ran.
func exploitSeverity(a attack, status int, vulnerable, patched bool) vigie.Severity {
	ran := status >= 200 && status < 300
	if a == attackDrupalgeddon || a == attackDrupalLogin || a == attackJoomlaFields {
		ran = ran || status == 500
	}
	switch {
	case vulnerable && ran:
		return vigie.SeverityCritical
	case vulnerable, ran && !patched:
		return vigie.SeverityWarning
	}
	return vigie.SeverityInfo
}

// exploit reports one single-request exploitation attempt.
func (d *LogDetector) exploit(r *Request, a attack, ip *ipState, why string, out []vigie.Finding) []vigie.Finding {
	if !d.due(ip, a, r.Time) {
		return out
	}
	in := d.o.Inventory.Exposed(d.o.Site, string(r.VHost), d.advs[a])
	sev := exploitSeverity(a, r.Status, in != nil, in == nil && d.o.Inventory.Serves(d.o.Site, string(r.VHost)))
	summary := fmt.Sprintf("%s attempt from %s on %s (HTTP %d)%s", ruleNames[a], r.IP, clip(r.Target, 200), r.Status, why)
	if a == attackEvalStdin && r.Status == 200 {
		sev = vigie.SeverityCritical
		summary += ": eval-stdin.php exists and ran the request body"
	}
	f := d.finding(r, ruleNames[a], sev, summary)
	if in != nil {
		// The request hits an install known to be vulnerable to it:
		// same incident as that install's finding.
		f.Group = OwnerGroup(in.UID)
		f.Evidence[string(EvidenceUID)] = strconv.Itoa(in.UID)
		f.Evidence[string(EvidenceInstall)] = in.Path
		f.Evidence[string(EvidenceInstallVer)] = in.Name + " " + in.Version
		f.Evidence["install_alert"] = InstallAlertKey(string(RuleInstallVulnerable), in.Path)
		f.Evidence[string(EvidenceAdvisories)] = joinIDs(in.Advisories, d.advs[a])
		f.Summary = fmt.Sprintf("%s on %s, which runs %s %s vulnerable to it (%s)", f.Summary, in.Path, in.Name, in.Version, EvidenceAdvisories.Of(f.Evidence))
	}
	return append(out, f)
}

// loginRate feeds the per-page failure rate across addresses.
func (d *LogDetector) loginRate(r *Request, path []byte, a attack, out []vigie.Finding) []vigie.Finding {
	ok := r.Status >= 300 && r.Status < 400
	if a == attackXMLRPC {
		ok = false // xmlrpc.php answers 200 either way; its POSTs are what counts
	}
	key := string(r.VHost) + " " + string(path)
	lp := d.logins[key]
	if lp == nil {
		d.bound(r.Time)
		lp = &loginPage{}
		d.logins[key] = lp
	}
	spec := d.o.Distributed
	fails, addrs, due := lp.record(spec, r.IP, r.Time, ok, d.o.Repeat)
	if !due {
		return out
	}
	subject := clip(path, 512)
	if len(r.VHost) > 0 {
		subject = clip(r.VHost, 255) + subject
	}
	f := vigie.Finding{
		Watch: string(Name), Rule: string(RuleDistributedLogin), Subject: subject, Severity: vigie.SeverityWarning, Time: r.Time,
		Summary: fmt.Sprintf("distributed password guessing on %s: %d failed logins from %d addresses within %v (each address alone stays under the per-address limits)",
			subject, fails, addrs, spec.Window),
		Evidence: map[string]string{"page": subject, "failures": strconv.Itoa(fails), "addresses": strconv.Itoa(addrs),
			"window": spec.Window.String(), "last_ip": clip(r.IP, 64), "log": d.o.Log},
	}
	return append(out, f)
}

func (d *LogDetector) postFlood(r *Request, path []byte, out []vigie.Finding) []vigie.Finding {
	key := string(r.VHost) + " " + string(path) // no allocation on the map lookup below
	ps := d.pages[key]
	if ps == nil {
		d.bound(r.Time)
		ps = &pageState{}
		d.pages[key] = ps
	}
	spec := d.o.Buckets.PostFlood
	if ps.b.pour(spec, r.Time) || ps.b.fired && r.Time.Sub(ps.emitted) >= d.o.Repeat {
		ps.emitted = r.Time
		subject := clip(path, 512)
		if len(r.VHost) > 0 {
			subject = clip(r.VHost, 255) + subject
		}
		f := vigie.Finding{
			Watch: string(Name), Rule: string(RulePostFlood), Subject: subject, Severity: vigie.SeverityWarning, Time: r.Time,
			Summary: fmt.Sprintf("flood of POSTs to %s: more than %d, draining %g a minute (a form used as a spam relay, or a brute force)",
				subject, spec.Capacity, spec.PerMinute),
			Evidence: map[string]string{"page": subject, "level": strconv.Itoa(int(ps.b.level)), "last_ip": clip(r.IP, 64),
				"capacity": strconv.Itoa(spec.Capacity), "log": d.o.Log},
		}
		out = append(out, f)
	}
	return out
}

func (d *LogDetector) ip(r *Request) *ipState {
	st := d.ips[string(r.IP)]
	if st == nil {
		d.bound(r.Time)
		st = &ipState{}
		d.ips[string(r.IP)] = st
	}
	st.last = r.Time
	return st
}

// bound keeps the state maps under MaxTracked: first it drops what has
// drained, then, under a flood of distinct IPs, everything (counted).
func (d *LogDetector) bound(now time.Time) {
	if len(d.ips)+len(d.pages)+len(d.logins) < d.o.MaxTracked {
		return
	}
	b := d.o.Buckets
	for k, s := range d.ips {
		if s.wp.empty(b.WPLogin, now) && s.xmlrpc.empty(b.XMLRPC, now) && s.probe.empty(b.Probe, now) &&
			s.author.empty(b.AuthorScan, now) && now.Sub(s.last) > d.o.Repeat {
			delete(d.ips, k)
		}
	}
	for k, s := range d.pages {
		if s.b.empty(b.PostFlood, now) {
			delete(d.pages, k)
		}
	}
	cut := now.Add(-d.o.Distributed.Window)
	for k, p := range d.logins {
		if p.empty(cut) {
			delete(d.logins, k)
		}
	}
	if len(d.ips)+len(d.pages)+len(d.logins) >= d.o.MaxTracked*9/10 {
		d.evicted += int64(len(d.ips) + len(d.pages) + len(d.logins))
		clear(d.ips)
		clear(d.pages)
		clear(d.logins)
	}
}

// due reports whether a finding for rule a about this IP may be sent now,
// and records it.
func (d *LogDetector) due(st *ipState, a attack, t time.Time) bool {
	key := strconv.Itoa(int(a))
	if st.emitted == nil {
		st.emitted = map[string]time.Time{}
	}
	if last, ok := st.emitted[key]; ok && t.Sub(last) < d.o.Repeat {
		return false
	}
	st.emitted[key] = t
	return true
}

// overflow pours one event into b and reports whether a finding is due:
// on the overflow itself, then every Repeat while the bucket stays full.
// key names the rule in the IP's repeat record.
func (d *LogDetector) overflow(b *bucket, spec BucketSpec, ip *ipState, key attack, t time.Time) bool {
	if b.pour(spec, t) {
		d.due(ip, key, t) // records the time: the repeats count from here
		return true
	}
	return b.fired && d.due(ip, key, t)
}

func (d *LogDetector) bucketFinding(r *Request, a attack, sev vigie.Severity, ip *ipState, b *bucket, spec BucketSpec, what string) vigie.Finding {
	f := d.finding(r, ruleNames[a], sev, fmt.Sprintf("%s from %s: more than %d requests, draining %g a minute", what, r.IP, spec.Capacity, spec.PerMinute))
	f.Evidence["level"] = strconv.Itoa(int(b.level))
	f.Evidence["capacity"] = strconv.Itoa(spec.Capacity)
	return f
}

// finding builds a finding about the request's IP. The URL, user agent and
// host are attacker-controlled: they are stored as they came (clipped) and
// escaped wherever they are shown.
func (d *LogDetector) finding(r *Request, rule string, sev vigie.Severity, summary string) vigie.Finding {
	ev := map[string]string{
		string(EvidenceIP): clip(r.IP, 64), "method": clip(r.Method, 16), string(EvidenceTarget): clip(r.Target, 1024),
		string(EvidenceStatus): strconv.Itoa(r.Status), "user_agent": clip(r.UserAgent, 256), "log": d.o.Log,
	}
	if len(r.VHost) > 0 {
		ev["vhost"] = clip(r.VHost, 255)
	}
	return vigie.Finding{Watch: string(Name), Rule: rule, Subject: clip(r.IP, 64), Severity: sev, Time: r.Time, Summary: summary, Evidence: ev}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func joinIDs(have, want []string) string {
	var out []byte
	for _, h := range have {
		for _, w := range want {
			if h == w {
				if len(out) > 0 {
					out = append(out, ", "...)
				}
				out = append(out, h...)
			}
		}
	}
	return string(out)
}
