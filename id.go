package hookrelay

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes, as Svix uses them.
const (
	PrefixApp      = "app_"
	PrefixEndpoint = "ep_"
	PrefixMessage  = "msg_"
	PrefixAttempt  = "atmpt_"
	PrefixDelivery = "dlv_"
	PrefixTask     = "qtask_"
	PrefixToken    = "tok_"
	PrefixEnv      = "env_"
	PrefixSession  = "sess_"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var idState struct {
	sync.Mutex
	last int64
}

// NewID returns prefix followed by 27 base62 characters. IDs made by one
// process are strictly increasing in byte order, and IDs made by different
// processes sort by creation time to the microsecond, so ordering by ID is
// ordering by age: list pagination relies on this.
func NewID(prefix string) string {
	idState.Lock()
	now := time.Now().UnixMicro()
	if now <= idState.last {
		now = idState.last + 1
	}
	idState.last = now
	idState.Unlock()

	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now))
	_, _ = rand.Read(b[8:])
	return prefix + encodeBase62(b)
}

// IsID reports whether s has the shape of an ID NewID makes with prefix:
// the prefix and 27 base62 characters.
func IsID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 27 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// IDFloor returns the smallest ID with prefix that NewID can make at t or
// later: every such ID sorts after it, every ID made before t before it.
// Listings ordered by ID use it to turn a time bound into an ID range.
func IDFloor(prefix string, t time.Time) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], uint64(max(t.UnixMicro(), 0)))
	return prefix + encodeBase62(b)
}

// encodeBase62 encodes 20 bytes as exactly 27 base62 digits, big-endian, so
// that lexical order matches numeric order.
func encodeBase62(b [20]byte) string {
	// Long division of the 160-bit number by 62, 27 times, on five 32-bit
	// limbs (the compiler turns the division by a constant into a multiply).
	var num [5]uint32
	for i := range num {
		num[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	var out [27]byte
	for i := 26; i >= 0; i-- {
		var rem uint64
		for j := range num {
			v := rem<<32 | uint64(num[j])
			num[j] = uint32(v / 62)
			rem = v % 62
		}
		out[i] = base62[rem]
	}
	return string(out[:])
}
