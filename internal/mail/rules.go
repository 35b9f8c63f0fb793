// Package mail is the mail watch: it follows the Postfix log (a file or
// the journal) and the queue (postqueue -j), joins the lines of each
// message by queue id to who sent it (SASL user, local uid or client
// address), and runs the detectors that catch a stolen password, a web
// application turned spam relay, brute force, queue growth, bounce storms
// and remote blocklistings. The same Engine runs in the daemon and in
// `vigie replay`, where the log's own timestamps are the clock.
package mail

import (
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// WatchName is the Watch of every finding of this package.
const WatchName = string(Name)

// Rule names, as they appear in findings and alerts.
const (
	RuleAccountVolume   watch.RuleName = "account-volume"       // an account or uid sends far above its habit or a ceiling
	RuleSASLManyIPs     watch.RuleName = "sasl-many-ips"        // one SASL user logged in from many networks new to it
	RuleBruteForceNet   watch.RuleName = "sasl-bruteforce-net"  // many authentication failures from one client network (spraying)
	RuleBruteForceIP    watch.RuleName = "sasl-bruteforce-ip"   // many authentication failures from one address
	RuleBruteForceUser  watch.RuleName = "sasl-bruteforce-user" // many authentication failures for one user name
	RuleQueueGrowth     watch.RuleName = "queue-growth"         // deferred mail piling up
	RuleDeliveryStorm   watch.RuleName = "delivery-storm"       // a storm of bounces or deferrals
	RuleRemoteBlocklist watch.RuleName = "remote-blocklist"     // a receiving server says our address is listed
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
)

// UIDSubject is the subject of findings about mail a local user injected
// through sendmail/pickup: "uid:33" (subject.UID(uid).String()).
func UIDSubject(uid int) string { return subject.UID(uid).String() }

// Compromise is what a finding says about an account to suspend.
type Compromise struct {
	// Subject is the sender to contain: a SASL user, a uid or an
	// unauthenticated local SMTP client (never the whole server).
	Subject  subject.Subject
	SASLUser string // set for an authenticated account
	UID      int    // set (>= 0) for a local user; -1 otherwise
}

// IsCompromise reports whether f says that an account or a local uid is
// being used to send spam (account-volume or sasl-many-ips), and which:
// the policy server suspends it on such a finding. A Resolved finding is
// not a compromise.
func IsCompromise(f vigie.Finding) (Compromise, bool) {
	if f.Watch != WatchName || f.Resolved || (f.Rule != string(RuleAccountVolume) && f.Rule != string(RuleSASLManyIPs)) || f.Subject == "" {
		return Compromise{}, false
	}
	c := ParseAccountSubject(f.Subject)
	return c, c.Subject.Account()
}

// ParseAccountSubject reads a subject written by this package (see
// package subject): "uid:N", "client:ADDR", "server" or a SASL user name.
func ParseAccountSubject(s string) Compromise {
	sub, err := subject.Parse(s)
	if err != nil {
		return Compromise{UID: -1}
	}
	c := Compromise{Subject: sub, UID: -1}
	switch sub.Kind {
	case subject.KindSASL:
		c.SASLUser = sub.User
	case subject.KindUID:
		c.UID = sub.UID
	}
	return c
}

// accountGroup puts every alert about one account into one incident: the
// alert pipeline's own key for an account, so that the policy server's
// actions and a web site's findings for the same uid join it (grouping
// rules 2 and 3 in internal/alert/grouping.go).
func accountGroup(subject string) string { return watch.AccountGroup(subject) }
