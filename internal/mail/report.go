package mail

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
)

// Report is a pflogsumm-style summary of a Postfix log, built with the
// same parser as the watch. Its grand totals count what pflogsumm counts
// on the same log (TestReportMatchesPflogsumm compares them):
//
//   - received: messages that entered, one per smtpd client= or pickup
//     line (not qmgr's from= lines, which come again at every retry of a
//     deferred message and for bounces Postfix makes itself);
//   - delivered: recipients with status=sent, except those "forwarded as"
//     to another queue id (a content filter), which are forwarded;
//   - deferred: messages deferred at least once, also those queued before
//     the log began (deferrals: every deferred attempt);
//   - bounced: recipients with status=bounced;
//   - rejected: smtpd and postscreen NOQUEUE rejects, cleanup and milter
//     rejects (not reject_warning).
//
// SASL failures are counted as vigie's detectors count them: a failure
// the SASL back end caused (Dovecot or saslauthd unreachable) is counted
// apart (pflogsumm lists every SASL warning among smtpd's warnings).
type Report struct {
	Lines      int       `json:"lines"`
	NotPostfix int       `json:"not_postfix"`
	Unknown    int       `json:"unknown"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`

	Received  int `json:"received"`  // messages received (smtpd client= and pickup lines)
	Delivered int `json:"delivered"` // recipients delivered (status=sent, not forwarded)
	Forwarded int `json:"forwarded"` // recipients handed on ("forwarded as", e.g. to a content filter)
	Deferred  int `json:"deferred"`  // deferral attempts
	Bounced   int `json:"bounced"`   // recipients bounced
	Expired   int `json:"expired"`   // messages returned after the queue lifetime
	Rejected  int `json:"rejected"`  // NOQUEUE and cleanup rejects

	DeferredMessages    int `json:"deferred_messages"` // distinct messages deferred at least once
	SASLFailures        int `json:"sasl_failures"`
	SASLBackendFailures int `json:"sasl_backend_failures"` // the SASL back end's fault, not the client's
	BounceNotifications int `json:"bounce_notifications"`
	Postscreen          int `json:"postscreen"`
	DNSBL               int `json:"dnsbl"`

	Accounts []AccountReport `json:"accounts"` // SASL users and local uids, most messages first
	Hours    []HourReport    `json:"hours"`
}

// AccountReport is what one SASL user or local uid sent.
type AccountReport struct {
	Account    string `json:"account"`
	Messages   int    `json:"messages"`
	Recipients int    `json:"recipients"`
	Domains    int    `json:"recipient_domains"`
	Bounced    int    `json:"bounced"`
	Deferred   int    `json:"deferred"`
}

// HourReport counts one hour.
type HourReport struct {
	Hour      time.Time `json:"hour"`
	Received  int       `json:"received"`
	Delivered int       `json:"delivered"`
	Deferred  int       `json:"deferred"`
	Bounced   int       `json:"bounced"`
	Rejected  int       `json:"rejected"`
}

type reportAccount struct {
	AccountReport
	domains map[string]struct{}
}

type reportMsg struct {
	acct     int32 // index in accounts, -1: none
	received bool  // its client= or pickup line was counted
	counted  bool  // its first qmgr from= line was counted
	deferred bool
}

// Reporter builds a Report line by line.
type Reporter struct {
	parser   *postfixlog.Parser
	entry    postfixlog.Entry
	r        Report
	msgs     map[string]*reportMsg
	accounts []*reportAccount
	byName   map[string]int32
	hours    map[int64]*HourReport
}

// NewReporter returns a reporter; o dates classic stamps.
func NewReporter(o postfixlog.Options) *Reporter {
	return &Reporter{parser: postfixlog.NewParser(o), msgs: map[string]*reportMsg{}, byName: map[string]int32{},
		hours: map[int64]*HourReport{}}
}

func (p *Reporter) acct(name string) int32 {
	if i, ok := p.byName[name]; ok {
		return i
	}
	name = strings.Clone(name)
	i := int32(len(p.accounts))
	p.accounts = append(p.accounts, &reportAccount{AccountReport: AccountReport{Account: name}, domains: map[string]struct{}{}})
	p.byName[name] = i
	return i
}

func (p *Reporter) hour(t time.Time) *HourReport {
	h := t.Unix() / 3600
	hr := p.hours[h]
	if hr == nil {
		hr = &HourReport{Hour: time.Unix(h*3600, 0).UTC()}
		p.hours[h] = hr
	}
	return hr
}

func (p *Reporter) msg(qid string, create bool) *reportMsg {
	m := p.msgs[qid]
	if m == nil && create {
		m = &reportMsg{acct: -1}
		p.msgs[strings.Clone(qid)] = m
	}
	return m
}

// Line adds one line.
func (p *Reporter) Line(line string) {
	e := &p.entry
	p.parser.Parse(line, e)
	r := &p.r
	r.Lines++
	switch e.Kind {
	case postfixlog.KindNotPostfix:
		r.NotPostfix++
		return
	case postfixlog.KindUnknown:
		r.Unknown++
	}
	if r.First.IsZero() || e.Time.Before(r.First) {
		r.First = e.Time
	}
	if e.Time.After(r.Last) {
		r.Last = e.Time
	}
	switch e.Kind {
	case postfixlog.KindClient, postfixlog.KindPickup:
		m := p.msg(e.QueueID, true)
		if !m.received {
			m.received = true
			r.Received++
			p.hour(e.Time).Received++
		}
		if e.SASLUser != "" {
			m.acct = p.acct(e.SASLUser)
		} else if e.Kind == postfixlog.KindPickup && e.UID >= 0 {
			m.acct = p.acct(UIDSubject(e.UID))
		}
	case postfixlog.KindQueued:
		m := p.msg(e.QueueID, true)
		if m.counted {
			return
		}
		m.counted = true
		if m.acct >= 0 {
			a := p.accounts[m.acct]
			a.Messages++
			a.Recipients += e.Nrcpt
		}
	case postfixlog.KindDelivery:
		m := p.msg(e.QueueID, true) // also a message queued before the log began
		var a *reportAccount
		if m != nil && m.acct >= 0 {
			a = p.accounts[m.acct]
			if at := strings.LastIndexByte(e.Recipient, '@'); at >= 0 && len(a.domains) < 100000 {
				d := e.Recipient[at+1:]
				if _, ok := a.domains[d]; !ok {
					a.domains[strings.Clone(strings.ToLower(d))] = struct{}{} // not a piece of the line
				}
			}
		}
		h := p.hour(e.Time)
		switch e.Status {
		case "sent":
			if strings.Contains(e.Reply, "forwarded as ") {
				r.Forwarded++
				break
			}
			r.Delivered++
			h.Delivered++
		case "deferred":
			r.Deferred++
			h.Deferred++
			if m != nil && !m.deferred {
				m.deferred = true
				r.DeferredMessages++
			}
			if a != nil {
				a.Deferred++
			}
		case "bounced":
			r.Bounced++
			h.Bounced++
			if a != nil {
				a.Bounced++
			}
		}
	case postfixlog.KindRemoved:
		delete(p.msgs, e.QueueID)
	case postfixlog.KindExpired:
		r.Expired++
	case postfixlog.KindReject:
		r.Rejected++
		p.hour(e.Time).Rejected++
	case postfixlog.KindSASLFail:
		if e.AuthServerFault() {
			r.SASLBackendFailures++
		} else {
			r.SASLFailures++
		}
	case postfixlog.KindBounce:
		r.BounceNotifications++
	case postfixlog.KindPostscreen:
		r.Postscreen++
	case postfixlog.KindDNSBL:
		r.DNSBL++
	}
}

// Skipped counts a line too long to read.
func (p *Reporter) Skipped() { p.r.Lines++; p.r.NotPostfix++ }

// Report returns the summary so far.
func (p *Reporter) Report() Report {
	r := p.r
	r.Accounts = make([]AccountReport, 0, len(p.accounts))
	for _, a := range p.accounts {
		a.Domains = len(a.domains)
		r.Accounts = append(r.Accounts, a.AccountReport)
	}
	sort.Slice(r.Accounts, func(i, j int) bool {
		a, b := r.Accounts[i], r.Accounts[j]
		return a.Messages > b.Messages || a.Messages == b.Messages && a.Account < b.Account
	})
	r.Hours = make([]HourReport, 0, len(p.hours))
	for _, h := range p.hours {
		r.Hours = append(r.Hours, *h)
	}
	sort.Slice(r.Hours, func(i, j int) bool { return r.Hours[i].Hour.Before(r.Hours[j].Hour) })
	return r
}

// WriteText prints the report for a person; escape makes attacker text
// (account names) safe for a terminal.
func (r *Report) WriteText(w io.Writer, escape func(string) string, top int) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Postfix log summary: %d lines", r.Lines)
	if !r.First.IsZero() {
		fmt.Fprintf(b, ", %s to %s", r.First.Format(time.RFC3339), r.Last.Format(time.RFC3339))
	}
	fmt.Fprintf(b, "\n\nGrand totals\n")
	for _, row := range []struct {
		n    int
		what string
	}{{r.Received, "received"}, {r.Delivered, "delivered"}, {r.Forwarded, "forwarded"}, {r.DeferredMessages, "deferred (messages)"},
		{r.Deferred, "deferrals"}, {r.Bounced, "bounced"}, {r.Expired, "expired"}, {r.Rejected, "rejected"},
		{r.SASLFailures, "SASL authentication failures"}, {r.SASLBackendFailures, "SASL failures of the back end (not counted as attacks)"},
		{r.BounceNotifications, "bounce notifications"}, {r.Postscreen, "postscreen lines"}, {r.DNSBL, "DNSBL hits (dnsblog)"},
		{r.Unknown, "Postfix lines not understood"}, {r.NotPostfix, "other lines"}} {
		fmt.Fprintf(b, "  %9d  %s\n", row.n, row.what)
	}
	fmt.Fprintf(b, "\nSenders (SASL users and local uids)\n  %9s %10s %8s %8s %8s  %s\n", "messages", "recipients", "domains", "bounced", "deferred", "account")
	for i, a := range r.Accounts {
		if top > 0 && i >= top {
			fmt.Fprintf(b, "  ... %d more (--top 0 shows all)\n", len(r.Accounts)-top)
			break
		}
		fmt.Fprintf(b, "  %9d %10d %8d %8d %8d  %s\n", a.Messages, a.Recipients, a.Domains, a.Bounced, a.Deferred, escape(a.Account))
	}
	fmt.Fprintf(b, "\nPer hour (UTC)\n  %-17s %9s %9s %9s %9s %9s\n", "hour", "received", "delivered", "deferred", "bounced", "rejected")
	for _, h := range r.Hours {
		fmt.Fprintf(b, "  %-17s %9d %9d %9d %9d %9d\n", h.Hour.Format("2006-01-02 15:04"), h.Received, h.Delivered, h.Deferred, h.Bounced, h.Rejected)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
