// Package mail is the mail watch: it follows the Postfix log (a file or
// the journal) and the queue (postqueue -j), joins the lines of each
// message by queue id to who sent it (SASL user, local uid or client
// address), and runs the detectors that catch a stolen password, a web
// application turned spam relay, brute force, queue growth, bounce storms
// and remote blocklistings. The same Engine runs in the daemon and in
// `vigie replay`, where the log's own timestamps are the clock.
package mail

import (
	"strconv"
	"strings"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/vigie"
)

// WatchName is the Watch of every finding of this package.
const WatchName = "mail"

// Rule names, as they appear in findings and alerts.
const (
	RuleAccountVolume   = "account-volume"       // an account or uid sends far above its habit or a ceiling
	RuleSASLManyIPs     = "sasl-many-ips"        // one SASL user logged in from many addresses
	RuleBruteForceIP    = "sasl-bruteforce-ip"   // many authentication failures from one address
	RuleBruteForceUser  = "sasl-bruteforce-user" // many authentication failures for one user name
	RuleQueueGrowth     = "queue-growth"         // deferred mail piling up
	RuleDeliveryStorm   = "delivery-storm"       // a storm of bounces or deferrals
	RuleRemoteBlocklist = "remote-blocklist"     // a receiving server says our address is listed
)

// Evidence keys of account-volume findings that the incident report reads.
// On a resolved finding they hold the final counts.
const (
	// What the subject sent since its alert began, the window that
	// tripped it included.
	EvidenceMessages   = "messages"
	EvidenceRecipients = "recipients"
	// What it sent after the finding that first detected it.
	EvidenceMessagesAfterDetection   = "messages_after_detection"
	EvidenceRecipientsAfterDetection = "recipients_after_detection"
	EvidenceBouncesHour              = "bounces_hour"
	EvidenceDomainsHour              = "domains_hour"
	EvidenceHabit                    = "habit"
	EvidenceLimit                    = "limit"
	EvidenceWindow                   = "window"
	// Remote refusals (remote-blocklist): how many so far.
	EvidenceRefusals = "refusals"
)

// UIDSubject is the subject of findings about mail a local user injected
// through sendmail/pickup: "uid:33".
func UIDSubject(uid int) string { return "uid:" + strconv.Itoa(uid) }

// Compromise is what a finding says about an account to suspend.
type Compromise struct {
	SASLUser string // set for an authenticated account
	UID      int    // set (>= 0) for a local user; -1 otherwise
}

// IsCompromise reports whether f says that an account or a local uid is
// being used to send spam (account-volume or sasl-many-ips), and which:
// the policy server suspends it on such a finding. A Resolved finding is
// not a compromise.
func IsCompromise(f vigie.Finding) (Compromise, bool) {
	if f.Watch != WatchName || f.Resolved || (f.Rule != RuleAccountVolume && f.Rule != RuleSASLManyIPs) || f.Subject == "" {
		return Compromise{}, false
	}
	return ParseAccountSubject(f.Subject), true
}

// ParseAccountSubject reads a subject written by this package: "uid:N" or
// a SASL user name.
func ParseAccountSubject(s string) Compromise {
	if rest, ok := strings.CutPrefix(s, "uid:"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			return Compromise{UID: n}
		}
	}
	return Compromise{SASLUser: s, UID: -1}
}

// accountGroup puts every alert about one account into one incident: the
// alert pipeline's own key for an account, so that the policy server's
// actions and a web site's findings for the same uid join it (grouping
// rules 2 and 3 in internal/alert/grouping.go).
func accountGroup(subject string) string { return alert.AccountGroup(subject) }
