// Package api serves hookrelay's REST API under /api/v1. Paths, JSON shapes,
// status codes and error bodies are those of the Svix API v1.44.0, so the
// official Svix SDKs work against it unchanged. The routes today's SDKs call
// that v1.44.0 lacks (routes_current.go, openapi.go) take the shapes of the current
// Svix API document.
//
// Request bodies: a body that is not well-formed JSON is 400 bad_request;
// well-formed JSON that does not fit the operation's schema (a value of the
// wrong type, a missing or invalid field) is 422 with Svix's
// HTTPValidationError body. Unknown fields are ignored, as Svix does. An
// empty body reads as {}.
//
// Order of checks: authentication (401), the route's token kind and a
// portal token's capability (403), the body size (413), room for the body
// (503 with Retry-After while the server holds
// Config.MaxBodyBytesInFlight bytes of other bodies), the whole body
// read (400 when it does not arrive whole), the idempotency-key header
// (422), then the path's application (404; a portal token sees
// only its own), then the body and query (400/422), then the other objects
// of the path (404). Operations whose body may create the application
// (publishing and portal access with `application`, PUT of an application)
// validate the body before looking the application up.
//
// Portal tokens reach the routes of their own application, except
// publishing (and its precheck) and expunging content, which are the
// operator's; they also read the event type catalog, and whoami. Every
// other route is 403 for them.
// A portal token may further do only what its capabilities grant (see
// access and principal.authorize): a route it lacks the capability for is
// 403 naming the capability. Every portal token may log out.
//
// Input text: request bodies must be valid UTF-8, and no text field of a
// body (names, uids, descriptions, metadata keys and values, channels,
// tags, filter types, header names and values, list items...) may hold
// U+0000; either is 422 naming the field ("must be valid UTF-8", "must not
// contain the NUL character"). A message payload, and event type schemas,
// are JSON documents kept byte for byte: \u0000 escapes in them are kept,
// and only invalid UTF-8 is refused. A query parameter that is not valid
// UTF-8 or holds U+0000 is 422 at ["query", name]; a path that is not
// valid UTF-8 or holds U+0000 names nothing and is 404, before any other
// check. Responses are always valid UTF-8: invalid bytes in stored data
// are shown as U+FFFD.
//
// A request refused before its body was read (401, 403, 413, 503) is
// answered at once and its connection closed after the response, without
// waiting for the body.
//
// Limits: request bodies, and so message payloads, are bounded by
// Config.MaxBodyBytes (413); an application has at most
// Config.MaxEndpointsPerApp endpoints and an endpoint at most
// maxEndpointHeaders custom headers of bounded size (422).
package api

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// DefaultMaxBodyBytes bounds request bodies when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxEndpointsPerApp bounds the endpoints of one application when
// Config.MaxEndpointsPerApp is 0.
const DefaultMaxEndpointsPerApp = 50

// DefaultPayloadRetention is how long a message's payload is kept when
// Config.PayloadRetention is 0 and the message names no retention of its
// own: Svix's default of 90 days.
const DefaultPayloadRetention = 90 * 24 * time.Hour

// Waker is told that deliveries became due (a message was published,
// resent or recovered) so the dispatcher looks for work now.
type Waker interface{ Wake() }

// Config configures the handler returned by New.
type Config struct {
	// Store holds everything; required.
	Store store.Store
	// Waker, when set, is called after every successful publish, resend and
	// recover that queued work.
	Waker Waker
	// Tasks, when set, is woken after a background task is created (recover,
	// replay-missing), so that this node's ops.Runner takes it at once.
	Tasks Waker
	// Handoff, when set, takes the deliveries of a publish straight from
	// the publish while it has room; nil queues every delivery for a claim.
	Handoff Handoff
	// Windows, when set, tells the health route this node's concurrency
	// window of an endpoint.
	Windows Windows
	// AdminToken is the plaintext admin token of hookrelay.DefaultEnvironment
	// (HOOKRELAY_ADMIN_TOKEN). Empty means only tokens in the store work.
	AdminToken string
	// PublicURL is where the server is reachable, used in portal links.
	PublicURL string
	// Logger receives server-side failures; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies, and so message payloads (413
	// beyond it); 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBodyBytesInFlight bounds the bytes of request bodies being read or
	// handled at once, and so the memory requests take; 0 means
	// DefaultMaxBodyBytesInFlight. A request reserves room as its body
	// arrives; one that finds none within AdmissionWait gets 503. Raised to
	// MaxBodyBytes when below it.
	MaxBodyBytesInFlight int64
	// AdmissionWait is how long a request waits for room in
	// MaxBodyBytesInFlight; 0 means DefaultAdmissionWait.
	AdmissionWait time.Duration
	// MaxEndpointsPerApp bounds the endpoints of one application (creating
	// one more is 422); 0 means DefaultMaxEndpointsPerApp.
	MaxEndpointsPerApp int
	// Events, when set, receives the operational events of endpoint
	// changes and learns of changes to operational endpoints.
	Events *ops.Emitter
	// URLPolicy, when set, must accept every endpoint URL created or
	// changed (for example https-only); a refusal is 422 on "url".
	URLPolicy func(*url.URL) error
	// PayloadRetention is how long the payload of a message that names no
	// retention (payloadRetentionPeriod, payloadRetentionHours) is kept;
	// 0 means DefaultPayloadRetention. See ops.Cleaner.
	PayloadRetention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, when set, is told about publishes and store failures.
	Metrics Metrics
	// AllowedOrigins may call the API from a browser with a portal token
	// (CORS); see cors.go. Each is an origin as browsers send it.
	AllowedOrigins []string
}

// Metrics is told what the API does, for monitoring (internal/metrics
// implements it). Its methods are called on request goroutines.
type Metrics interface {
	// Published is told of every publish request (POST
	// /api/v1/app/{app_id}/msg) once answered, refused ones included:
	// the response's status code and how long the request took.
	Published(status int, took time.Duration)
	// StoreFailed is told of every request that failed on an unexpected
	// store error (answered 500, or 503 while the database is down).
	StoreFailed()
}

type server struct {
	store     store.Store
	waker     Waker
	tasks     Waker
	handoff   Handoff
	windows   Windows
	events    *ops.Emitter
	adminHash [32]byte
	hasAdmin  bool
	publicURL string
	log       *slog.Logger
	maxBody   int64
	retention time.Duration // default payload retention
	// bodies bounds the request bodies held at once; see readBody.
	bodies        *bodyBudget
	admissionWait time.Duration
	freeing       atomic.Bool // a return of memory after a burst is scheduled
	clock         func() time.Time
	mux           *http.ServeMux
	metrics       Metrics

	maxEndpoints int
	urlPolicy    func(*url.URL) error
	// endpointCreate serializes counting and creating endpoints.
	endpointCreate sync.Mutex
	// apps remembers applications resolved for publishing.
	apps appCache
	// origins may call the API from a browser with a portal token;
	// ownOrigin is PublicURL's.
	origins   map[string]bool
	ownOrigin string
	// table lists every route with who may call it (tests walk it).
	table []route
}

// New returns the HTTP handler of the API. Requests outside /api/v1 get 404.
func New(cfg Config) http.Handler {
	s := &server{
		store:     cfg.Store,
		waker:     cfg.Waker,
		tasks:     cfg.Tasks,
		handoff:   cfg.Handoff,
		windows:   cfg.Windows,
		events:    cfg.Events,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		log:       cfg.Logger,
		maxBody:   cfg.MaxBodyBytes,
		retention: cfg.PayloadRetention,
		clock:     cfg.Now,
		mux:       http.NewServeMux(),
		metrics:   cfg.Metrics,

		maxEndpoints: cfg.MaxEndpointsPerApp,
		urlPolicy:    cfg.URLPolicy,
	}
	s.origins = map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		s.origins[o] = true
	}
	if u, err := url.Parse(s.publicURL); err == nil && u.Host != "" {
		s.ownOrigin = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	if cfg.AdminToken != "" {
		s.adminHash = hashToken(cfg.AdminToken)
		s.hasAdmin = true
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.retention <= 0 {
		s.retention = DefaultPayloadRetention
	}
	inFlight := cfg.MaxBodyBytesInFlight
	if inFlight <= 0 {
		inFlight = DefaultMaxBodyBytesInFlight
	}
	s.bodies = newBodyBudget(max(inFlight, s.maxBody))
	s.admissionWait = cfg.AdmissionWait
	if s.admissionWait <= 0 {
		s.admissionWait = DefaultAdmissionWait
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.maxEndpoints <= 0 {
		s.maxEndpoints = DefaultMaxEndpointsPerApp
	}
	s.routes()
	return s
}

// now returns the clock's time in UTC at the precision every store keeps.
func (s *server) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// ServeHTTP answers CORS preflights (see cors.go), 404 to a path that is not valid UTF-8 or holds U+0000
// (no object can have such an ID, uid or name), drops a trailing slash (the
// Svix server accepts both forms) and dispatches.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	if checkText(r.URL.Path) != "" {
		writeError(w, errNotFound("entity not found"))
		return
	}
	if p := r.URL.Path; len(p) > len("/api/v1/") && strings.HasSuffix(p, "/") {
		r2 := *r
		u := *r.URL
		u.Path = strings.TrimRight(p, "/")
		u.RawPath = ""
		r2.URL = &u
		r = &r2
	}
	s.mux.ServeHTTP(w, r)
}

// access says who may call a route: its level, and for a portal token on
// a route of levelApp or levelCatalog the capability it needs (besides
// ViewBase, which every such route needs).
type access struct {
	level accessLevel
	need  hookrelay.PortalCapabilities
}

// accessLevel says which tokens may call a route.
type accessLevel int

const (
	// levelPublic needs no token.
	levelPublic accessLevel = iota
	// levelAdmin needs an admin token.
	levelAdmin
	// levelApp needs an admin token or a portal token of the path's app.
	levelApp
	// levelCatalog needs an admin or a portal token: the portal reads the
	// event type catalog to offer filter choices.
	levelCatalog
	// levelAny needs any valid token.
	levelAny
)

var (
	accessPublic = access{level: levelPublic}
	accessAdmin  = access{level: levelAdmin}
	// accessApp and accessCatalog read: a portal token needs ViewBase.
	accessApp     = access{level: levelApp, need: hookrelay.CapViewBase}
	accessCatalog = access{level: levelCatalog, need: hookrelay.CapViewBase}
	accessAny     = access{level: levelAny}

	// What a portal token needs for the routes of its application that do
	// more than read (see the README's table of capabilities).
	accessSecret       = access{level: levelApp, need: hookrelay.CapViewEndpointSecret}
	accessRotateSecret = access{level: levelApp, need: hookrelay.CapManageEndpointSecret}
	accessEndpoint     = access{level: levelApp, need: hookrelay.CapManageEndpoint}
	accessAttempts     = access{level: levelApp, need: hookrelay.CapCreateAttempts}
)

// route is one registered route, as routes() lists it in server.table.
type route struct {
	method, path string
	acc          access
}

// handlerFunc handles one operation. A returned error is written as the
// response (see writeError); nothing must have been written before.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

func (s *server) routes() {
	handle := func(method, path string, acc access, h handlerFunc) {
		// A portal token reaches a route only through a capability, and
		// one that only reads (ViewBase) reaches no route that changes
		// something: a new route must say which capability it takes.
		if (acc.level == levelApp || acc.level == levelCatalog) &&
			(acc.need == 0 || (method != "GET" && acc.need == hookrelay.CapViewBase)) {
			panic("api: portal route " + method + " " + path + " names no capability that covers it")
		}
		s.table = append(s.table, route{method, path, acc})
		hh := s.wrap(acc, h)
		if method == "POST" && path == publishPath && s.metrics != nil {
			hh = s.measurePublish(hh)
		}
		s.mux.Handle(method+" "+path, hh)
	}

	handle("GET", "/api/v1/health", accessPublic, s.health)

	handle("GET", "/api/v1/app", accessAdmin, s.listApps)
	handle("POST", "/api/v1/app", accessAdmin, s.createApp)
	handle("GET", "/api/v1/app/{app_id}", accessApp, s.getApp)
	handle("PUT", "/api/v1/app/{app_id}", accessAdmin, s.updateApp)
	handle("PATCH", "/api/v1/app/{app_id}", accessAdmin, s.patchApp)
	handle("DELETE", "/api/v1/app/{app_id}", accessAdmin, s.deleteApp)

	handle("GET", "/api/v1/event-type", accessCatalog, s.listEventTypes)
	handle("POST", "/api/v1/event-type", accessAdmin, s.createEventType)
	handle("POST", "/api/v1/event-type/import/openapi", accessAdmin, s.importOpenAPI)
	handle("GET", "/api/v1/event-type/{event_type_name}", accessCatalog, s.getEventType)
	handle("PUT", "/api/v1/event-type/{event_type_name}", accessAdmin, s.updateEventType)
	handle("PATCH", "/api/v1/event-type/{event_type_name}", accessAdmin, s.patchEventType)
	handle("DELETE", "/api/v1/event-type/{event_type_name}", accessAdmin, s.deleteEventType)

	const ep = "/api/v1/app/{app_id}/endpoint/{endpoint_id}"
	handle("GET", "/api/v1/app/{app_id}/endpoint", accessApp, s.listEndpoints)
	handle("GET", "/api/v1/app/{app_id}/endpoint-summary", accessApp, s.endpointSummaries)
	handle("POST", "/api/v1/app/{app_id}/endpoint", accessEndpoint, s.createEndpoint)
	handle("GET", ep, accessApp, s.getEndpoint)
	handle("PUT", ep, accessEndpoint, s.updateEndpoint)
	handle("PATCH", ep, accessEndpoint, s.patchEndpoint)
	handle("DELETE", ep, accessEndpoint, s.deleteEndpoint)
	handle("GET", ep+"/headers", accessApp, s.getEndpointHeaders)
	handle("PUT", ep+"/headers", accessEndpoint, s.updateEndpointHeaders)
	handle("PATCH", ep+"/headers", accessEndpoint, s.patchEndpointHeaders)
	handle("GET", ep+"/options", accessApp, s.getEndpointOptions)
	handle("PUT", ep+"/options", accessEndpoint, s.updateEndpointOptions)
	handle("PATCH", ep+"/options", accessEndpoint, s.patchEndpointOptions)
	handle("GET", ep+"/secret", accessSecret, s.getEndpointSecret)
	handle("POST", ep+"/secret/rotate", accessRotateSecret, s.rotateEndpointSecret)
	handle("POST", ep+"/send-example", accessAttempts, s.sendExample)
	handle("POST", ep+"/send-test", accessAttempts, s.sendTest)
	handle("GET", ep+"/stats", accessApp, s.endpointStats)
	handle("GET", ep+"/health", accessApp, s.endpointHealth)
	handle("POST", ep+"/recover", accessAttempts, s.recoverEndpoint)
	handle("POST", ep+"/replay-missing", accessAttempts, s.replayMissing)
	handle("GET", ep+"/msg", accessApp, s.listAttemptedMessages)
	handle("POST", ep+"/bulk-replay", accessAttempts, s.bulkReplay)
	handle("POST", ep+"/cancel-msgs", accessEndpoint, s.cancelMsgs)
	handle("GET", ep+"/rate-limit-status", accessApp, s.rateLimitStatus)

	const msg = "/api/v1/app/{app_id}/msg/{msg_id}"
	handle("GET", "/api/v1/app/{app_id}/msg", accessApp, s.listMessages)
	handle("POST", publishPath, accessAdmin, s.createMessage)
	handle("POST", "/api/v1/app/{app_id}/msg/precheck/active", accessAdmin, s.precheck)
	handle("POST", "/api/v1/app/{app_id}/msg/expunge-all-contents", accessAdmin, s.expungeAllContents)
	handle("POST", "/api/v1/app/{app_id}/msg/bulk-expunge", accessAdmin, s.bulkExpunge)
	handle("GET", msg, accessApp, s.getMessage)
	handle("DELETE", msg+"/content", accessAdmin, s.expungeMessageContent)
	handle("GET", msg+"/endpoint", accessApp, s.listAttemptedDestinations)
	handle("POST", msg+"/endpoint/{endpoint_id}/resend", accessAttempts, s.resend)
	handle("GET", msg+"/attempt/{attempt_id}", accessApp, s.getAttempt)
	handle("GET", msg+"/attempt/{attempt_id}/response", accessApp, s.getAttemptResponse)
	handle("DELETE", msg+"/attempt/{attempt_id}/content", accessAdmin, s.expungeAttemptContent)
	handle("GET", "/api/v1/app/{app_id}/attempt", accessApp, s.listAttemptsByApp)
	handle("GET", "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}", accessApp, s.listAttemptsByEndpoint)
	handle("GET", "/api/v1/app/{app_id}/stats", accessApp, s.appStats)
	handle("GET", "/api/v1/app/{app_id}/portal-theme", accessApp, s.getPortalTheme)
	handle("PUT", "/api/v1/app/{app_id}/portal-theme", accessAdmin, s.updatePortalTheme)
	handle("GET", "/api/v1/stats/app/{app_id}/attempt", accessApp, s.attemptStats(false))
	handle("GET", "/api/v1/stats/app/{app_id}/ep/{endpoint_id}/attempt", accessApp, s.attemptStats(true))
	handle("GET", "/api/v1/app/{app_id}/attempt/msg/{msg_id}", accessApp, s.listAttemptsByMsg)
	handle("GET", "/api/v1/app/{app_id}/stats/attempts", accessApp, s.appAttemptStats)
	handle("POST", "/api/v1/stats/usage/app", accessAdmin, s.usageAppStats)
	handle("PUT", "/api/v1/stats/usage/event-types", accessAdmin, s.usageEventTypes)

	handle("POST", "/api/v1/auth/app-portal-access/{app_id}", accessAdmin, s.appPortalAccess)
	// The deprecated name of app-portal-access that the SDKs 1.x still
	// offer (dashboardAccess): the same token and URL.
	handle("POST", "/api/v1/auth/dashboard-access/{app_id}", accessAdmin, s.appPortalAccess)
	handle("POST", "/api/v1/auth/logout", accessAny, s.logout)
	handle("GET", "/api/v1/auth/whoami", accessAny, s.whoami)
	handle("POST", "/api/v1/auth/app/{app_id}/expire-all", accessAdmin, s.expireAll)

	handle("GET", "/api/v1/background-task", accessAdmin, s.listBackgroundTasks)
	handle("GET", "/api/v1/background-task/{task_id}", accessAdmin, s.getBackgroundTask)
	handle("GET", "/api/v1/app/{app_id}/background-task/{task_id}", accessApp, s.getAppBackgroundTask)

	s.operationalRoutes(handle)

	// A known path with another method is 405 with a JSON body, listing the
	// allowed methods; any other path is 404. Which methods a path allows
	// is asked of the mux itself, so that a literal segment
	// (msg/expunge-all-contents) and a wildcard one (msg/{msg_id}) never
	// shadow each other's methods.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := s.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.refuse(w, r, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method " + r.Method + " is not allowed here"})
			return
		}
		s.refuse(w, r, errNotFound("no such route"))
	})
}

// routeMethods are the methods the API's routes use.
var routeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// allowed returns the methods that have a route for r's path.
func (s *server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range routeMethods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

// wrap authenticates, authorizes, reads the whole bounded body, applies
// idempotency keys and maps the handler's error to a response.
func (s *server) wrap(acc access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api handler panicked", append(requestAttrs(r), "panic", v)...)
				writeError(w, &apiError{http.StatusInternalServerError, "internal_error", "internal error"})
			}
		}()

		var p *principal
		if acc.level != levelPublic {
			var err error
			p, err = s.authenticate(r)
			if err == nil {
				err = s.checkBrowser(r, p)
			}
			if err == nil {
				err = p.authorize(acc)
			}
			if err != nil {
				s.refuse(w, r, err)
				return
			}
		}
		reserved, ok := s.readBody(w, r)
		if !ok {
			return
		}
		// The bytes the body stands for live until the response is out.
		defer s.releaseBody(reserved)
		run := func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r, p); err != nil {
				s.writeErr(w, r, err)
			}
		}
		if r.Method == http.MethodPost && p != nil {
			s.idempotent(w, r, p, run)
			return
		}
		run(w, r)
	})
}

// health is GET /api/v1/health: 204 while the database answers.
func (s *server) health(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn("health check failed", "error", err)
		return errUnavailable()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// wake tells the dispatcher that work is due.
func (s *server) wake() {
	if s.waker != nil {
		s.waker.Wake()
	}
}
