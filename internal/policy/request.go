package policy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// A Request is the part of a policy request vigie uses. Postfix sends
// more attributes (and adds some in each version); the others are read and
// ignored.
type Request struct {
	Request        string // must be smtpd_access_policy
	ProtocolState  string // CONNECT, EHLO, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY, ETRN
	SASLUsername   string
	Sender         string
	ClientAddress  string
	QueueID        string
	Instance       string
	RecipientCount int
	Size           int64
	Attributes     int // how many lines the request had
}

// Limits of one request, so a client cannot make vigie hold much memory.
const (
	// MaxLine is the longest attribute line (name=value), newline included.
	MaxLine = 8192
	// MaxAttributes is the most lines in one request.
	MaxAttributes = 256
)

var (
	errLineTooLong   = errors.New("attribute line too long")
	errTooMany       = errors.New("too many attributes")
	errNoEquals      = errors.New("attribute line without '='")
	errEmptyName     = errors.New("attribute with an empty name")
	errBadNumber     = errors.New("attribute value is not a number")
	errNoTerminator  = errors.New("connection ended inside a request")
	errEmptyRequests = errors.New("empty request")
)

// ReadRequest reads one request: name=value lines ended by an empty line.
// r must have a buffer of at least MaxLine bytes. io.EOF is returned only
// when the connection ends between requests.
func ReadRequest(r *bufio.Reader, req *Request) error {
	*req = Request{}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				return errLineTooLong
			case errors.Is(err, io.EOF) && (len(line) > 0 || req.Attributes > 0):
				return errNoTerminator
			}
			return err // io.EOF between requests, a timeout, a read error
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			if req.Attributes == 0 {
				return errEmptyRequests
			}
			return nil
		}
		req.Attributes++
		if req.Attributes > MaxAttributes {
			return errTooMany
		}
		if err := req.set(line); err != nil {
			return err
		}
	}
}

// set records one name=value line. Values are kept byte for byte: they
// are attacker-controlled text, escaped wherever they are shown.
func (req *Request) set(line []byte) error {
	i := bytes.IndexByte(line, '=')
	if i < 0 {
		return errNoEquals
	}
	if i == 0 {
		return errEmptyName
	}
	name, value := line[:i], line[i+1:]
	switch string(name) { // no allocation: the compiler switches on the bytes
	case "request":
		req.Request = string(value)
	case "protocol_state":
		req.ProtocolState = string(value)
	case "sasl_username":
		req.SASLUsername = string(value)
	case "sender":
		req.Sender = string(value)
	case "client_address":
		req.ClientAddress = string(value)
	case "queue_id":
		req.QueueID = string(value)
	case "instance":
		req.Instance = string(value)
	case "recipient_count":
		n, err := atoi(value)
		if err != nil {
			return err
		}
		req.RecipientCount = n
	case "size":
		n, err := atoi(value)
		if err != nil {
			return err
		}
		req.Size = int64(n)
	}
	return nil
}

// atoi parses a non-negative decimal number; empty is 0 (Postfix sends
// "size=" and "recipient_count=0" at stages where they are unknown).
func atoi(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 18 {
		return 0, errBadNumber
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errBadNumber
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// appendReply appends one answer: "action=ACTION TEXT" and the empty line.
func appendReply(b []byte, action, text string) []byte {
	b = append(b, "action="...)
	b = append(b, action...)
	if text != "" {
		b = append(b, ' ')
		b = append(b, text...)
	}
	return append(b, "\n\n"...)
}
