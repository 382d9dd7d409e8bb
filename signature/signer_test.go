package signature_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/signature"
)

func TestSignerVector(t *testing.T) {
	s, err := signature.NewSigner([]string{vecSecret})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Header(vecID, vecTime, []byte(vecBody)); got != vecSig {
		t.Errorf("Header = %q, want %q", got, vecSig)
	}
}

// signedByEach is the header value made of Sign's entry for each secret.
func signedByEach(t *testing.T, secrets []string, msgID string, ts time.Time, body []byte) string {
	t.Helper()
	entries := make([]string, len(secrets))
	for i, secret := range secrets {
		e, err := signature.Sign(secret, msgID, ts, body)
		if err != nil {
			t.Error(err)
		}
		entries[i] = e
	}
	return strings.Join(entries, " ")
}

// A Signer, and Header, sign with every secret as Sign does, whatever the
// secrets, IDs and bodies, and however many times a Signer is reused.
func TestSignerMatchesSign(t *testing.T) {
	second := "whsec_" + strings.Repeat("QUJD", 8)
	third := strings.Repeat("eHl6", 11) // no prefix
	longID := "msg_" + strings.Repeat("x", 100)
	for _, tt := range []struct {
		name    string
		secrets []string
	}{
		{"one", []string{vecSecret}},
		{"rotation", []string{vecSecret, second}},
		{"three, one without prefix", []string{second, third, vecSecret}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := signature.NewSigner(tt.secrets)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range []struct {
				id   string
				ts   time.Time
				body string
			}{
				{vecID, vecTime, vecBody},
				{longID, time.Unix(1, 0), ""},
				{"m", time.Unix(4102444800, 0), strings.Repeat(`{"a":"é"}`, 1000)},
				{vecID, vecTime, vecBody}, // again, with reused states
			} {
				want := signedByEach(t, tt.secrets, c.id, c.ts, []byte(c.body))
				if got := s.Header(c.id, c.ts, []byte(c.body)); got != want {
					t.Errorf("case %d: Signer.Header = %q, want %q", i, got, want)
				}
				if got, err := signature.Header(tt.secrets, c.id, c.ts, []byte(c.body)); err != nil || got != want {
					t.Errorf("case %d: Header = %q (%v), want %q", i, got, err, want)
				}
			}
			if !s.Secrets(tt.secrets) {
				t.Error("Secrets(its own secrets) = false")
			}
			if s.Secrets(append(tt.secrets[:len(tt.secrets):len(tt.secrets)], second)) || s.Secrets(tt.secrets[1:]) {
				t.Error("Secrets(other secrets) = true")
			}
		})
	}
}

func TestNewSignerRefusesBadSecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {}, {"whsec_not base64!"}, {vecSecret, "whsec_"}} {
		if _, err := signature.NewSigner(secrets); !errors.Is(err, signature.ErrInvalidSecret) {
			t.Errorf("NewSigner(%q) error = %v, want ErrInvalidSecret", secrets, err)
		}
	}
}

// Concurrent signing shares the pooled states without mixing contents (the
// race detector watches the pools).
func TestSignerConcurrent(t *testing.T) {
	secrets := []string{vecSecret, "whsec_" + strings.Repeat("QUJD", 8)}
	s, err := signature.NewSigner(secrets)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("msg_%d_%d", g, i)
				body := []byte(strings.Repeat("b", i))
				want := signedByEach(t, secrets, id, vecTime, body)
				if got := s.Header(id, vecTime, body); got != want {
					errs <- fmt.Errorf("goroutine %d, message %d: %q, want %q", g, i, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkSigner(b *testing.B) {
	body := []byte(strings.Repeat(`{"type":"call.completed","data":{"id":"c_1"}}`, 20)) // ~1 KiB
	s, err := signature.NewSigner([]string{vecSecret})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		s.Header(vecID, now, body)
	}
}
