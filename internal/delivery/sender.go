package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// drainLimit is how much of a response beyond ResponseBodyLimit is read and
// thrown away so that the connection can be reused; a longer response
// closes its connection instead.
const drainLimit = 64 << 10

// Retry-After values are clamped to this range.
const (
	minRetryAfter = time.Second
	maxRetryAfter = 24 * time.Hour
)

// unopenedPostpone is how long a delivery whose endpoint's sealed secrets
// could not be opened waits before it is tried again; such an attempt does
// not use up the retry schedule.
const unopenedPostpone = 5 * time.Minute

// unopenedReason is recorded for such an attempt. It names no key: the log
// does (store/sealed logs it with the endpoint).
const unopenedReason = "not sent: the server cannot decrypt this endpoint's stored secrets; the delivery will be tried again"

// outcome is what one attempt did.
type outcome struct {
	// kind says what became of the attempt: the dispatcher sizes the
	// endpoint's window by it, and it is recorded with the attempt.
	kind       hookrelay.OutcomeKind
	start      time.Time
	duration   time.Duration
	statusCode int    // 0 when no response was received
	response   string // the response body (cut, exact bytes) or the failure reason (CleanText)
	retryAfter time.Duration
	// final is set when the delivery must not be retried (its endpoint is
	// disabled).
	final bool
	// postpone, when set, makes the delivery due again after it without
	// using up an attempt of its retry schedule (the failure is not the
	// delivery's: its endpoint's secrets could not be opened).
	postpone time.Duration
	// cancelled is set when the request was cut short by shutdown: it is
	// not an attempt and its delivery is released, not recorded.
	cancelled bool
}

// ok reports whether the attempt succeeded.
func (o *outcome) ok() bool { return o.kind == hookrelay.OutcomeSuccess }

// drainWait is the longest spent draining a response beyond
// ResponseBodyLimit for reuse of its connection.
const drainWait = 250 * time.Millisecond

// signedHeaders are the canonical names of the headers that identify and
// sign a delivery.
type signedHeaders struct{ id, timestamp, signature string }

var (
	webhookHeaders = signedHeaders{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
	svixHeaders    = signedHeaders{"Svix-Id", "Svix-Timestamp", "Svix-Signature"}
)

// sender makes the HTTP requests.
type sender struct {
	transport   *http.Transport // through a proxy
	h1          *h1Client       // without one
	guard       *guard
	policy      URLPolicy
	resolver    *net.Resolver
	now         func() time.Time
	timeout     time.Duration
	userAgent   string
	bodyLimit   int
	svixHeaders bool
	signers     signers
}

func newSender(cfg Config) *sender {
	g := newGuard(cfg.AllowPrivate)
	s := &sender{
		guard:       g,
		policy:      cfg.URLPolicy,
		resolver:    cfg.Resolver,
		now:         cfg.Now,
		timeout:     cfg.Timeout,
		userAgent:   cfg.UserAgent,
		bodyLimit:   cfg.ResponseBodyLimit,
		svixHeaders: cfg.SvixHeaders,
	}
	if cfg.Proxy != nil || cfg.viaNetHTTP {
		s.transport = newProxyTransport(cfg, g)
	} else {
		s.h1 = newDirectClient(cfg, g)
	}
	return s
}

// closeIdle closes the connections kept for further requests.
func (s *sender) closeIdle() {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	if s.h1 != nil {
		s.h1.closeIdle(false)
	}
}

// send makes one attempt of t and says what came of it, its kind always
// set. ctx is the dispatcher's send context: when it is cancelled
// (shutdown) the outcome is marked cancelled.
func (s *sender) send(ctx context.Context, t *store.Task) outcome {
	start := s.now()
	o := outcome{start: start}
	fail := func(kind hookrelay.OutcomeKind, reason string) outcome {
		o.kind = kind
		o.duration = s.now().Sub(start)
		o.response = hookrelay.CleanText(reason)
		return o
	}
	if t.OpenErr != nil {
		// The store could not open the endpoint's secrets (and logged
		// why): nothing can be sent until it can.
		o.postpone = unopenedPostpone
		return fail(hookrelay.OutcomeInternal, unopenedReason)
	}
	ep := &t.Endpoint
	if ep.Disabled {
		o.final = true
		return fail(hookrelay.OutcomeRefused, "endpoint disabled")
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		return fail(hookrelay.OutcomeRefused, "invalid endpoint URL: "+urlProblem(err))
	}
	if err := s.policy.Check(u); err != nil {
		if errors.Is(err, ErrHTTPSRequired) {
			return fail(hookrelay.OutcomeRefused, err.Error())
		}
		return fail(hookrelay.OutcomeRefused, "invalid endpoint URL: "+err.Error())
	}
	sig, err := s.signers.header(ep.ID, ep.SigningSecrets(start), t.Message.ID, start, t.Message.Payload)
	if err != nil {
		return fail(hookrelay.OutcomeInternal, "cannot sign: "+err.Error())
	}
	timeout := s.timeout
	if ep.Options.TimeoutSeconds > 0 {
		timeout = time.Duration(ep.Options.TimeoutSeconds) * time.Second
	}
	method := ep.Options.Method
	if method == "" {
		method = http.MethodPost
	}
	names := &webhookHeaders
	if s.svixHeaders {
		names = &svixHeaders
	}
	// Custom headers keep their configured spelling (some receivers
	// compare names case-sensitively); the signing headers are written
	// under their canonical names.
	header := make([]string, 0, 2*(len(ep.Headers)+6))
	hasAuth := false
	for name, value := range ep.Headers {
		if hookrelay.ReservedHeader(name) {
			continue
		}
		lower := strings.ToLower(name)
		if !validHeaderField(name) || !validHeaderField(value) {
			return fail(hookrelay.OutcomeRefused, fmt.Sprintf("invalid header field %q", name))
		}
		hasAuth = hasAuth || lower == "authorization"
		header = append(header, name, value)
	}
	header = append(header,
		"Content-Type", "application/json",
		"User-Agent", s.userAgent,
		names.id, t.Message.ID,
		names.timestamp, strconv.FormatInt(start.Unix(), 10),
		names.signature, sig)
	if u.User != nil && !hasAuth {
		// Credentials in the URL become Basic authentication, as
		// http.Client would make them. A configured Authorization header
		// wins: it is the endpoint's explicit setting.
		password, _ := u.User.Password()
		header = append(header, "Authorization", "Basic "+
			base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+password)))
	}
	// Past this point the credentials travel in the header only: not in
	// what is written on the wire from the URL, nor in an error.
	u.User = nil

	var r h1Response
	if s.transport != nil {
		r, err = s.viaProxy(ctx, u, method, header, t.Message.Payload, timeout)
	} else {
		r, err = s.h1.do(ctx, &h1Request{
			method: method, url: u, header: header, body: t.Message.Payload,
			deadline: time.Now().Add(timeout), bodyLimit: s.bodyLimit,
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			o.cancelled = true
			return o
		}
		return fail(requestErrorKind(err), describe(err, timeout))
	}
	o.duration = s.now().Sub(start)
	o.statusCode = r.statusCode
	o.kind = hookrelay.OutcomeRejected
	if r.statusCode >= 200 && r.statusCode < 300 {
		o.kind = hookrelay.OutcomeSuccess
	}
	o.response = string(r.body)
	if !o.ok() {
		o.retryAfter = parseRetryAfter(r.retryAfter, s.now())
	}
	if r.bodyErr != nil && ctx.Err() == nil {
		// The response did not arrive whole within the timeout (it
		// trickled, or the connection broke): the attempt failed,
		// whatever its status, but the receiver did answer. A body cut
		// short by shutdown is not the receiver's fault and its status
		// stands.
		o.kind = hookrelay.OutcomeRejected
		o.response = hookrelay.CleanText("reading the response body: " + describe(r.bodyErr, timeout))
	}
	return o
}

// requestErrorKind is the kind of a request that failed before any
// response: refused when the SSRF guard refused the address (at dial time,
// or before a proxy was asked to connect), unanswered otherwise (timeout,
// connection refused or reset, name not resolved, TLS handshake failed).
func requestErrorKind(err error) hookrelay.OutcomeKind {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return hookrelay.OutcomeRefused
	}
	return hookrelay.OutcomeUnanswered
}

// viaProxy sends the request through the configured proxy with net/http's
// transport, which speaks the proxy protocols, and reports what came back
// as the direct client does.
func (s *sender) viaProxy(ctx context.Context, u *url.URL, method string, header []string, body []byte, timeout time.Duration) (h1Response, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The proxy resolves and connects: check the target's addresses
	// here instead of at dial time.
	if s.transport.Proxy != nil {
		if err := s.guard.checkHost(rctx, s.resolver, u.Hostname()); err != nil {
			return h1Response{}, err
		}
	}
	// The request line is written by net/http from this URL: its query,
	// kept as stored, must be escaped as the direct client escapes it.
	target := *u
	target.RawQuery = escapeTarget(u.RawQuery)
	req, err := http.NewRequestWithContext(rctx, method, target.String(), bytes.NewReader(body))
	if err != nil {
		return h1Response{}, fmt.Errorf("cannot build request: %w", err)
	}
	req.Header = make(http.Header, len(header)/2)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header[header[i]] = []string{header[i+1]}
	}
	// Straight to the transport, not through an http.Client: no redirect is
	// followed (a 3xx is the attempt's outcome), there is no cookie jar.
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return h1Response{}, err
	}
	defer resp.Body.Close()
	// At most bodyLimit bytes are read and kept; a longer body is drained
	// a little (drainLimit bytes, for drainWait at most) so that its
	// connection can be reused, and is otherwise cut by closing the
	// connection.
	r := h1Response{statusCode: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	r.body, r.bodyErr = io.ReadAll(io.LimitReader(resp.Body, int64(s.bodyLimit)))
	if r.bodyErr == nil && len(r.body) == s.bodyLimit {
		stop := time.AfterFunc(drainWait, cancel)
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		stop.Stop()
	}
	return r, nil
}

// validHeaderField reports whether s holds no line break or other control
// character but horizontal tab, which would let it end the header early.
func validHeaderField(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// describe turns a request error into the reason stored with the attempt.
func describe(err error, timeout time.Duration) string {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("request timed out after %s", timeout)
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return fmt.Sprintf("request timed out after %s", timeout)
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/" {
		return http.ErrSchemeMismatch.Error()
	}
	if errors.Is(err, io.EOF) {
		return "connection closed by the receiver without a response (EOF)"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by the receiver mid-response (unexpected EOF)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 when the header is absent or unreadable, and otherwise the
// delay clamped to [minRetryAfter, maxRetryAfter].
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	} else {
		return 0
	}
	return min(max(d, minRetryAfter), maxRetryAfter)
}
