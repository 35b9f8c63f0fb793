package webapps

import "bytes"

// An attack is what one request looks like.
type attack uint8

const (
	attackNone attack = iota
	// attackDrupalgeddon2: CVE-2018-7600/7602 (Drupal 7 and 8): Form API
	// render-array keys in the URL (#post_render, #lazy_builder, ...),
	// element_parents pointing at a #value, or the Drupal 7 file/ajax
	// second step.
	attackDrupalgeddon2
	// attackDrupalgeddon: CVE-2014-3704 (Drupal 7). The SQL injection is
	// in the POST body, which access logs do not record; what they show is
	// the URL published exploits post to (/?q=node&destination=node) and
	// the injected name[0 ...] array key when sent in the query.
	attackDrupalgeddon
	// attackEvalStdin: CVE-2017-9841, PHPUnit's eval-stdin.php.
	attackEvalStdin
	// attackConfigProbe: a request for a backup or editor copy of a config
	// file holding secrets (wp-config.php.bak, .env, settings.php~).
	attackConfigProbe
	attackWPLogin // POST wp-login.php
	attackXMLRPC  // POST xmlrpc.php
)

// ruleNames are the Finding rules of the single-request attacks; they are
// also the "attack" names in the version data's advisories.
var ruleNames = map[attack]string{
	attackDrupalgeddon2: "drupalgeddon2",
	attackDrupalgeddon:  "drupalgeddon",
	attackEvalStdin:     "phpunit-eval-stdin",
	attackConfigProbe:   "config-probe",
	attackWPLogin:       "wp-login-bruteforce",
	attackXMLRPC:        "xmlrpc-bruteforce",
}

var (
	renderKeys = [][]byte{[]byte("#post_render"), []byte("#pre_render"), []byte("#lazy_builder"), []byte("#access_callback")}
	elemParent = []byte("element_parents=")
	fileAjax   = []byte("file/ajax/")
	hashValue  = []byte("#value")
	dg1URL     = []byte("/?q=node&destination=node")
	dg1Key     = []byte("name[0")
	evalStdin  = []byte("eval-stdin.php")
)

// classify names the attack a request is, from its URL-decoded target
// (dec) and its path (dec up to '?').
func classify(method, dec, path []byte) attack {
	if bytes.IndexByte(dec, '#') >= 0 {
		// A raw '#' is a fragment and never sent: this one was %23-encoded.
		for _, k := range renderKeys {
			if bytes.Contains(dec, k) {
				return attackDrupalgeddon2
			}
		}
		if i := bytes.Index(dec, elemParent); i >= 0 && bytes.IndexByte(dec[i:], '#') >= 0 {
			return attackDrupalgeddon2
		}
		if bytes.Contains(dec, fileAjax) && bytes.Contains(dec, hashValue) {
			return attackDrupalgeddon2
		}
	}
	if bytes.IndexByte(dec, '[') >= 0 {
		if i := bytes.Index(dec, dg1Key); i >= 0 && i+len(dg1Key) < len(dec) {
			switch dec[i+len(dg1Key)] {
			case ' ', ';', ')', '\'', '(':
				return attackDrupalgeddon
			}
		}
	}
	if string(method) == "POST" && bytes.Equal(dec, dg1URL) {
		return attackDrupalgeddon
	}
	if bytes.Contains(path, evalStdin) {
		return attackEvalStdin
	}
	base := path[bytes.LastIndexByte(path, '/')+1:]
	if string(method) == "POST" {
		switch string(base) {
		case "wp-login.php":
			return attackWPLogin
		case "xmlrpc.php":
			return attackXMLRPC
		}
	}
	if isConfigProbe(path, base) {
		return attackConfigProbe
	}
	return attackNone
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
