package dnswatch

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/vigie/vigie/internal/dnsname"
)

// The fast path of the parent sweep: a TLD's referral read straight from
// the packet, without building a dns.Msg (which costs a dozen
// allocations and a third of the sweep's CPU time at 2 million domains).
// It handles the answers real parents send, and only when they say
// something usable; anything else (an error code, a name with odd bytes,
// a forward compression pointer, a short packet, a referral for another
// name) is left to miekg/dns and parseReferral, which decide it, so the
// two paths never disagree on what they both read (FuzzFastReferral).

const (
	typeA     = 1
	typeNS    = 2
	typeSOA   = 6
	typeAAAA  = 28
	typeDS    = 43
	typeOPT   = 41
	typeNSEC  = 47
	typeNSEC3 = 50
	classIN   = 1
)

// wireRR is one record's header in a packet.
type wireRR struct {
	owner      int // offset of the owner name
	typ, class uint16
	ttl        uint32
	rdata      int // offset of the RDATA
	rdlen      int
}

// walkRRs reads count records from off; ok is false when the packet ends
// early or a name is not one fast reading handles.
func walkRRs(raw []byte, off, count int, fn func(rr wireRR) bool) (int, bool) {
	for i := 0; i < count; i++ {
		next, ok := skipName(raw, off)
		if !ok || next+10 > len(raw) {
			return off, false
		}
		rr := wireRR{owner: off, typ: binary.BigEndian.Uint16(raw[next:]), class: binary.BigEndian.Uint16(raw[next+2:]),
			ttl: binary.BigEndian.Uint32(raw[next+4:]), rdata: next + 10, rdlen: int(binary.BigEndian.Uint16(raw[next+8:]))}
		if rr.rdata+rr.rdlen > len(raw) {
			return off, false
		}
		if fn != nil && !fn(rr) {
			return off, false
		}
		off = rr.rdata + rr.rdlen
	}
	return off, true
}

// skipName returns the offset past the name at off.
func skipName(raw []byte, off int) (int, bool) {
	for {
		if off >= len(raw) {
			return 0, false
		}
		l := int(raw[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xC0 == 0xC0:
			if off+1 >= len(raw) {
				return 0, false
			}
			return off + 2, true
		case l&0xC0 != 0:
			return 0, false
		}
		off += 1 + l
	}
}

// appendName appends the name at off in canonical form (lower case,
// trailing dot; "." for the root) and says whether it could: only
// host-name bytes, backward compression pointers and at most 255 bytes.
func appendName(b []byte, raw []byte, off int) ([]byte, bool) {
	start := len(b)
	wire := 0
	for hops := 0; ; {
		if off >= len(raw) {
			return b, false
		}
		l := int(raw[off])
		if l == 0 {
			break
		}
		if l&0xC0 == 0xC0 {
			if off+1 >= len(raw) || hops > 126 {
				return b, false
			}
			p := (l&0x3F)<<8 | int(raw[off+1])
			if p >= off {
				return b, false // forward or self pointer: miekg/dns decides
			}
			off = p
			hops++
			continue
		}
		if l&0xC0 != 0 || off+1+l > len(raw) {
			return b, false
		}
		wire += 1 + l
		if wire > 254 {
			return b, false
		}
		for _, c := range raw[off+1 : off+1+l] {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			default:
				return b, false
			}
			b = append(b, c)
		}
		b = append(b, '.')
		off += 1 + l
	}
	if len(b) == start {
		b = append(b, '.')
	}
	return b, true
}

// nameIs reports whether the name at off is name (canonical form),
// ignoring case; false too when it is not one fast reading handles.
func nameIs(raw []byte, off int, name string, scratch []byte) bool {
	got, ok := appendName(scratch[:0], raw, off)
	return ok && string(got) == name
}

// fastReferral reads a parent's answer to "domain NS" (domain in
// canonical form) as parseReferral does; ok is false when the answer is
// not a plain referral it can read, and parseReferral must decide.
func fastReferral(domain string, raw []byte) (r referral, ok bool) {
	if len(raw) < 12 || raw[2]&0x80 == 0 || raw[3]&0x0F != 0 {
		return r, false // not a response, or an error code
	}
	aa := raw[2]&0x04 != 0
	qd, an := binary.BigEndian.Uint16(raw[4:]), int(binary.BigEndian.Uint16(raw[6:]))
	ns, ar := int(binary.BigEndian.Uint16(raw[8:])), int(binary.BigEndian.Uint16(raw[10:]))
	if qd != 1 {
		return r, false
	}
	var scratch [256]byte
	if !nameIs(raw, 12, domain, scratch[:]) {
		return r, false
	}
	off, _ := skipName(raw, 12)
	if off+4 > len(raw) || binary.BigEndian.Uint16(raw[off:]) != typeNS || binary.BigEndian.Uint16(raw[off+2:]) != classIN {
		return r, false
	}
	off += 4
	ansStart := off
	off, ok = walkRRs(raw, off, an, nil)
	if !ok {
		return r, false
	}
	nsStart := off
	off, ok = walkRRs(raw, off, ns, nil)
	if !ok {
		return r, false
	}
	arStart := off
	secStart, secCount := nsStart, ns
	if aa && an > 0 {
		secStart, secCount = ansStart, an
	}
	var soa bool
	_, ok = walkRRs(raw, secStart, secCount, func(rr wireRR) bool {
		if rr.class != classIN {
			return true
		}
		switch rr.typ {
		case typeNS:
			if !nameIs(raw, rr.owner, domain, scratch[:]) {
				return false // a referral for another name: parseReferral says so
			}
			name, ok := appendName(nil, raw, rr.rdata)
			if !ok || skipTo(raw, rr.rdata) != rr.rdata+rr.rdlen {
				return false
			}
			r.ns = append(r.ns, string(name))
			if r.ttl == 0 || rr.ttl < r.ttl {
				r.ttl = rr.ttl
			}
		case typeDS:
			if rr.rdlen < 4 {
				return false
			}
			if nameIs(raw, rr.owner, domain, scratch[:]) {
				r.ds = append(r.ds, dsString(raw[rr.rdata:rr.rdata+rr.rdlen]))
				r.dsKnown = true
			} else if _, ok := appendName(scratch[:0], raw, rr.owner); !ok {
				return false
			}
		case typeNSEC, typeNSEC3:
			r.dsKnown = true
		case typeSOA:
			soa = true
		}
		return true
	})
	if !ok || len(r.ns) == 0 || soa {
		return r, false
	}
	r.ns = dnsname.SortedUnique(r.ns)
	_, ok = walkRRs(raw, arStart, ar, func(rr wireRR) bool {
		if rr.typ == typeOPT {
			return raw[rr.owner] == 0 && rr.ttl>>24 == 0 // an extended error code: parseReferral decides
		}
		if rr.class != classIN || (rr.typ != typeA && rr.typ != typeAAAA) {
			return true
		}
		name, ok := appendName(scratch[:0], raw, rr.owner)
		if !ok {
			return false
		}
		in := false
		for _, n := range r.ns {
			if n == string(name) {
				in = true
				break
			}
		}
		if !in {
			return true
		}
		var a netip.Addr
		switch {
		case rr.typ == typeA && rr.rdlen == 4:
			a = netip.AddrFrom4([4]byte(raw[rr.rdata : rr.rdata+4]))
		case rr.typ == typeAAAA && rr.rdlen == 16:
			a = netip.AddrFrom16([16]byte(raw[rr.rdata : rr.rdata+16]))
		default:
			return false
		}
		r.glue = append(r.glue, string(name)+" "+a.String())
		r.addrs = append(r.addrs, a)
		return true
	})
	if !ok {
		return referral{}, false
	}
	r.glue = dnsname.SortedUnique(r.glue)
	r.ds = dnsname.SortedUnique(r.ds)
	return r, true
}

// skipTo is the offset past the name at off, or -1.
func skipTo(raw []byte, off int) int {
	n, ok := skipName(raw, off)
	if !ok {
		return -1
	}
	return n
}

// dsString is rdataString of a DS record's RDATA: "keytag alg type
// DIGEST" (hex in upper case).
func dsString(rd []byte) string {
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, 16+2*len(rd))
	b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd)), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[2]), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[3]), 10)
	b = append(b, ' ')
	for _, c := range rd[4:] {
		b = append(b, hexUpper[c>>4], hexUpper[c&15])
	}
	return string(b)
}
