package email

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"

	"github.com/vigie/vigie/internal/notify"
)

// compose builds the RFC 5322 message: a one-line, Q-encoded subject (no
// header injection from finding text), a quoted-printable UTF-8 body.
func (n *Notifier) compose(m *notify.Message) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	from, _ := mail.ParseAddress(n.o.From)
	h("From", from.String())
	var to []string
	for _, t := range n.o.To {
		a, _ := mail.ParseAddress(t)
		to = append(to, a.String())
	}
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", notify.OneLine(notify.Title(m), 200)))
	h("Date", n.o.Now().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	domain := "vigie.invalid"
	if _, d, ok := strings.Cut(from.Address, "@"); ok {
		domain = d
	}
	h("Message-ID", "<"+m.ID+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	h("X-Vigie-Message", m.ID)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(notify.Text(m))) // text mode: line breaks become CRLF
	qp.Close()
	return b.Bytes()
}
