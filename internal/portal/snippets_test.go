package portal

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/signature"
)

// TestVerifySnippets runs each "how to verify" example as a receiver and
// sends it requests signed by hookrelay's signature package: correctly
// signed ones (also with a second signature of a rotated-out secret in the
// header) are accepted, and every kind of bad one is refused.
func TestVerifySnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node, python3 and go run")
	}
	modRoot, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	secret := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	other := "whsec_" + "c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQxMjM0"
	byName := map[string]verifySnippet{}
	for _, s := range verifySnippets() {
		byName[s.ID] = s
	}
	tests := []struct {
		id, file, bin string
		args          func(path string) []string
		from, to      string // the listen line, bound to 127.0.0.1 for the test
	}{
		{"node", "verify.mjs", "node", func(p string) []string { return []string{p} },
			".listen(Number(process.env.PORT ?? 3000));", ".listen(Number(process.env.PORT ?? 3000), '127.0.0.1');"},
		{"python", "verify.py", "python3", func(p string) []string { return []string{p} },
			`HTTPServer(("", `, `HTTPServer(("127.0.0.1", `},
		{"go", "main.go", "", nil,
			`http.ListenAndServe(":"+port, nil)`, `http.ListenAndServe("127.0.0.1:"+port, nil)`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			bin := tt.bin
			if bin != "" {
				if _, err := exec.LookPath(bin); err != nil {
					t.Skipf("%s not installed", bin)
				}
			}
			code := byName[tt.id].Code
			if strings.Count(code, tt.from) != 1 {
				t.Fatalf("snippet %s: listen line %q not found once", tt.id, tt.from)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(strings.Replace(code, tt.from, tt.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{path}
			if tt.args != nil {
				args = tt.args(path)
			}
			if bin == "" { // Go: build it in this module, then run the binary
				bin = filepath.Join(dir, "receiver")
				build := exec.Command("go", "build", "-o", bin, path)
				build.Dir = modRoot
				if out, err := build.CombinedOutput(); err != nil {
					t.Fatalf("go build the snippet: %v\n%s", err, out)
				}
				args = nil
			}
			port := freePort(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = modRoot
			cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, "PORT="+strconv.Itoa(port))
			out := new(syncBuffer)
			cmd.Stdout, cmd.Stderr = out, out
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			url := fmt.Sprintf("http://127.0.0.1:%d/webhooks", port)
			waitListening(t, port, 30*time.Second, out)

			body := []byte(`{"type":"contact.created","data":{"id":"c_1","name":"Zoë"}}`)
			now := time.Now()
			ts := strconv.FormatInt(now.Unix(), 10)
			sig := func(secrets []string, id string, at time.Time, b []byte) string {
				h, err := signature.Header(secrets, id, at, b)
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			cases := []struct {
				name        string
				id, ts, sig string
				body        []byte
				want        int
			}{
				{"signed", "msg_1", ts, sig([]string{secret}, "msg_1", now, body), body, 204},
				{"signed by rotated-out secret too", "msg_2", ts, sig([]string{other, secret}, "msg_2", now, body), body, 204},
				{"other secret only", "msg_3", ts, sig([]string{other}, "msg_3", now, body), body, 400},
				{"body changed", "msg_4", ts, sig([]string{secret}, "msg_4", now, body), bytes.Replace(body, []byte("c_1"), []byte("c_2"), 1), 400},
				{"id changed", "msg_5x", ts, sig([]string{secret}, "msg_5", now, body), body, 400},
				{"too old", "msg_6", strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10), sig([]string{secret}, "msg_6", now.Add(-10*time.Minute), body), body, 400},
				{"timestamp not a number", "msg_7", "soon", sig([]string{secret}, "msg_7", now, body), body, 400},
				{"no signature", "msg_8", ts, "", body, 400},
				{"unknown version only", "msg_9", ts, strings.Replace(sig([]string{secret}, "msg_9", now, body), "v1,", "v2,", 1), body, 400},
			}
			for _, c := range cases {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(c.body))
				req.Header.Set("content-type", "application/json")
				req.Header.Set("webhook-id", c.id)
				req.Header.Set("webhook-timestamp", c.ts)
				if c.sig != "" {
					req.Header.Set("webhook-signature", c.sig)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, out.String())
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("%s: status %d, want %d\n%s", c.name, resp.StatusCode, c.want, out.String())
				}
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until something accepts connections on port.
func waitListening(t *testing.T, port int, within time.Duration, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listened on port %d within %v:\n%s", port, within, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
