package webapps

import (
	"bytes"

	"github.com/vigie/vigie/internal/watch"
)

// An attack is what one request looks like.
type attack uint8

const (
	attackNone attack = iota
	// attackDrupalgeddon2: CVE-2018-7600 (Drupal 7 and 8): Form API
	// render-array keys in the URL (#post_render, #lazy_builder, ...),
	// element_parents pointing at a #value, or the Drupal 7 file/ajax
	// second step on a #value.
	attackDrupalgeddon2
	// attackDrupalgeddon3: CVE-2018-7602 (Drupal 7 < 7.59, 8 < 8.5.3): a
	// render key smuggled in the destination parameter of a confirm form
	// (user/N/cancel, node/N/delete), then file/ajax on #options.
	attackDrupalgeddon3
	// attackDrupalgeddon: CVE-2014-3704 (Drupal 7 < 7.32). The SQL
	// injection is a name[0 ...] array key in the POST body, which access
	// logs do not record: only a variant sending it in the query shows it.
	attackDrupalgeddon
	// attackDrupalLogin: a POST to a Drupal login form (?q=user/login, the
	// front page's login block at ?q=node&destination=node, /user/login).
	// Not an attack by itself: it is what a person logging in sends, and
	// also what every published Drupalgeddon 1 exploit sends. A 500 answer
	// is what tells them apart (the injected SQL fails in PDO).
	attackDrupalLogin
	// attackJoomlaFields: CVE-2017-8917 (Joomla 3.7.0): SQL in
	// list[fullordering] of com_fields.
	attackJoomlaFields
	// attackEvalStdin: CVE-2017-9841, PHPUnit's eval-stdin.php.
	attackEvalStdin
	// attackConfigProbe: a request for a backup or editor copy of a config
	// file holding secrets (wp-config.php.bak, .env, settings.php~).
	attackConfigProbe
	// attackWPUserEnum: the WordPress REST users route listed or read by
	// id without being the block editor (CVE-2017-5487 and its use by
	// wpscan and every brute-force kit to learn the logins).
	attackWPUserEnum
	// attackWPAuthorScan: /?author=N, which redirects to /author/LOGIN/.
	// One is a link followed; many from one address is enumeration.
	attackWPAuthorScan
	attackWPLogin // POST wp-login.php
	attackXMLRPC  // POST xmlrpc.php
)

// The rule names of the access-log findings. The single-request attacks'
// names are also the "attack" names in the version data's advisories.
const (
	RuleDrupalgeddon2      watch.RuleName = "drupalgeddon2"
	RuleDrupalgeddon3      watch.RuleName = "drupalgeddon3"
	RuleDrupalgeddon       watch.RuleName = "drupalgeddon"
	RuleJoomlaFieldsSQLi   watch.RuleName = "joomla-fields-sqli"
	RuleEvalStdin          watch.RuleName = "phpunit-eval-stdin"
	RuleConfigProbe        watch.RuleName = "config-probe"
	RuleConfigServed       watch.RuleName = "config-backup-served"
	RuleWPUserEnum         watch.RuleName = "wp-user-enum"
	RuleWPAuthorScan       watch.RuleName = "wp-author-scan"
	RuleWPLogin            watch.RuleName = "wp-login-bruteforce"
	RuleXMLRPC             watch.RuleName = "xmlrpc-bruteforce"
	RuleXMLRPCMulticall    watch.RuleName = "xmlrpc-multicall"
	RuleDistributedLogin   watch.RuleName = "distributed-bruteforce"
	RulePostFlood          watch.RuleName = "post-flood"
	RuleDrupalLoginFailure watch.RuleName = "drupal-login-error"
)

var ruleNames = map[attack]string{
	attackDrupalgeddon2: string(RuleDrupalgeddon2),
	attackDrupalgeddon3: string(RuleDrupalgeddon3),
	attackDrupalgeddon:  string(RuleDrupalgeddon),
	attackDrupalLogin:   string(RuleDrupalgeddon), // a login answered 500 is reported as Drupalgeddon
	attackJoomlaFields:  string(RuleJoomlaFieldsSQLi),
	attackEvalStdin:     string(RuleEvalStdin),
	attackConfigProbe:   string(RuleConfigProbe),
	attackWPUserEnum:    string(RuleWPUserEnum),
	attackWPAuthorScan:  string(RuleWPAuthorScan),
	attackWPLogin:       string(RuleWPLogin),
	attackXMLRPC:        string(RuleXMLRPC),
}

var (
	// Render-array keys as the Form API reads them from a request: inside
	// brackets (name[#post_render][]). A bare "#post_render" is text.
	renderKeys  = [][]byte{[]byte("[#post_render"), []byte("[#pre_render"), []byte("[#lazy_builder"), []byte("[#access_callback")}
	elemParent  = []byte("element_parents=")
	fileAjax    = []byte("file/ajax/")
	hashOptions = []byte("#options")
	destParam   = []byte("destination=")
	dg1Key      = []byte("name[0")
	evalStdin   = []byte("eval-stdin.php")
	comFields   = []byte("option=com_fields")
	fullOrder   = []byte("list[fullordering]=")
	wpUsers     = []byte("/wp/v2/users")
	whoAuthors  = []byte("who=authors")
	authorParam = []byte("author=")
)

// classify names the attack a request is, from its method, its
// URL-decoded target (dec: decoded twice when it was double-encoded) and
// its path (dec up to '?'). Every rule looks at the path's end or the
// query, never at the site's root: Drupal, Joomla and WordPress are as
// often in a subdirectory (/drupal/, /blog/) as at the top.
func classify(method, dec, path []byte) attack {
	post := string(method) == "POST"
	if bytes.IndexByte(dec, '#') >= 0 {
		// A raw '#' is a fragment and never sent: this one was %23-encoded.
		if a := drupalRenderArray(dec); a != attackNone {
			return a
		}
	}
	if bytes.IndexByte(dec, '[') >= 0 {
		if i := bytes.Index(dec, dg1Key); i >= 0 && i+len(dg1Key) < len(dec) {
			switch dec[i+len(dg1Key)] {
			case ' ', ';', ')', '\'', '(', '+':
				return attackDrupalgeddon
			}
		}
		if isJoomlaFieldsSQLi(dec) {
			return attackJoomlaFields
		}
	}
	if bytes.Contains(path, evalStdin) {
		return attackEvalStdin
	}
	base := path[bytes.LastIndexByte(path, '/')+1:]
	if post {
		switch string(base) {
		case "wp-login.php":
			return attackWPLogin
		case "xmlrpc.php":
			return attackXMLRPC
		}
		if isDrupalLogin(dec, path, base) {
			return attackDrupalLogin
		}
	}
	if a := wpEnumeration(method, dec, path, base); a != attackNone {
		return a
	}
	if isConfigProbe(path, base) {
		return attackConfigProbe
	}
	return attackNone
}

// drupalRenderArray recognises the Form API injections of CVE-2018-7600
// and CVE-2018-7602 in a target holding a '#'.
func drupalRenderArray(dec []byte) attack {
	renderKey := false
	for _, k := range renderKeys {
		if bytes.Contains(dec, k) {
			renderKey = true
			break
		}
	}
	if renderKey {
		// 7602 carries the render array inside destination= (the confirm
		// form redirects to it); 7600 in the form's own parameters.
		if i := bytes.Index(dec, destParam); i >= 0 {
			for _, k := range renderKeys {
				if bytes.Contains(dec[i:], k) {
					return attackDrupalgeddon3
				}
			}
		}
		return attackDrupalgeddon2
	}
	if i := bytes.Index(dec, elemParent); i >= 0 && bytes.IndexByte(dec[i:], '#') >= 0 {
		return attackDrupalgeddon2
	}
	if i := bytes.Index(dec, fileAjax); i >= 0 {
		rest := dec[i:]
		if bytes.Contains(rest, hashOptions) {
			return attackDrupalgeddon3 // file/ajax/actions/cancel/#options/path/FORM
		}
		if bytes.IndexByte(rest, '#') >= 0 {
			return attackDrupalgeddon2 // file/ajax/name/#value/FORM
		}
	}
	return attackNone
}

// isJoomlaFieldsSQLi: com_fields with SQL in list[fullordering]. Joomla's
// own lists send a column and a direction there ("a.ordering ASC"): a
// parenthesis or a SQL function is the injection.
func isJoomlaFieldsSQLi(dec []byte) bool {
	if !containsFold(dec, comFields) {
		return false
	}
	i := bytes.Index(dec, fullOrder)
	if i < 0 {
		return false
	}
	v := dec[i+len(fullOrder):]
	if j := bytes.IndexByte(v, '&'); j >= 0 {
		v = v[:j]
	}
	return bytes.ContainsAny(v, "()'\"") || containsFold(v, []byte("select")) || containsFold(v, []byte("updatexml")) ||
		containsFold(v, []byte("extractvalue")) || containsFold(v, []byte("sleep"))
}

// isDrupalLogin: the POST of a Drupal login form. The front page's login
// block posts to the page itself with destination=, the login page to
// user/login; with or without clean URLs, in any subdirectory.
func isDrupalLogin(dec, path, base []byte) bool {
	q := dec[len(path):]
	switch {
	case bytes.HasSuffix(path, []byte("/user/login")):
		return true
	case len(q) == 0:
		return false
	case bytes.Contains(q, []byte("q=user/login")), hasParam(q, "q", "user"):
		return true
	}
	// The login block: ?q=node&destination=node, /node?destination=node.
	if !bytes.Contains(q, destParam) {
		return false
	}
	front := len(base) == 0 || string(base) == "index.php" || string(base) == "node"
	return front && (hasParam(q, "q", "node") || !bytes.Contains(q, []byte("q=")))
}

// wpEnumeration recognises the two ways WordPress user names are listed.
func wpEnumeration(method, dec, path, base []byte) attack {
	if string(method) != "GET" && string(method) != "HEAD" {
		return attackNone
	}
	i := bytes.Index(dec, wpUsers)
	if i >= 0 && (bytes.Contains(path, []byte("/wp-json/")) || bytes.Contains(dec, []byte("rest_route="))) {
		rest := dec[i+len(wpUsers):]
		rest = bytes.TrimPrefix(rest, []byte("/"))
		if bytes.HasPrefix(rest, []byte("me")) {
			return attackNone // the logged-in user reading itself
		}
		// The block editor's author list (who=authors) is this route too;
		// it needs edit_posts, so Feed drops it when it was answered.
		return attackWPUserEnum
	}
	if len(base) == 0 || string(base) == "index.php" {
		q := dec[len(path):]
		if j := bytes.Index(q, authorParam); j > 0 && (q[j-1] == '?' || q[j-1] == '&') {
			v := q[j+len(authorParam):]
			if len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
				return attackWPAuthorScan
			}
		}
	}
	return attackNone
}

// hasParam reports whether query q (starting with '?') has name=value
// exactly.
func hasParam(q []byte, name, value string) bool {
	for len(q) > 0 {
		q = q[1:] // '?' or '&'
		end := bytes.IndexByte(q, '&')
		p := q
		if end >= 0 {
			p = q[:end]
		}
		if k, v, ok := bytes.Cut(p, []byte("=")); ok && string(k) == name && string(v) == value {
			return true
		}
		if end < 0 {
			break
		}
		q = q[end:]
	}
	return false
}

func containsFold(s, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if bytes.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// secretStems are config files that hold database or mail passwords.
var secretStems = []string{
	"wp-config", "configuration.php", "settings.php", "settings.local.php", "localsettings.php",
	"config.php", "config.inc.php", "parameters.php", "parameters.yml", "env.php", "local.xml",
	"settings.inc.php", "config.ini.php", "localconfiguration.php", "database.yml", ".env",
}

// dottedStems are the stems with a leading dot (editor swap files).
var dottedStems = func() []string {
	out := make([]string, len(secretStems))
	for i, s := range secretStems {
		out[i] = "." + s
	}
	return out
}()

// backupSuffixes are what editors, admins and backup tools leave behind.
var backupSuffixes = []string{
	"", ".bak", ".old", ".orig", ".save", ".swp", ".swo", "~", ".txt", ".backup", ".copy", ".tmp",
	".1", ".zip", ".gz", ".tar.gz", ".tgz", "_bak", ".bk", "-bak", ".sav", ".php", ".dist.bak",
	"_old", "-old", ".back", ".bkp", ".un~", ".original", ".disabled", "-backup", "_backup",
}

var gitConfig = []byte("/.git/config")

func isConfigProbe(path, base []byte) bool {
	if bytes.HasSuffix(path, gitConfig) {
		return true
	}
	if len(base) < 4 || len(base) > 64 {
		return false
	}
	var low [64]byte
	for i, c := range base {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	b := string(low[:len(base)]) // no allocation: compared, never kept
	if len(b) > 2 && b[0] == '#' && b[len(b)-1] == '#' {
		b = b[1 : len(b)-1] // emacs auto-save: #wp-config.php#
		if b == "wp-config.php" || b == ".env" {
			return true
		}
	}
	for i, stem := range secretStems {
		rest, ok := cutPrefix(b, stem)
		if !ok {
			rest, ok = cutPrefix(b, dottedStems[i]) // vim: .wp-config.php.swp
		}
		if !ok {
			continue
		}
		if stem == "wp-config" {
			// wp-config.php itself runs as PHP and shows nothing; its
			// copies (wp-config.bak, wp-config.php.old) are the probe.
			rest, _ = cutPrefix(rest, ".php")
			if rest == "" {
				return false
			}
		}
		if rest == "" && stem != ".env" {
			continue // the live file: served as PHP, not a probe
		}
		for _, s := range backupSuffixes {
			if rest == s {
				return true
			}
		}
	}
	return false
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}
