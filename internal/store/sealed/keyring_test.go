package sealed_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// keyLine returns "id:" + base64 of 32 bytes all equal to b.
func keyLine(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, sealed.KeySize))
}

func mustKeys(t testing.TB, s string) *sealed.Keyring {
	t.Helper()
	k, err := sealed.ParseKeys(s)
	if err != nil {
		t.Fatalf("parse keys %q: %v", s, err)
	}
	return k
}

func TestParseKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, sealed.KeySize) // encodes differently in std and url base64
	tests := []struct {
		name    string
		in      string
		ids     []string
		wantErr string
	}{
		{"one key std base64", "a:" + base64.StdEncoding.EncodeToString(raw), []string{"a"}, ""},
		{"url base64", "a:" + base64.URLEncoding.EncodeToString(raw), []string{"a"}, ""},
		{"unpadded", "a:" + base64.RawStdEncoding.EncodeToString(raw), []string{"a"}, ""},
		{"unpadded url", "a:" + base64.RawURLEncoding.EncodeToString(raw), []string{"a"}, ""},
		{"two keys, first seals", keyLine("k2", 2) + "," + keyLine("k1", 1), []string{"k2", "k1"}, ""},
		{"spaces and newlines", " " + keyLine("k2", 2) + ", \n" + keyLine("k1", 1) + "\n", []string{"k2", "k1"}, ""},
		{"id characters", keyLine("k20260525-x_y.z", 1), []string{"k20260525-x_y.z"}, ""},
		{"empty", "", nil, "no key"},
		{"only separators", " ,\n", nil, "no key"},
		{"no colon", "abc", nil, "ID:BASE64KEY"},
		{"empty id", keyLine("", 1), nil, "must be 1 to"},
		{"bad id", keyLine("a/b", 1), nil, "may hold only"},
		{"long id", keyLine(strings.Repeat("a", 65), 1), nil, "must be 1 to"},
		{"duplicate id", keyLine("a", 1) + "," + keyLine("a", 2), nil, "given twice"},
		{"short key", "a:" + base64.StdEncoding.EncodeToString(raw[:16]), nil, "16 bytes, want 32"},
		{"not base64", "a:!!!!", nil, "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := sealed.ParseKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.IDs(); strings.Join(got, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("ids %v, want %v", got, tt.ids)
			}
			if k.CurrentID() != tt.ids[0] {
				t.Errorf("current %q, want %q", k.CurrentID(), tt.ids[0])
			}
		})
	}
}

func TestParseKeysAcceptsEveryEncodingOfOneKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x3e}, 11)[:sealed.KeySize]
	sealedV := mustKeys(t, "a:"+base64.StdEncoding.EncodeToString(raw)).Seal("x", "b")
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		k := mustKeys(t, "a:"+enc.EncodeToString(raw))
		if got, err := k.Open(sealedV, "b"); err != nil || got != "x" {
			t.Errorf("open with %v-encoded key: %q, %v", enc, got, err)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	now := time.Date(2026, 5, 25, 23, 30, 0, 0, time.UTC)
	a, err := sealed.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealed.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "k20260525-") {
		t.Errorf("key %q does not start with k20260525-", a)
	}
	k := mustKeys(t, a+","+b) // also proves the two IDs differ
	if got, err := k.Open(k.Seal("v", "f"), "f"); err != nil || got != "v" {
		t.Errorf("round trip with a generated key: %q, %v", got, err)
	}
}

func TestSealOpen(t *testing.T) {
	a := mustKeys(t, keyLine("a", 1))
	for _, pt := range []string{"", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Bearer ünïcode \x00 bytes", strings.Repeat("x", 10000)} {
		v := a.Seal(pt, "endpoint/ep_1/secret")
		if !strings.HasPrefix(v, "sealed:v1:a:") {
			t.Fatalf("sealed value %q lacks its header", v)
		}
		if len(pt) > 4 && strings.Contains(v, pt) {
			t.Fatalf("sealed value contains its plaintext")
		}
		got, err := a.Open(v, "endpoint/ep_1/secret")
		if err != nil || got != pt {
			t.Fatalf("open: %q, %v; want %q", got, err, pt)
		}
		if id, ok := sealed.SealedWith(v); !ok || id != "a" {
			t.Errorf("SealedWith = %q, %v", id, ok)
		}
	}
	if a.Seal("same", "f") == a.Seal("same", "f") {
		t.Error("two seals of one value are equal: nonce not random")
	}
}

func TestOpenPlaintextPassesThrough(t *testing.T) {
	a := mustKeys(t, keyLine("a", 1))
	var none *sealed.Keyring
	for _, v := range []string{"", "whsec_abc", "Bearer x", "seal", "Sealed:v1:a:xx"} {
		for _, k := range []*sealed.Keyring{a, none} {
			got, err := k.Open(v, "f")
			if err != nil || got != v {
				t.Errorf("open plaintext %q: %q, %v", v, got, err)
			}
		}
		if sealed.IsSealed(v) {
			t.Errorf("IsSealed(%q)", v)
		}
	}
}

func TestRotation(t *testing.T) {
	a := mustKeys(t, keyLine("a", 1))
	old := a.Seal("secret", "f")
	ba := mustKeys(t, keyLine("b", 2)+","+keyLine("a", 1))
	if got, err := ba.Open(old, "f"); err != nil || got != "secret" {
		t.Fatalf("keyring b,a opens a value sealed with a: %q, %v", got, err)
	}
	fresh := ba.Seal("secret", "f")
	if id, _ := sealed.SealedWith(fresh); id != "b" {
		t.Fatalf("keyring b,a seals with %q, want b", id)
	}
	if _, err := a.Open(fresh, "f"); !errors.Is(err, sealed.ErrUnknownKey) || !errors.Is(err, sealed.ErrCannotOpen) {
		t.Fatalf("keyring a opening a b value: %v, want ErrUnknownKey and ErrCannotOpen", err)
	}
}

func TestOpenFailures(t *testing.T) {
	a := mustKeys(t, keyLine("a", 1))
	good := a.Seal("secret", "endpoint/ep_1/secret")
	head := "sealed:v1:a:"
	body := strings.TrimPrefix(good, head)
	ct, _ := base64.RawURLEncoding.DecodeString(body)
	flip := func(i int) string {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return head + base64.RawURLEncoding.EncodeToString(c)
	}
	tests := []struct {
		name    string
		keys    *sealed.Keyring
		value   string
		binding string
		unknown bool
	}{
		{"other key under the same id", mustKeys(t, keyLine("a", 9)), good, "endpoint/ep_1/secret", false},
		{"unknown key id", mustKeys(t, keyLine("b", 1)), good, "endpoint/ep_1/secret", true},
		{"no keyring", nil, good, "endpoint/ep_1/secret", true},
		{"other binding", a, good, "endpoint/ep_2/secret", false},
		{"other field", a, good, "endpoint/ep_1/old-secret", false},
		{"nonce flipped", a, flip(0), "endpoint/ep_1/secret", false},
		{"ciphertext flipped", a, flip(12), "endpoint/ep_1/secret", false},
		{"tag flipped", a, flip(len(ct) - 1), "endpoint/ep_1/secret", false},
		{"truncated", a, good[:len(good)-4], "endpoint/ep_1/secret", false},
		{"key id relabelled", mustKeys(t, keyLine("a", 1)+","+keyLine("b", 1)), "sealed:v1:b:" + body, "endpoint/ep_1/secret", false},
		{"other version", a, "sealed:v2:a:" + body, "endpoint/ep_1/secret", false},
		{"no key id", a, "sealed:v1:" + body, "endpoint/ep_1/secret", false},
		{"bad base64", a, head + "!!" + body, "endpoint/ep_1/secret", false},
		{"padded base64", a, good + "==", "endpoint/ep_1/secret", false},
		{"empty body", a, head, "endpoint/ep_1/secret", false},
		{"prefix only", a, "sealed:", "endpoint/ep_1/secret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.keys.Open(tt.value, tt.binding)
			if !errors.Is(err, sealed.ErrCannotOpen) {
				t.Fatalf("open: %q, %v; want ErrCannotOpen", got, err)
			}
			if errors.Is(err, sealed.ErrUnknownKey) != tt.unknown {
				t.Fatalf("open: %v; ErrUnknownKey wanted: %v", err, tt.unknown)
			}
			if got != "" {
				t.Errorf("failed open returned %q", got)
			}
		})
	}
}

// FuzzOpen feeds arbitrary values and bindings to Open: it never panics,
// and whatever opens is a value the keyring sealed with that binding or
// plaintext returned as it is.
func FuzzOpen(f *testing.F) {
	k := mustKeys(f, keyLine("a", 1)+","+keyLine("b", 2))
	f.Add(k.Seal("whsec_abc", "endpoint/ep_1/secret"), "endpoint/ep_1/secret")
	f.Add(k.Seal("", "x"), "x")
	f.Add("sealed:v1:a:", "")
	f.Add("sealed:v1:b:AAAA", "f")
	f.Add("sealed:v1:zz:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "f")
	f.Add("sealed:v9:a:AAAA", "f")
	f.Add("sealed::::", "f")
	f.Add("sealed:", "")
	f.Add("whsec_plain", "f")
	f.Fuzz(func(t *testing.T, value, binding string) {
		got, err := k.Open(value, binding)
		switch {
		case err != nil:
			if !errors.Is(err, sealed.ErrCannotOpen) {
				t.Fatalf("error %v does not wrap ErrCannotOpen", err)
			}
		case !sealed.IsSealed(value):
			if got != value {
				t.Fatalf("plaintext %q opened to %q", value, got)
			}
		default:
			// Opened: sealing got again must round trip under the binding.
			if back, err := k.Open(k.Seal(got, binding), binding); err != nil || back != got {
				t.Fatalf("re-seal round trip: %q, %v", back, err)
			}
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	k := mustKeys(b, keyLine("a", 1))
	for b.Loop() {
		k.Seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "endpoint/ep_00DfFmYrVjbNQiyGYVCtYU4AqxS/secret")
	}
}

func BenchmarkOpen(b *testing.B) {
	k := mustKeys(b, keyLine("a", 1))
	v := k.Seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "endpoint/ep_00DfFmYrVjbNQiyGYVCtYU4AqxS/secret")
	for b.Loop() {
		if _, err := k.Open(v, "endpoint/ep_00DfFmYrVjbNQiyGYVCtYU4AqxS/secret"); err != nil {
			b.Fatal(err)
		}
	}
}
