// Package sealed encrypts endpoint secrets at rest. A Keyring holds
// AES-256-GCM keys; Wrap puts one in front of a store.Store so that every
// endpoint's signing secrets, sensitive header values and URL credentials
// are sealed when written and opened when read, while the rest of the server keeps seeing
// plaintext.
//
// A sealed value is the text
//
//	sealed:v1:<key id>:<base64url(nonce || ciphertext || tag)>
//
// Any value without the "sealed:" prefix is plaintext and is read as it is,
// so a database written before encryption was configured keeps working; its
// values are sealed the next time they are written (or by Reseal).
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Open. Every failure to open a value wraps ErrCannotOpen; a value
// sealed with a key the keyring does not hold also wraps ErrUnknownKey.
var (
	ErrCannotOpen = errors.New("cannot open sealed value")
	ErrUnknownKey = errors.New("unknown key id")
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

const (
	prefix   = "sealed:"
	version  = "v1"
	maxIDLen = 64
)

// Keyring holds the keys that seal and open values. The first key seals;
// every key opens. A Keyring is safe for concurrent use.
type Keyring struct {
	ids   []string // in configuration order; ids[0] seals
	aeads map[string]cipher.AEAD
}

// ParseKeys reads a keyring from "id1:base64key1,id2:base64key2". Entries
// may also be separated by white space (a key file with one entry a line).
// Each key is 32 bytes in standard or URL base64, padded or not. An ID is 1
// to 64 letters, digits, '.', '_' or '-'; IDs must be unique.
func ParseKeys(s string) (*Keyring, error) {
	entries := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(entries) == 0 {
		return nil, errors.New("parse keys: no key given")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(entries))}
	for i, e := range entries {
		id, enc, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf("parse keys: entry %d: want ID:BASE64KEY", i+1)
		}
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("parse keys: entry %d: %w", i+1, err)
		}
		key, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("parse keys: key %q: %w", id, err)
		}
		if err := k.add(id, key); err != nil {
			return nil, fmt.Errorf("parse keys: %w", err)
		}
	}
	return k, nil
}

// NewKeyring returns a keyring of one key, for callers that hold raw key
// bytes.
func NewKeyring(id string, key []byte) (*Keyring, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key %q is %d bytes, want %d", id, len(key), KeySize)
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	if err := k.add(id, key); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keyring) add(id string, key []byte) error {
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("key id %q given twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.ids = append(k.ids, id)
	k.aeads[id] = aead
	return nil
}

func checkID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("key id %q must be 1 to %d characters", id, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("key id %q may hold only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// decodeKey accepts the four common base64 alphabets and paddings.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("key is %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("key is not base64")
}

// GenerateKey returns a new random key entry "k<YYYYMMDD>-<4 random>:<base64>"
// in the format ParseKeys reads. The date in the ID tells operators how old
// a key is; the random part keeps two keys made on one day apart.
func GenerateKey(now time.Time) (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	for i, b := range suffix {
		suffix[i] = digits[int(b)%len(digits)]
	}
	id := "k" + now.UTC().Format("20060102") + "-" + string(suffix)
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// CurrentID is the ID of the key that seals.
func (k *Keyring) CurrentID() string { return k.ids[0] }

// IDs lists the key IDs in configuration order, the sealing key first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext with the current key. binding is authenticated
// but not stored: Open succeeds only with the same binding, so a sealed
// value copied to another place (another endpoint, another field) does not
// open there.
func (k *Keyring) Seal(plaintext, binding string) string {
	id := k.ids[0]
	head := prefix + version + ":" + id + ":"
	ct := k.aeads[id].Seal(nil, nil, []byte(plaintext), associated(head, binding))
	return head + base64.RawURLEncoding.EncodeToString(ct)
}

// Open returns the plaintext of a value made by Seal with the same binding.
// A value without the "sealed:" prefix is plaintext and is returned as it
// is. A nil Keyring holds no key: it returns plaintext and fails on every
// sealed value with ErrUnknownKey.
func (k *Keyring) Open(value, binding string) (string, error) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return value, nil
	}
	v, rest, ok1 := strings.Cut(rest, ":")
	id, enc, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return "", fmt.Errorf("%w: malformed", ErrCannotOpen)
	}
	if v != version {
		return "", fmt.Errorf("%w: unsupported version %q", ErrCannotOpen, v)
	}
	var aead cipher.AEAD
	if k != nil {
		aead = k.aeads[id]
	}
	if aead == nil {
		return "", fmt.Errorf("%w: %w %q", ErrCannotOpen, ErrUnknownKey, id)
	}
	ct, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("%w: malformed", ErrCannotOpen)
	}
	head := value[:len(value)-len(enc)]
	pt, err := aead.Open(nil, nil, ct, associated(head, binding))
	if err != nil {
		return "", fmt.Errorf("%w: key %q: authentication failed (tampered, or bound to another field)", ErrCannotOpen, id)
	}
	return string(pt), nil
}

// associated is GCM's additional data: the value's own header (version and
// key ID) and the caller's binding.
func associated(head, binding string) []byte {
	return []byte(head + "\x00" + binding)
}

// IsSealed reports whether v is in the sealed format's shape (it may still
// fail to open).
func IsSealed(v string) bool { return strings.HasPrefix(v, prefix) }

// SealedWith returns the key ID of a sealed value, and false for plaintext
// or a malformed value.
func SealedWith(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, prefix+version+":")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	return id, ok
}
