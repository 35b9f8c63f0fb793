package dnswatch

import (
	"encoding/binary"
	"net"
	"strconv"
	"strings"
)

// The fast path of the full sweep: a domain's own server's answer for a
// child-side kind (A, AAAA, MX, SPF and DMARC TXT, CAA) read straight
// from the packet, as parseChild reads it through miekg/dns. It handles
// the answers real servers send when they say something usable: a
// response to the question, no error, authoritative. Anything else (an
// error code, NXDOMAIN, a lame answer, a name or a CAA tag with odd
// bytes, a forward compression pointer, a record that is not the length
// its type says, a short packet) is left to miekg/dns and parseChild,
// which decide it, so the two paths never disagree on what they both
// read (FuzzFastChild).

const (
	typeCNAME = 5
	typeMX    = 15
	typeTXT   = 16
	typeCAA   = 257
)

// fastChild reads the answer of domain's server for kind k (domain in
// canonical form); ok is false when parseChild must decide.
func fastChild(domain string, k Kind, raw []byte) (val string, ttl uint32, ok bool) {
	if len(raw) < 12 || raw[2]&0x80 == 0 || raw[2]&0x04 == 0 || raw[3]&0x0F != 0 {
		return "", 0, false // not a response, not authoritative, or an error code
	}
	qd, an := binary.BigEndian.Uint16(raw[4:]), int(binary.BigEndian.Uint16(raw[6:]))
	ns, ar := int(binary.BigEndian.Uint16(raw[8:])), int(binary.BigEndian.Uint16(raw[10:]))
	if qd != 1 {
		return "", 0, false
	}
	var qtype uint16
	switch k {
	case KindA:
		qtype = typeA
	case KindAAAA:
		qtype = typeAAAA
	case KindMX:
		qtype = typeMX
	case KindSPF, KindDMARC:
		qtype = typeTXT
	case KindCAA:
		qtype = typeCAA
	default:
		return "", 0, false
	}
	var scratch [256]byte
	qname, ok := appendName(scratch[:0], raw, 12)
	if !ok {
		return "", 0, false
	}
	// The question: domain, or _dmarc.domain for DMARC.
	if k == KindDMARC {
		if len(qname) != len("_dmarc.")+len(domain) || string(qname[:7]) != "_dmarc." || string(qname[7:]) != domain {
			return "", 0, false
		}
	} else if string(qname) != domain {
		return "", 0, false
	}
	off, _ := skipName(raw, 12)
	if off+4 > len(raw) || binary.BigEndian.Uint16(raw[off:]) != qtype || binary.BigEndian.Uint16(raw[off+2:]) != classIN {
		return "", 0, false
	}
	off += 4
	ansStart := off
	if off, ok = walkRRs(raw, off, an+ns, nil); !ok {
		return "", 0, false
	}
	// The additional section: an OPT with an extended error code is an
	// error parseChild decides.
	if _, ok = walkRRs(raw, off, ar, func(rr wireRR) bool {
		return rr.typ != typeOPT || (raw[rr.owner] == 0 && rr.ttl>>24 == 0)
	}); !ok {
		return "", 0, false
	}
	var vals []string
	var cname string
	var name [256]byte
	_, ok = walkRRs(raw, ansStart, an, func(rr wireRR) bool {
		if rr.class != classIN {
			return true
		}
		owner, ok := appendName(name[:0], raw, rr.owner)
		if !ok {
			return false
		}
		if string(owner) != string(qname) {
			return true
		}
		rd := raw[rr.rdata : rr.rdata+rr.rdlen]
		var v string
		switch rr.typ {
		case typeCNAME:
			t, ok := appendName([]byte("CNAME "), raw, rr.rdata)
			if !ok || skipTo(raw, rr.rdata) != rr.rdata+rr.rdlen {
				return false
			}
			cname = string(t)
			return true
		case typeA:
			if rr.rdlen != 4 {
				return false
			}
			if k != KindA {
				return true
			}
			v = net.IP(rd).String()
		case typeAAAA:
			if rr.rdlen != 16 {
				return false
			}
			if k != KindAAAA {
				return true
			}
			v = net.IP(rd).String()
		case typeMX:
			if rr.rdlen < 3 {
				return false
			}
			b := strconv.AppendUint(make([]byte, 0, 64), uint64(binary.BigEndian.Uint16(rd)), 10)
			b = append(b, ' ')
			b, ok = appendName(b, raw, rr.rdata+2)
			if !ok || skipTo(raw, rr.rdata+2) != rr.rdata+rr.rdlen {
				return false
			}
			if k != KindMX {
				return true
			}
			v = string(b)
		case typeTXT:
			txt, ok := txtBytes(rd)
			if !ok {
				return false
			}
			if k != KindSPF && k != KindDMARC {
				return true
			}
			t := strings.ToLower(strings.TrimSpace(txt))
			if !(k == KindSPF && (t == "v=spf1" || strings.HasPrefix(t, "v=spf1 ")) ||
				k == KindDMARC && strings.HasPrefix(t, "v=dmarc1")) {
				return true
			}
			v = strconv.Quote(txt)
		case typeCAA:
			if rr.rdlen < 2 || 2+int(rd[1]) > len(rd) {
				return false
			}
			tag := rd[2 : 2+rd[1]]
			for _, c := range tag {
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
					return false // miekg/dns escapes other bytes: it decides
				}
			}
			if k != KindCAA {
				return true
			}
			v = strconv.Itoa(int(rd[0])) + " " + strconv.Quote(string(tag)) + " " + strconv.Quote(string(rd[2+len(tag):]))
		default:
			return true
		}
		vals = append(vals, v)
		if ttl == 0 || rr.ttl < ttl {
			ttl = rr.ttl
		}
		return true
	})
	if !ok {
		return "", 0, false
	}
	if len(vals) == 0 && cname != "" {
		return cname, 0, true
	}
	return joinValues(vals), ttl, true
}

// txtBytes joins the character-strings of a TXT record's RDATA; ok is
// false when they do not fill it exactly.
func txtBytes(rd []byte) (string, bool) {
	if len(rd) > 0 && int(rd[0])+1 == len(rd) {
		return string(rd[1:]), true // one string: the usual case
	}
	var b strings.Builder
	for i := 0; i < len(rd); {
		l := int(rd[i])
		if i+1+l > len(rd) {
			return "", false
		}
		b.Write(rd[i+1 : i+1+l])
		i += 1 + l
	}
	return b.String(), true
}
