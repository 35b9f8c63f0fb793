package mailqueue

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

var pickupReceived = regexp.MustCompile(`^Received: by \S+ \(Postfix, from userid (\d{1,10})\)`)

// ParsePostcat reads the owner of a message from `postcat -e -h` output.
// Only the envelope's named attributes (written by smtpd) and the first
// Received header (the one Postfix itself prepended) are trusted: headers
// below it come from the sender and may be forged.
func ParsePostcat(out []byte) (Owner, bool) {
	o := Owner{UID: -1}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 16<<10), 1<<20)
	section := ""
	seenReceived := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "*** ") {
			switch {
			case strings.HasPrefix(line, "*** ENVELOPE RECORDS"):
				section = "envelope"
			case strings.HasPrefix(line, "*** MESSAGE CONTENTS"):
				section = "content"
			default:
				section = "other"
			}
			continue
		}
		switch section {
		case "envelope":
			if v, ok := strings.CutPrefix(line, "named_attribute: sasl_username="); ok {
				o.SASLUser = v
			} else if v, ok := strings.CutPrefix(line, "named_attribute: client_address="); ok {
				o.Client = v
			} else if v, ok := strings.CutPrefix(line, "sender: "); ok {
				o.Sender = v
			}
		case "content":
			if seenReceived || !strings.HasPrefix(line, "Received:") {
				continue
			}
			seenReceived = true
			if m := pickupReceived.FindStringSubmatch(line); m != nil && o.Client == "" {
				if uid, err := strconv.Atoi(m[1]); err == nil {
					o.UID = uid
				}
			}
		}
	}
	if section == "" {
		return Owner{}, false
	}
	return o, true
}
