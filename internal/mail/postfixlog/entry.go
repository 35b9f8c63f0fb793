// Package postfixlog parses Postfix log lines (syslog files, maillog_file,
// journalctl output) into entries: who submitted a message, where it went,
// what was refused. It never trusts its input: every field is a substring
// of the line as written, kept as is (attacker-controlled text such as
// senders and HELO names is escaped by whoever prints it), and a line it
// does not understand is reported as such, never fatal.
package postfixlog

import "time"

// Kind says what a line records.
type Kind uint8

const (
	KindNotPostfix Kind = iota // another program's line, or no syslog header
	KindUnknown                // a Postfix line this parser does not interpret
	KindOther                  // a known line that carries nothing vigie uses (connect, disconnect, ...)
	KindClient                 // smtpd: QID: client=name[ip], sasl_method=, sasl_username=
	KindPickup                 // pickup: QID: uid=N from=<sender>
	KindMessageID              // cleanup: QID: message-id=<...>
	KindQueued                 // qmgr: QID: from=<sender>, size=N, nrcpt=N (queue active)
	KindRemoved                // qmgr: QID: removed
	KindExpired                // qmgr: QID: from=<sender>, status=expired, returned to sender
	KindDelivery               // smtp/lmtp/local/virtual/...: QID: to=<rcpt>, relay=, dsn=, status=
	KindReject                 // NOQUEUE: reject: ... or QID: reject: ...
	KindSASLFail               // warning: name[ip]: SASL LOGIN authentication failed: ...
	KindBounce                 // bounce: QID: sender non-delivery notification: NEWQID
	KindPostscreen             // postscreen: any line
	KindDNSBL                  // dnsblog: addr IP listed by domain ZONE as ...
	KindDisconnect             // smtpd: disconnect from name[ip] ... auth=S/T ...
	KindHold                   // QID: hold: ... or QID: milter-hold: ... (the message went to the hold queue)
	kindCount
)

var kindNames = [kindCount]string{"not_postfix", "unknown", "other", "client", "pickup", "message_id", "queued",
	"removed", "expired", "delivery", "reject", "sasl_fail", "bounce", "postscreen", "dnsbl", "disconnect", "hold"}

// String is the kind's name, also used as a metric label value.
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "invalid"
}

// Kinds lists every kind, for metrics and reports.
func Kinds() []Kind {
	out := make([]Kind, kindCount)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Entry is one parsed line. Fields that the line's kind does not carry
// are empty. Strings are substrings of the line.
type Entry struct {
	Kind    Kind
	Time    time.Time
	Host    string
	Program string // the syslog tag without pid: "postfix/submission/smtpd"
	Daemon  string // its last element: "smtpd"
	PID     int
	QueueID string // empty for NOQUEUE and for lines without one
	Message string // the text after "tag[pid]: "

	ClientName string // smtpd client=, reject, SASL failure
	ClientIP   string
	SASLMethod string
	SASLUser   string // client= line; SASL failure on Postfix 3.9+

	UID    int // pickup; -1 when absent
	Sender string
	Size   int64
	Nrcpt  int

	MessageID string

	Recipient string // delivery to=, reject to=
	OrigTo    string
	Relay     string
	DSN       string
	Status    string // sent, deferred, bounced, expired, ...
	Reply     string // the text in parentheses after status=, or the reject reason

	Helo        string // reject helo=<...>
	RejectStage string // RCPT, DATA, CONNECT, ... (reject lines)

	ChildQueueID string // bounce: the notification's queue id
	DNSBLZone    string // dnsblog / postscreen

	// AuthTotal and AuthFailed: a disconnect line's auth=S/T (T AUTH
	// commands, T-S of them failed).
	AuthTotal, AuthFailed int
	// AuthBackendDown: this SASL failure came right after the same smtpd
	// said the SASL back end was unreachable (see AuthServerFault).
	AuthBackendDown bool
}

// Reset clears e for reuse.
func (e *Entry) Reset() { *e = Entry{UID: -1} }
