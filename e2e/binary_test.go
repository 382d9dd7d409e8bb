package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	svix "github.com/svix/svix-webhooks/go"
)

// gzipBody is what a receiver answering with a gzip (or any binary) body
// sends: NUL bytes, 0xFF and sequences that are not UTF-8.
const gzipBody = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"

func TestBinaryResponseBody(t *testing.T) {
	forEachDatabase(t, testBinaryResponseBody)
}

// testBinaryResponseBody: a receiver answers 200 with a binary body. Each
// message is sent exactly once, its attempt is recorded with status 200 and
// the delivery succeeds; the API's response field is valid UTF-8 and the
// raw response route gives back the exact bytes.
func testBinaryResponseBody(t *testing.T, db string) {
	const leaseTTL = 2 * time.Second
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--lease-ttl", leaseTTL.String()}})
	client := srv.SDK()
	ctx := ctxT(t)
	var requests atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, gzipBody)
	}))
	t.Cleanup(rcv.Close)
	appID, epID := setupApp(t, client, rcv.URL)

	const n = 3
	var msgIDs []string
	for i := range n {
		m, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		msgIDs = append(msgIDs, m.Id)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		got := 0
		l, err := client.MessageAttempt.ListByEndpoint(ctx, appID, epID, nil)
		if err == nil {
			got = len(l.Data)
		}
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s, %d attempts recorded (%v) and %d requests sent for %d messages",
				got, err, requests.Load(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range msgIDs {
		waitFor(t, 10*time.Second, "status success", func() bool { return destinationStatus(t, client, appID, id) == 0 })
	}
	// Two lease lifetimes: a delivery whose result was not recorded would
	// be sent again once its lease lapsed.
	deadline := time.Now().Add(2*leaseTTL + 500*time.Millisecond)
	for time.Now().Before(deadline) {
		if got := requests.Load(); got > n {
			t.Fatalf("the receiver got %d requests for %d messages", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := requests.Load(); got != n {
		t.Fatalf("the receiver got %d requests for %d messages", got, n)
	}

	for _, msgID := range msgIDs {
		l, err := client.MessageAttempt.ListByMsg(ctx, appID, msgID, nil)
		if err != nil || len(l.Data) != 1 {
			t.Fatalf("attempts of %s: %+v %v", msgID, l, err)
		}
		a := l.Data[0]
		if a.ResponseStatusCode != 200 || a.Status != 0 {
			t.Errorf("attempt: code %d status %v, want 200 success", a.ResponseStatusCode, a.Status)
		}
		path := "/api/v1/app/" + appID + "/msg/" + msgID + "/attempt/" + a.Id
		code, raw := srv.do("GET", path, srv.Token, nil)
		if code != http.StatusOK || !utf8.Valid(raw) {
			t.Fatalf("GET attempt: %d, valid UTF-8 %v: %q", code, utf8.Valid(raw), raw)
		}
		var out struct{ Response string }
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if want := lossyUTF8(gzipBody); out.Response != want {
			t.Errorf("response = %q, want %q", out.Response, want)
		}
		if !bytes.Contains(raw, []byte(`\u0000`)) {
			t.Errorf("the JSON does not carry the NUL bytes as \\u0000: %s", raw)
		}
		code, body := srv.do("GET", path+"/response", srv.Token, nil)
		if code != http.StatusOK || string(body) != gzipBody {
			t.Errorf("GET %s/response: %d %q, want 200 %q", path, code, body, gzipBody)
		}
	}
}

// lossyUTF8 decodes s as a range over a string does: each byte that does
// not start a valid UTF-8 sequence becomes U+FFFD.
func lossyUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
