package delivery

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/signature"
)

// The cached signer follows the endpoint's secrets: a rotation signs with
// the new secret at once, and an old secret stops signing when its grace
// ends.
func TestSignersFollowRotation(t *testing.T) {
	first := "whsec_" + strings.Repeat("QUJD", 8)
	second := "whsec_" + strings.Repeat("eHl6", 8)
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	var c signers
	for i, secrets := range [][]string{
		{first},
		{first}, // cached
		{second, first},
		{second},
		{first}, // rotated back
	} {
		got, err := c.header("ep_1", secrets, "msg_1", ts, body)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := signature.Header(secrets, "msg_1", ts, body)
		if got != want {
			t.Errorf("step %d (%d secrets): %q, want %q", i, len(secrets), got, want)
		}
	}
	// Another endpoint with other secrets does not share the signer.
	other, _ := c.header("ep_2", []string{second}, "msg_1", ts, body)
	if mine, _ := c.header("ep_1", []string{first}, "msg_1", ts, body); mine == other {
		t.Error("two endpoints with different secrets signed alike")
	}
	if _, err := c.header("ep_3", []string{"whsec_!"}, "msg_1", ts, body); !errors.Is(err, signature.ErrInvalidSecret) {
		t.Errorf("invalid secret: error %v", err)
	}
}

func TestSignersBounded(t *testing.T) {
	var c signers
	for i := range maxSigners + 10 {
		if _, err := c.header(fmt.Sprintf("ep_%d", i), []string{"whsec_QUJD"}, "m", time.Unix(1, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.byID); n > maxSigners {
		t.Errorf("%d signers kept, want at most %d", n, maxSigners)
	}
}
