package dnscache

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// headerLen is the length of a DNS message's fixed header.
const headerLen = 12

// key is what makes two queries the same question: the name in lower case,
// type and class, and the header and EDNS0 bits that change what a server
// answers.
type key struct {
	name  string
	qtype dnsmessage.Type
	class dnsmessage.Class
	bits  uint8
}

// Bits of key.bits.
const (
	bitRD uint8 = 1 << iota // recursion desired
	bitAD                   // authentic data
	bitCD                   // checking disabled
	bitDO                   // EDNS0 DNSSEC OK
)

// query is a question that may be answered from the cache.
type query struct {
	id  uint16
	key key
	q   dnsmessage.Question
	// wire is the question section as the query spelled it: a cached
	// answer is served with it, so that it repeats the asker's own name.
	wire []byte
	// udpSize is the largest answer the asker takes over UDP: 512 bytes,
	// or the size its EDNS0 record announces.
	udpSize int
}

// parseQuery reads b as a query that may be answered from the cache: a
// standard query for one question of class IN. ok is false for anything
// else, which is passed on to the server as it is.
func parseQuery(b []byte) (q query, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || h.Response || h.OpCode != 0 {
		return q, false
	}
	q.q, err = p.Question()
	if err != nil || q.q.Class != dnsmessage.ClassINET {
		return q, false
	}
	if _, err := p.Question(); !errors.Is(err, dnsmessage.ErrSectionDone) {
		return q, false
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return q, false
	}
	q.id = h.ID
	q.udpSize = 512
	q.key = key{name: lowerASCII(q.q.Name.Data[:q.q.Name.Length]), qtype: q.q.Type, class: q.q.Class}
	if h.RecursionDesired {
		q.key.bits |= bitRD
	}
	if h.AuthenticData {
		q.key.bits |= bitAD
	}
	if h.CheckingDisabled {
		q.key.bits |= bitCD
	}
	for {
		rh, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return q, false
		}
		if rh.Type == dnsmessage.TypeOPT {
			q.udpSize = max(q.udpSize, int(rh.Class))
			if rh.DNSSECAllowed() {
				q.key.bits |= bitDO
			}
		}
		if p.SkipAdditional() != nil {
			return q, false
		}
	}
	end, err := skipName(b, headerLen)
	if err != nil || end+4 > len(b) {
		return q, false
	}
	q.wire = b[headerLen : end+4]
	return q, true
}

// answer is a server's answer kept for later askers of the same question.
type answer struct {
	raw []byte
	// ttls are the offsets in raw of every record's TTL, but those of OPT
	// records (whose TTL field holds flags): served answers count them down.
	ttls []int
	// life is how long the answer may be served from when it was stored.
	life time.Duration
}

// checkAnswer returns b, an answer of the server to q, in the form the
// cache keeps, or ok false and why when it must not be kept: when it is
// not a well-formed answer to q (its ID, its question), is truncated, is
// an error other than NXDOMAIN, carries a TTL of 0, or is a negative
// answer without the SOA record that tells how long it holds (RFC 2308).
// Its life is the least TTL of its answer records, at most maxTTL; a
// negative answer's is the least of its SOA record's TTL and MINIMUM (and
// of any answer records, a CNAME chain to a missing name), at most
// maxNegative.
func checkAnswer(q query, b []byte, maxTTL, maxNegative time.Duration) (a answer, why Reason, ok bool) {
	// The header first: a truncated answer need not be well formed past
	// its question (Go's resolver reads no further before asking again
	// over TCP), and is told apart from a malformed one.
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || !h.Response || h.ID != q.id || h.OpCode != 0 {
		return a, ReasonMalformed, false
	}
	if h.Truncated {
		return a, ReasonTruncated, false
	}
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		return a, ReasonMalformed, false
	}
	if len(m.Questions) != 1 || !sameQuestion(m.Questions[0], q.q) {
		return a, ReasonMalformed, false
	}
	rcode := m.RCode
	for _, r := range m.Additionals {
		if r.Header.Type == dnsmessage.TypeOPT {
			rcode = r.Header.ExtendedRCode(m.RCode)
		}
	}
	least := uint32(math.MaxUint32)
	for _, r := range m.Answers {
		least = min(least, ttlValue(r.Header.TTL))
	}
	limit := maxTTL
	switch {
	case rcode == dnsmessage.RCodeSuccess && len(m.Answers) > 0:
	case rcode == dnsmessage.RCodeSuccess || rcode == dnsmessage.RCodeNameError:
		soa := false
		for _, r := range m.Authorities {
			if body, isSOA := r.Body.(*dnsmessage.SOAResource); isSOA {
				soa = true
				least = min(least, ttlValue(r.Header.TTL), ttlValue(body.MinTTL))
			}
		}
		if !soa {
			return a, ReasonNoSOA, false
		}
		limit = maxNegative
	default:
		return a, ReasonError, false
	}
	if least == 0 || limit <= 0 {
		return a, ReasonZeroTTL, false
	}
	ttls, err := ttlOffsets(b)
	if err != nil {
		return a, ReasonMalformed, false
	}
	// The answer's question is overwritten with the asker's when served:
	// both must take the same room.
	end, err := skipName(b, headerLen)
	if err != nil || end+4-headerLen != len(q.wire) {
		return a, ReasonMalformed, false
	}
	return answer{
		raw:  append([]byte(nil), b...),
		ttls: ttls,
		life: min(time.Duration(least)*time.Second, limit),
	}, 0, true
}

// serve appends to buf the answer for q, aged by age: the asker's ID and
// question, every TTL less the whole seconds the answer has been kept.
func (a *answer) serve(buf []byte, q query, age time.Duration) []byte {
	out := append(buf, a.raw...)
	m := out[len(buf):]
	binary.BigEndian.PutUint16(m, q.id)
	copy(m[headerLen:], q.wire)
	secs := uint32(min(age/time.Second, math.MaxUint32))
	for _, off := range a.ttls {
		ttl := ttlValue(binary.BigEndian.Uint32(m[off:]))
		binary.BigEndian.PutUint32(m[off:], ttl-min(ttl, secs))
	}
	return out
}

// ttlValue is a TTL as RFC 2181 reads it: one with the top bit set is 0.
func ttlValue(ttl uint32) uint32 {
	if ttl > math.MaxInt32 {
		return 0
	}
	return ttl
}

// ttlOffsets returns the offsets of the TTLs of message b's records, OPT
// records left out.
func ttlOffsets(b []byte) ([]int, error) {
	if len(b) < headerLen {
		return nil, errBadMessage
	}
	questions := int(binary.BigEndian.Uint16(b[4:]))
	records := int(binary.BigEndian.Uint16(b[6:])) + int(binary.BigEndian.Uint16(b[8:])) + int(binary.BigEndian.Uint16(b[10:]))
	i := headerLen
	for range questions {
		end, err := skipName(b, i)
		if err != nil {
			return nil, err
		}
		i = end + 4
	}
	offsets := make([]int, 0, records)
	for range records {
		end, err := skipName(b, i)
		if err != nil {
			return nil, err
		}
		// type, class, TTL, RDLENGTH, then RDATA
		if end+10 > len(b) {
			return nil, errBadMessage
		}
		if dnsmessage.Type(binary.BigEndian.Uint16(b[end:])) != dnsmessage.TypeOPT {
			offsets = append(offsets, end+4)
		}
		i = end + 10 + int(binary.BigEndian.Uint16(b[end+8:]))
	}
	if i > len(b) {
		return nil, errBadMessage
	}
	return offsets, nil
}

var errBadMessage = errors.New("malformed DNS message")

// skipName returns the offset just past the name at b[i:].
func skipName(b []byte, i int) (int, error) {
	for {
		if i >= len(b) {
			return 0, errBadMessage
		}
		l := int(b[i])
		switch {
		case l == 0:
			return i + 1, nil
		case l&0xC0 == 0xC0:
			if i+2 > len(b) {
				return 0, errBadMessage
			}
			return i + 2, nil
		case l&0xC0 != 0:
			return 0, errBadMessage
		}
		i += 1 + l
	}
}

// sameQuestion reports whether a and b ask the same, names compared
// without regard to ASCII case (as servers compare them).
func sameQuestion(a, b dnsmessage.Question) bool {
	return a.Type == b.Type && a.Class == b.Class &&
		lowerASCII(a.Name.Data[:a.Name.Length]) == lowerASCII(b.Name.Data[:b.Name.Length])
}

// lowerASCII returns b with ASCII letters in lower case; other bytes are
// kept as they are.
func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}
