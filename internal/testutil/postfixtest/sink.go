package postfixtest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// RcptFunc decides the sink's reply to one RCPT TO command (the whole
// command line, upper-cased): "" accepts the recipient.
type RcptFunc func(cmd string) string

// Sink is the SMTP server Postfix relays everything to: it accepts every
// message (unless its RcptFunc refuses the recipients) and counts the
// messages it received by envelope sender.
type Sink struct {
	Port int
	rcpt RcptFunc
	mu   sync.Mutex
	by   map[string]int
	msgs []SinkMessage
}

// SinkMessage is one message the sink received: its envelope sender and
// its Subject header.
type SinkMessage struct {
	From, Subject string
}

// Messages are the messages received so far, in order.
func (s *Sink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.msgs...)
}

// Count is how many messages from sender the sink has received.
func (s *Sink) Count(sender string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.by[sender]
}

// StartSink listens on a loopback port until the test ends.
func StartSink(t testing.TB, rcpt RcptFunc) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Port: ln.Addr().(*net.TCPAddr).Port, rcpt: rcpt, by: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	reply("220 sink.test ESMTP")
	from, accepted := "", 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250-sink.test")
			reply("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			f := strings.TrimSpace(line[len("MAIL FROM:"):])
			f, _, _ = strings.Cut(f, " ")
			from, accepted = strings.Trim(f, "<>\r\n"), 0
			reply("250 2.1.0 ok")
		case strings.HasPrefix(cmd, "RCPT"):
			if s.rcpt != nil {
				if answer := s.rcpt(cmd); answer != "" {
					reply(answer)
					continue
				}
			}
			accepted++
			reply("250 2.1.5 ok")
		case cmd == "DATA":
			if accepted == 0 {
				reply("554 no valid recipients")
				continue
			}
			reply("354 go ahead")
			subject, inHeaders := "", true
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				if strings.TrimRight(l, "\r\n") == "" {
					inHeaders = false
				}
				if v, ok := strings.CutPrefix(l, "Subject: "); ok && inHeaders && subject == "" {
					subject = strings.TrimRight(v, "\r\n")
				}
			}
			s.mu.Lock()
			s.by[from]++
			s.msgs = append(s.msgs, SinkMessage{From: from, Subject: subject})
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}
