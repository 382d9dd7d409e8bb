// Package e2e tests hookrelay from the outside: it builds the real binary,
// starts it on 127.0.0.1 with a temporary database, and talks to it only
// through its API, with the official Svix Go SDK where the SDK covers the
// call and raw HTTP where it does not.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// binary is the hookrelay executable built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookrelay-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hookrelay")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "../cmd/hookrelay")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hookrelay:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testToken is the admin token every test server is started with.
const testToken = "hr_e2e_test_admin_token_0123456789"

// server is one running `hookrelay serve` process.
type server struct {
	t     *testing.T
	cmd   *exec.Cmd
	URL   string
	Token string
	DB    string
	env   []string
	args  []string
	logs  *logBuffer
	done  chan struct{}
}

// serverOptions change how a test server starts.
type serverOptions struct {
	DB    string   // database URL; default a fresh SQLite file
	Args  []string // extra flags for serve
	Env   []string // extra environment, KEY=VALUE
	Token string   // HOOKRELAY_ADMIN_TOKEN; default testToken; "-" for none
}

// startServer starts hookrelay and waits until it listens. The process is
// stopped when the test ends.
func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	if o.DB == "" {
		o.DB = filepath.Join(t.TempDir(), "hookrelay.db")
	}
	token := o.Token
	switch token {
	case "":
		token = testToken
	case "-":
		token = ""
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HOOKRELAY_DATABASE_URL=" + o.DB,
		"HOOKRELAY_LISTEN=127.0.0.1:0",
		"HOOKRELAY_ALLOW_PRIVATE_CIDRS=127.0.0.0/8,::1/128",
		"HOOKRELAY_LOG_LEVEL=debug",
	}
	if token != "" {
		env = append(env, "HOOKRELAY_ADMIN_TOKEN="+token)
	}
	env = append(env, o.Env...)
	s := &server{t: t, Token: token, DB: o.DB, env: env, args: o.Args}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (s *server) start() {
	t := s.t
	t.Helper()
	s.cmd = exec.Command(binary, append([]string{"serve"}, s.args...)...)
	s.cmd.Env = s.env
	s.logs = &logBuffer{}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start hookrelay: %v", err)
	}
	addr := make(chan string, 1)
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func(r io.Reader) {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				line := sc.Text()
				s.logs.add(line)
				if m := listenRE.FindStringSubmatch(line); m != nil {
					select {
					case addr <- m[1]:
					default:
					}
				}
			}
		}(r)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		wg.Wait()
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		t.Fatalf("hookrelay exited before listening; output:\n%s", s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("hookrelay did not listen within 30s; output:\n%s", s.logs)
	}
}

// Kill ends the process with SIGKILL and waits for it to be gone.
func (s *server) Kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.done
}

// Stop sends SIGTERM and waits up to 30s for a clean exit, then kills.
func (s *server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Errorf("hookrelay did not stop within 30s of SIGTERM")
		s.Kill()
	}
	if s.t.Failed() {
		s.t.Logf("hookrelay output:\n%s", s.logs)
	}
}

// Restart starts a new process on the same database and settings.
func (s *server) Restart() {
	s.start()
}

// SDK returns an official Svix client pointed at the server.
func (s *server) SDK() *svix.Svix {
	u, err := url.Parse(s.URL)
	if err != nil {
		s.t.Fatal(err)
	}
	return svix.New(s.Token, &svix.SvixOptions{ServerUrl: u})
}

// goSDKUserAgent is the User-Agent of the Go SDK v1.44.0. Raw requests
// send it: they stand in for the SDK on routes it has no client for, and
// their answers are decoded into its models, so they get the v1.44.0
// shapes as it would (README, "Svix compatibility").
const goSDKUserAgent = "svix-libs/1.44.0/go"

// do makes a raw API request, as the Go SDK v1.44.0 would, and returns the
// status and body.
func (s *server) do(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		s.t.Fatalf("do: unsupported body %T", body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", goSDKUserAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	const keep = 200
	lines := l.lines
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return strings.Join(lines, "\n")
}

func (l *logBuffer) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

// received is one request a receiver got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a real HTTP server that records what it gets and answers
// with whatever respond returns (200 by default).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, r *http.Request) (status int, header http.Header)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()})
		n := len(rc.got)
		respond := rc.respond
		rc.mu.Unlock()
		status := http.StatusOK
		if respond != nil {
			var h http.Header
			status, h = respond(n, r)
			for k, v := range h {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "receiver answered %d", status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setRespond(f func(n int, r *http.Request) (int, http.Header)) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls cond every 20ms until it holds or the deadline passes, and
// fails the test naming what it waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func ptr[T any](v T) *T { return &v }
