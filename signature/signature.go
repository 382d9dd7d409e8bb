// Package signature signs and verifies webhooks as the Standard Webhooks
// specification (https://www.standardwebhooks.com) describes them, which is
// also how Svix signs: the receiver gets a webhook-id, a webhook-timestamp
// (unix seconds) and a webhook-signature header, the latter a space-separated
// list of "v1,<base64 HMAC-SHA256>" entries, one per signing secret.
//
// The signed content is msgID + "." + timestamp + "." + body. A secret is
// "whsec_" followed by the standard base64 encoding of the key bytes; the
// prefix is optional.
//
// Receivers use Verify (or VerifyRequest with an http.Header); senders use
// Sign, Header, or a Signer kept per endpoint.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SecretPrefix starts every secret that hookrelay and Svix hand out.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify; test with errors.Is.
var (
	ErrInvalidSecret       = errors.New("signature: invalid secret")
	ErrMissingHeaders      = errors.New("signature: missing required headers")
	ErrInvalidTimestamp    = errors.New("signature: invalid timestamp")
	ErrTimestampTooOld     = errors.New("signature: timestamp too old")
	ErrTimestampTooNew     = errors.New("signature: timestamp too new")
	ErrNoMatchingSignature = errors.New("signature: no matching signature")
)

// DecodeSecret returns the key bytes of a secret ("whsec_" + base64, or the
// base64 alone). An empty key is invalid.
func DecodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSecret, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidSecret)
	}
	return key, nil
}

// Sign returns "v1," + base64 of HMAC-SHA256(key, msgID.unixSeconds.body).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + sign(key, msgID, ts.Unix(), body), nil
}

// Header returns the webhook-signature header value for the given secrets:
// one "v1,..." entry per secret, in order, separated by single spaces.
// Every secret must be valid.
func Header(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	s, err := NewSigner(secrets)
	if err != nil {
		return "", err
	}
	return s.Header(msgID, ts, body), nil
}

// sign returns the base64 MAC.
func sign(key []byte, msgID string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	var sum [sha256.Size]byte
	return base64.StdEncoding.EncodeToString(macOf(mac, msgID, unix, body, sum[:0]))
}

// macOf feeds the signed content to mac, a fresh or reset HMAC, and appends
// its sum to out. The body is never copied.
func macOf(mac hash.Hash, msgID string, unix int64, body, out []byte) []byte {
	var buf [64]byte
	head := append(buf[:0], msgID...)
	head = append(head, '.')
	head = strconv.AppendInt(head, unix, 10)
	head = append(head, '.')
	mac.Write(head)
	mac.Write(body)
	return mac.Sum(out)
}

// A Signer makes webhook-signature values for one list of secrets, as
// Header does, but decodes the secrets once and reuses its keyed HMAC
// states: a sender signing many webhooks for one endpoint keeps one. It is
// safe for concurrent use.
type Signer struct {
	secrets []string
	macs    []sync.Pool // per secret, of hash.Hash keyed with it
}

// NewSigner returns a Signer for secrets, which must all be valid.
func NewSigner(secrets []string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret", ErrInvalidSecret)
	}
	s := &Signer{secrets: slices.Clone(secrets), macs: make([]sync.Pool, len(secrets))}
	for i, secret := range secrets {
		key, err := DecodeSecret(secret)
		if err != nil {
			return nil, err
		}
		s.macs[i].New = func() any { return hmac.New(sha256.New, key) }
	}
	return s, nil
}

// Secrets reports whether s signs with exactly secrets, in that order.
func (s *Signer) Secrets(secrets []string) bool {
	return slices.Equal(s.secrets, secrets)
}

// Header returns the webhook-signature header value for the Signer's
// secrets: one "v1,..." entry per secret, in order, separated by single
// spaces.
func (s *Signer) Header(msgID string, ts time.Time, body []byte) string {
	unix := ts.Unix()
	out := make([]byte, 0, len(s.macs)*(len("v1, ")+base64.StdEncoding.EncodedLen(sha256.Size)))
	var sum [sha256.Size]byte
	for i := range s.macs {
		if i > 0 {
			out = append(out, ' ')
		}
		mac := s.macs[i].Get().(hash.Hash)
		mac.Reset()
		out = append(out, "v1,"...)
		out = base64.StdEncoding.AppendEncode(out, macOf(mac, msgID, unix, body, sum[:0]))
		s.macs[i].Put(mac)
	}
	return string(out)
}

// Verify checks a received webhook. secrets are the receiver's valid secrets
// (more than one during a rotation); msgID, timestamp and signatureHeader are
// the webhook-id, webhook-timestamp and webhook-signature header values. The
// timestamp must be within tolerance of now either way (DefaultTolerance
// when tolerance is 0). Verify succeeds when any "v1," entry of the header
// equals the signature made with any of the secrets; entries of other
// versions are ignored. Signatures are compared in constant time.
func Verify(secrets []string, msgID, timestamp, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	if msgID == "" || timestamp == "" || signatureHeader == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in whole seconds, against bounds computed from now, so that
	// extreme timestamps cannot overflow.
	tol := int64(tolerance / time.Second)
	if unix < now.Unix()-tol {
		return ErrTimestampTooOld
	}
	if unix > now.Unix()+tol {
		return ErrTimestampTooNew
	}
	if len(secrets) == 0 {
		return fmt.Errorf("%w: no secret", ErrInvalidSecret)
	}
	expected := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := DecodeSecret(s)
		if err != nil {
			return err
		}
		expected = append(expected, []byte(sign(key, msgID, unix, body)))
	}
	for _, entry := range strings.Split(signatureHeader, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		for _, want := range expected {
			if hmac.Equal([]byte(sig), want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

// VerifyRequest is Verify reading the headers from h: the webhook-* ones, or
// the svix-* ones when those are all present (the names Svix used before the
// Standard Webhooks specification).
func VerifyRequest(secrets []string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sig := h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature")
	if id == "" || ts == "" || sig == "" {
		id, ts, sig = h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	}
	return Verify(secrets, id, ts, sig, body, now, tolerance)
}
