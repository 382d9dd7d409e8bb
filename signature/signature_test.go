package signature_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay/signature"
)

// The test vector of the Standard Webhooks specification and the Svix SDKs.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecUnix   = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vecTime = time.Unix(vecUnix, 0)

func newSecret(t testing.TB) string {
	t.Helper()
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return signature.SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

func TestSignVector(t *testing.T) {
	for _, secret := range []string{vecSecret, strings.TrimPrefix(vecSecret, signature.SecretPrefix)} {
		got, err := signature.Sign(secret, vecID, vecTime, []byte(vecBody))
		if err != nil {
			t.Fatal(err)
		}
		if got != vecSig {
			t.Errorf("Sign(%q) = %q, want %q", secret, got, vecSig)
		}
	}
	if err := signature.Verify([]string{vecSecret}, vecID, strconv.Itoa(vecUnix), vecSig, []byte(vecBody), vecTime, 0); err != nil {
		t.Errorf("Verify(vector) = %v", err)
	}
}

func TestSignInvalidSecret(t *testing.T) {
	for _, secret := range []string{"whsec_", "", "whsec_not base64!", "whsec_abc"} {
		if _, err := signature.Sign(secret, vecID, vecTime, nil); !errors.Is(err, signature.ErrInvalidSecret) {
			t.Errorf("Sign(%q) error = %v, want ErrInvalidSecret", secret, err)
		}
	}
	if _, err := signature.Header(nil, vecID, vecTime, nil); !errors.Is(err, signature.ErrInvalidSecret) {
		t.Errorf("Header(no secrets) error = %v, want ErrInvalidSecret", err)
	}
}

func TestHeaderMatchesSvixSDK(t *testing.T) {
	secrets := []string{newSecret(t), newSecret(t)}
	body := []byte(`{"type":"call.completed","data":{"id":"c_1","text":"héllo"}}`)
	now := time.Now()
	hdr, err := signature.Header(secrets, "msg_abc", now, body)
	if err != nil {
		t.Fatal(err)
	}
	entries := strings.Split(hdr, " ")
	if len(entries) != 2 {
		t.Fatalf("header %q has %d entries, want 2", hdr, len(entries))
	}
	for i, secret := range secrets {
		one, _ := signature.Sign(secret, "msg_abc", now, body)
		if entries[i] != one {
			t.Errorf("entry %d = %q, want Sign = %q", i, entries[i], one)
		}
		wh, err := svix.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sdkSig, _ := wh.Sign("msg_abc", now, body)
		if sdkSig != one {
			t.Errorf("svix Sign = %q, ours = %q", sdkSig, one)
		}
		for _, prefix := range []string{"webhook-", "svix-"} {
			h := http.Header{}
			h.Set(prefix+"id", "msg_abc")
			h.Set(prefix+"timestamp", strconv.FormatInt(now.Unix(), 10))
			h.Set(prefix+"signature", hdr)
			if err := wh.Verify(body, h); err != nil {
				t.Errorf("svix Verify(secret %d, %s headers) = %v", i, prefix, err)
			}
			if err := signature.VerifyRequest([]string{secret}, h, body, now, 0); err != nil {
				t.Errorf("VerifyRequest(secret %d, %s headers) = %v", i, prefix, err)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	secret := newSecret(t)
	other := newSecret(t)
	now := time.Now()
	body := []byte(`{"a":1}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := signature.Sign(secret, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, _ := signature.Sign(other, "msg_1", now, body)
	old := now.Add(-6 * time.Minute)
	oldSig, _ := signature.Sign(secret, "msg_1", old, body)
	future := now.Add(6 * time.Minute)
	futureSig, _ := signature.Sign(secret, "msg_1", future, body)

	tests := []struct {
		name      string
		secrets   []string
		id, ts    string
		header    string
		body      []byte
		tolerance time.Duration
		want      error
	}{
		{name: "valid", secrets: []string{secret}, id: "msg_1", ts: ts, header: sig, body: body},
		{name: "valid among other versions", secrets: []string{secret}, id: "msg_1", ts: ts, header: "v2,abc v1a,xyz " + sig, body: body},
		{name: "rotation: old secret verifies new header", secrets: []string{secret}, id: "msg_1", ts: ts, header: otherSig + " " + sig, body: body},
		{name: "rotation: receiver knows both secrets", secrets: []string{other, secret}, id: "msg_1", ts: ts, header: sig, body: body},
		{name: "tampered body", secrets: []string{secret}, id: "msg_1", ts: ts, header: sig, body: []byte(`{"a":2}`), want: signature.ErrNoMatchingSignature},
		{name: "tampered id", secrets: []string{secret}, id: "msg_2", ts: ts, header: sig, body: body, want: signature.ErrNoMatchingSignature},
		{name: "tampered timestamp", secrets: []string{secret}, id: "msg_1", ts: strconv.FormatInt(now.Unix()+1, 10), header: sig, body: body, want: signature.ErrNoMatchingSignature},
		{name: "wrong secret", secrets: []string{other}, id: "msg_1", ts: ts, header: sig, body: body, want: signature.ErrNoMatchingSignature},
		{name: "signature of another version", secrets: []string{secret}, id: "msg_1", ts: ts, header: "v2," + strings.TrimPrefix(sig, "v1,"), body: body, want: signature.ErrNoMatchingSignature},
		{name: "bare signature without version", secrets: []string{secret}, id: "msg_1", ts: ts, header: strings.TrimPrefix(sig, "v1,"), body: body, want: signature.ErrNoMatchingSignature},
		{name: "too old", secrets: []string{secret}, id: "msg_1", ts: strconv.FormatInt(old.Unix(), 10), header: oldSig, body: body, want: signature.ErrTimestampTooOld},
		{name: "old but within a longer tolerance", secrets: []string{secret}, id: "msg_1", ts: strconv.FormatInt(old.Unix(), 10), header: oldSig, body: body, tolerance: 10 * time.Minute},
		{name: "too new", secrets: []string{secret}, id: "msg_1", ts: strconv.FormatInt(future.Unix(), 10), header: futureSig, body: body, want: signature.ErrTimestampTooNew},
		{name: "timestamp not a number", secrets: []string{secret}, id: "msg_1", ts: "yesterday", header: sig, body: body, want: signature.ErrInvalidTimestamp},
		{name: "huge timestamp", secrets: []string{secret}, id: "msg_1", ts: "9223372036854775807", header: sig, body: body, want: signature.ErrTimestampTooNew},
		{name: "missing id", secrets: []string{secret}, id: "", ts: ts, header: sig, body: body, want: signature.ErrMissingHeaders},
		{name: "missing timestamp", secrets: []string{secret}, id: "msg_1", ts: "", header: sig, body: body, want: signature.ErrMissingHeaders},
		{name: "missing signature", secrets: []string{secret}, id: "msg_1", ts: ts, header: "", body: body, want: signature.ErrMissingHeaders},
		{name: "invalid secret", secrets: []string{"whsec_!!"}, id: "msg_1", ts: ts, header: sig, body: body, want: signature.ErrInvalidSecret},
		{name: "no secret", secrets: nil, id: "msg_1", ts: ts, header: sig, body: body, want: signature.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.Verify(tt.secrets, tt.id, tt.ts, tt.header, tt.body, now, tt.tolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyAgainstSvixSDK checks that ours and the official SDK agree on
// tampered requests too.
func TestVerifyAgainstSvixSDK(t *testing.T) {
	secret := newSecret(t)
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"x":true}`)
	sig, _ := signature.Sign(secret, "msg_9", now, body)
	ts := strconv.FormatInt(now.Unix(), 10)
	cases := []struct {
		name, id, ts string
		body         []byte
		ok           bool
	}{
		{"genuine", "msg_9", ts, body, true},
		{"body", "msg_9", ts, []byte(`{"x":false}`), false},
		{"id", "msg_8", ts, body, false},
		{"timestamp", "msg_9", strconv.FormatInt(now.Unix()-1, 10), body, false},
		{"old", "msg_9", strconv.FormatInt(now.Unix()-3600, 10), body, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("webhook-id", c.id)
			h.Set("webhook-timestamp", c.ts)
			h.Set("webhook-signature", sig)
			sdkErr := wh.Verify(c.body, h)
			ourErr := signature.VerifyRequest([]string{secret}, h, c.body, now, 0)
			if (sdkErr == nil) != c.ok || (ourErr == nil) != c.ok {
				t.Fatalf("svix Verify = %v, ours = %v, want ok=%v", sdkErr, ourErr, c.ok)
			}
		})
	}
}

// FuzzVerify checks that Verify never panics and never accepts a header
// unless it carries the exact signature made with the secret, and that a
// signature made with another key is always refused.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), vecID, strconv.Itoa(vecUnix), vecSig, []byte(vecBody))
	f.Add([]byte("k"), "msg_1", "0", "v1,", []byte{})
	f.Add([]byte("key"), "", "", "", []byte(nil))
	f.Add([]byte("key"), "id", "-1", "v1,abc v1,def", []byte("{}"))
	f.Add([]byte("key"), "id.with.dots", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,x", []byte("\x00\xff"))
	f.Add([]byte("\x00"), "a b", "+17", ",,, v1,,v1", []byte("body"))
	f.Fuzz(func(t *testing.T, key []byte, msgID, ts, header string, body []byte) {
		if len(key) == 0 {
			key = []byte{0}
		}
		secret := signature.SecretPrefix + base64.StdEncoding.EncodeToString(key)
		unix, tsErr := strconv.ParseInt(ts, 10, 64)
		now := time.Unix(unix, 0)
		if tsErr != nil {
			now = time.Unix(vecUnix, 0)
		}
		err := signature.Verify([]string{secret}, msgID, ts, header, body, now, 0)
		if err == nil {
			want, serr := signature.Sign(secret, msgID, now, body)
			if serr != nil {
				t.Fatalf("Verify accepted but Sign failed: %v", serr)
			}
			found := false
			for _, e := range strings.Split(header, " ") {
				if e == want {
					found = true
				}
			}
			if !found {
				t.Fatalf("Verify accepted header %q without the genuine signature %q", header, want)
			}
		}
		if msgID == "" || tsErr != nil {
			return
		}
		// A signature made with a different key must never verify.
		otherKey := append([]byte{key[0] ^ 0xff}, key[1:]...)
		other := signature.SecretPrefix + base64.StdEncoding.EncodeToString(otherKey)
		forged, ferr := signature.Header([]string{other}, msgID, now, body)
		if ferr != nil {
			t.Fatal(ferr)
		}
		if err := signature.Verify([]string{secret}, msgID, ts, forged+" "+header, body, now, 0); err == nil {
			// Only the fuzzed header itself may make it pass.
			if signature.Verify([]string{secret}, msgID, ts, header, body, now, 0) != nil {
				t.Fatalf("Verify accepted a signature made with another key")
			}
		}
		// And the genuine one always verifies.
		genuine, _ := signature.Sign(secret, msgID, now, body)
		if err := signature.Verify([]string{secret}, msgID, ts, genuine, body, now, 0); err != nil {
			t.Fatalf("genuine signature refused: %v", err)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	body := []byte(strings.Repeat(`{"type":"call.completed","data":{"id":"c_1"}}`, 20)) // ~1 KiB
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		if _, err := signature.Sign(vecSecret, vecID, now, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(strings.Repeat(`{"type":"call.completed","data":{"id":"c_1"}}`, 20))
	now := time.Now()
	sig, _ := signature.Sign(vecSecret, vecID, now, body)
	ts := strconv.FormatInt(now.Unix(), 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := signature.Verify([]string{vecSecret}, vecID, ts, sig, body, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}
