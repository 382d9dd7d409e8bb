package delivery

import (
	"sync"
	"time"

	"github.com/hookrelay/hookrelay/signature"
)

// maxSigners bounds the signers kept; past it the cache starts afresh.
const maxSigners = 4096

// signers keeps a signature.Signer per endpoint, so that sending to an
// endpoint does not decode its secrets and key a new HMAC every time. A
// signer is replaced as soon as the endpoint's secrets differ from the
// ones it was made with (a rotation, or an old secret's grace ending).
type signers struct {
	mu   sync.Mutex
	byID map[string]*signature.Signer
}

// header signs for endpointID with secrets, as signature.Header would.
func (c *signers) header(endpointID string, secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	c.mu.Lock()
	s := c.byID[endpointID]
	c.mu.Unlock()
	if s == nil || !s.Secrets(secrets) {
		var err error
		if s, err = signature.NewSigner(secrets); err != nil {
			return "", err
		}
		c.mu.Lock()
		if c.byID == nil || len(c.byID) >= maxSigners {
			c.byID = make(map[string]*signature.Signer)
		}
		c.byID[endpointID] = s
		c.mu.Unlock()
	}
	return s.Header(msgID, ts, body), nil
}
