package hookrelay

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestNewIDShapeAndOrder(t *testing.T) {
	const n = 10000
	ids := make([]string, n)
	seen := make(map[string]bool, n)
	for i := range ids {
		ids[i] = NewID(PrefixMessage)
		if !strings.HasPrefix(ids[i], "msg_") || len(ids[i]) != len("msg_")+27 {
			t.Fatalf("id %q: want msg_ and 27 characters", ids[i])
		}
		for _, c := range ids[i][4:] {
			if !strings.ContainsRune(base62, c) {
				t.Fatalf("id %q has non-base62 %q", ids[i], c)
			}
		}
		if seen[ids[i]] {
			t.Fatalf("duplicate id %q", ids[i])
		}
		seen[ids[i]] = true
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made one after another do not sort in creation order")
	}
}

func TestIsID(t *testing.T) {
	id := NewID(PrefixMessage)
	for _, tt := range []struct {
		prefix, s string
		want      bool
	}{
		{PrefixMessage, id, true},
		{PrefixEndpoint, id, false},
		{PrefixMessage, id[:len(id)-1], false},
		{PrefixMessage, id + "0", false},
		{PrefixMessage, id[:len(id)-1] + "_", false},
		{PrefixMessage, id[:len(id)-1] + "\x00", false},
		{PrefixMessage, "msg_", false},
		{PrefixMessage, "", false},
		{PrefixApp, IDFloor(PrefixApp, time.Now()), true},
	} {
		if got := IsID(tt.prefix, tt.s); got != tt.want {
			t.Errorf("IsID(%q, %q) = %v, want %v", tt.prefix, tt.s, got, tt.want)
		}
	}
}

func TestIDFloor(t *testing.T) {
	before := time.Now()
	id := NewID(PrefixAttempt)
	after := time.Now().Add(time.Microsecond)
	if f := IDFloor(PrefixAttempt, before); f >= id {
		t.Errorf("floor %q of a time before the ID does not sort before %q", f, id)
	}
	if f := IDFloor(PrefixAttempt, after); f <= id {
		t.Errorf("floor %q of a time after the ID does not sort after %q", f, id)
	}
	if f := IDFloor(PrefixAttempt, time.Unix(0, 0)); f != "atmpt_"+strings.Repeat("0", 27) {
		t.Errorf("floor of the epoch: %q", f)
	}
	if f := IDFloor(PrefixAttempt, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)); f != "atmpt_"+strings.Repeat("0", 27) {
		t.Errorf("floor of a time before the epoch: %q", f)
	}
}

func TestEncodeBase62PreservesValueAndOrder(t *testing.T) {
	var a, b [20]byte
	for i := 0; i < 2000; i++ {
		_, _ = rand.Read(a[:])
		_, _ = rand.Read(b[:])
		if i == 0 {
			for j := range a {
				a[j], b[j] = 0, 0xff // the extremes
			}
		}
		ea, eb := encodeBase62(a), encodeBase62(b)
		if got, want := strings.Compare(ea, eb), bytes.Compare(a[:], b[:]); got != want {
			t.Fatalf("order of %x/%x is %d, encoded %q/%q is %d", a, b, want, ea, eb, got)
		}
		// math/big's base 62 puts lower case before upper case; ours is ASCII order.
		back, ok := new(big.Int).SetString(swapCase(ea), 62)
		if !ok || back.Cmp(new(big.Int).SetBytes(a[:])) != 0 {
			t.Fatalf("%q does not decode back to %x", ea, a)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	for b.Loop() {
		NewID(PrefixMessage)
	}
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}
