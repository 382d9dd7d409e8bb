package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Operational webhook endpoints (/api/v1/operational-webhook/endpoint) are
// where the operator hears about an environment: endpoint.created, ...,
// message.attempt.exhausted (see package ops). They belong to the
// environment of the admin token that manages them, and portal tokens get
// 403. They are stored as the endpoints of the environment's internal
// application (store.EnsureInternalApplication, made on first use), so
// their events are signed with their own secrets, retried, rate-limited
// and logged like any other webhook; that application never appears among
// the environment's applications nor answers to /api/v1/app/{app_id}.
//
// Bodies are Svix's OperationalWebhookEndpointIn and
// OperationalWebhookEndpointUpdate; newer Svix names are accepted too
// (eventTypes for filterTypes, throttleRate for rateLimit; both of a pair
// only with one value, see alias), and create takes custom headers. filterTypes name operational
// event types or families of them (endpoint.*). PUT creates the endpoint
// when it does not exist (its uid: the body's, else the path's
// endpoint_id) and answers 200 either way, as Svix's upsert does.

// operationalRoutes registers the routes of operational webhook endpoints.
func (s *server) operationalRoutes(handle func(method, path string, acc access, h handlerFunc)) {
	const base = "/api/v1/operational-webhook/endpoint"
	const ep = base + "/{endpoint_id}"
	handle("GET", base, accessAdmin, s.listOpEndpoints)
	handle("POST", base, accessAdmin, s.createOpEndpoint)
	handle("GET", ep, accessAdmin, s.getOpEndpoint)
	handle("PUT", ep, accessAdmin, s.updateOpEndpoint)
	handle("DELETE", ep, accessAdmin, s.deleteOpEndpoint)
	handle("GET", ep+"/secret", accessAdmin, s.getOpEndpointSecret)
	handle("POST", ep+"/secret/rotate", accessAdmin, s.rotateOpEndpointSecret)
	handle("GET", ep+"/headers", accessAdmin, s.getOpEndpointHeaders)
	handle("PUT", ep+"/headers", accessAdmin, s.updateOpEndpointHeaders)
}

// opEndpointIn covers OperationalWebhookEndpointIn and
// OperationalWebhookEndpointUpdate. It is only what such a body is decoded
// into: endpointIn less version, channels and options, which operational
// bodies do not have, so that they are ignored as any unknown field is.
// The rest works on the endpointIn it converts to (readOpEndpoint).
type opEndpointIn struct {
	URL          opt[string]             `json:"url"`
	Description  opt[string]             `json:"description"`
	Disabled     opt[bool]               `json:"disabled"`
	FilterTypes  opt[[]string]           `json:"filterTypes"`
	EventTypes   opt[[]string]           `json:"eventTypes"`
	RateLimit    opt[int]                `json:"rateLimit"`
	ThrottleRate opt[int]                `json:"throttleRate"`
	UID          opt[string]             `json:"uid"`
	Metadata     opt[map[string]string]  `json:"metadata"`
	Secret       opt[string]             `json:"secret"`  // create only
	Headers      opt[map[string]*string] `json:"headers"` // create only
}

// endpointIn returns the body as a customer endpoint's body, with version,
// channels and options absent.
func (in *opEndpointIn) endpointIn() endpointIn {
	return endpointIn{
		URL: in.URL, Description: in.Description, Disabled: in.Disabled,
		FilterTypes: in.FilterTypes, EventTypes: in.EventTypes, RateLimit: in.RateLimit, ThrottleRate: in.ThrottleRate,
		UID: in.UID, Metadata: in.Metadata, Secret: in.Secret, Headers: in.Headers,
	}
}

// readOpEndpoint decodes and checks a create (or, without create, an
// update) body; the endpointIn it returns is valid, for endpointIn.apply
// and insertOpEndpoint.
func (s *server) readOpEndpoint(r *http.Request, create bool) (*endpointIn, error) {
	var body opEndpointIn
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	in := body.endpointIn()
	var c checker
	validateOpEndpoint(&c, &in, create)
	s.checkURLPolicy(&c, in.URL)
	if err := c.err(); err != nil {
		return nil, err
	}
	return &in, nil
}

// validateOpEndpoint checks an operational create (or, without create,
// update) body with the checks of customer endpoints, in the order of
// operational bodies; filter types must match an operational event type.
// An update (OperationalWebhookEndpointUpdate) has no secret or headers:
// either is refused, not dropped.
func validateOpEndpoint(c *checker, in *endpointIn, create bool) {
	if !create {
		if in.Secret.Set {
			c.add("is not taken by PUT: give it when creating the operational endpoint with POST, or change it with POST .../secret/rotate", "secret")
		}
		if in.Headers.Set {
			c.add("is not taken by PUT: give them when creating the operational endpoint with POST, or set them with PUT .../headers", "headers")
		}
		in.Secret = opt[string]{}
		in.Headers = opt[map[string]*string]{}
	}
	in.checkURLField(c, false)
	in.checkNotNull(c)
	in.checkFilterTypes(c, 1, checkOpFilterType)
	in.checkRates(c)
	in.checkUID(c)
	in.checkSecretAndHeaders(c)
}

// checkOpFilterType accepts a filter type (see checkFilterType) that
// matches at least one operational event type.
func checkOpFilterType(s string) string {
	if msg := checkFilterType(s); msg != "" {
		return msg
	}
	for _, t := range ops.EventTypes {
		if hookrelay.MatchesEventType([]string{s}, t) {
			return ""
		}
	}
	return "matches no operational event type; these are " + strings.Join(ops.EventTypes, ", ")
}

// opEndpointOut is Svix's OperationalWebhookEndpointOut: an endpointOut
// whose version and channels toOpEndpointOut leaves out in every shape.
type opEndpointOut = endpointOut

func toOpEndpointOut(sh shape) func(hookrelay.Endpoint) opEndpointOut {
	toOut := toEndpointOut(sh)
	return func(e hookrelay.Endpoint) opEndpointOut {
		out := toOut(e)
		out.Version, out.Channels = nil, nil
		return out
	}
}

// opEndpointNoun names an operational endpoint in errors (see uidTaken).
const opEndpointNoun = "operational webhook endpoint"

// opApp returns the internal application of p's environment, made first
// when create is set; without create, a missing one is nil (no error).
func (s *server) opApp(r *http.Request, p *principal, create bool) (*hookrelay.Application, error) {
	if create {
		return s.store.EnsureInternalApplication(r.Context(), p.envID)
	}
	app, err := s.store.GetInternalApplication(r.Context(), p.envID)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, nil
	}
	return app, err
}

// opEndpoint resolves the path's operational endpoint (by ID or uid).
func (s *server) opEndpoint(r *http.Request, p *principal) (*hookrelay.Application, *hookrelay.Endpoint, error) {
	app, err := s.opApp(r, p, false)
	if err != nil {
		return nil, nil, err
	}
	if app == nil {
		return nil, nil, errNotFound("endpoint not found")
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return nil, nil, err
	}
	return app, ep, nil
}

// opEndpointsChanged tells the emitter to read p's operational endpoints
// again.
func (s *server) opEndpointsChanged(p *principal) {
	s.events.Forget(p.envID)
}

func (s *server) listOpEndpoints(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	page := q.page(true)
	if err := q.err(); err != nil {
		return err
	}
	app, err := s.opApp(r, p, false)
	if err != nil {
		return err
	}
	return listPage(w, page, hookrelay.PrefixEndpoint, func(page store.Page) ([]hookrelay.Endpoint, error) {
		if app == nil {
			return nil, nil
		}
		return s.store.ListEndpoints(r.Context(), app.ID, page)
	}, endpointID, toOpEndpointOut(shapeOf(r)))
}

func (s *server) createOpEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readOpEndpoint(r, true)
	if err != nil {
		return err
	}
	ep, err := s.insertOpEndpoint(r, p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toOpEndpointOut(shapeOf(r))(*ep))
	return nil
}

// insertOpEndpoint creates an operational endpoint from a validated body,
// unless the environment has its limit of them (the limit of endpoints per
// application, as they are the endpoints of one; see endpointsFull).
func (s *server) insertOpEndpoint(r *http.Request, p *principal, in *endpointIn) (*hookrelay.Endpoint, error) {
	app, err := s.opApp(r, p, true)
	if err != nil {
		return nil, err
	}
	ep, err := s.newEndpoint(p, app, in)
	if err != nil {
		return nil, err
	}

	s.endpointCreate.Lock()
	defer s.endpointCreate.Unlock()
	full, err := s.endpointsFull(r.Context(), app.ID)
	if err != nil {
		return nil, err
	}
	if full {
		return nil, invalid(fmt.Sprintf("an environment has at most %d operational webhook endpoints", s.maxEndpoints), "body")
	}
	if err := s.store.CreateEndpoint(r.Context(), ep); err != nil {
		return nil, uidTaken(err, opEndpointNoun)
	}
	s.opEndpointsChanged(p)
	return ep, nil
}

func (s *server) getOpEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.opEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOpEndpointOut(shapeOf(r))(*ep))
	return nil
}

// updateOpEndpoint is PUT: it replaces every field of
// OperationalWebhookEndpointUpdate (the uid only when the body has one),
// or creates the endpoint.
func (s *server) updateOpEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readOpEndpoint(r, false)
	if err != nil {
		return err
	}
	app, _, err := s.opEndpoint(r, p)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		if err := uidFromPath(r, in); err != nil {
			return err
		}
		ep, err := s.insertOpEndpoint(r, p, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toOpEndpointOut(shapeOf(r))(*ep))
		return nil
	}
	if err != nil {
		return err
	}
	_, ep, err := s.changeEndpointFields(r, p, app, opEndpointNoun, in.apply)
	if err != nil {
		return err
	}
	s.opEndpointsChanged(p)
	writeJSON(w, http.StatusOK, toOpEndpointOut(shapeOf(r))(*ep))
	return nil
}

func (s *server) deleteOpEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, ep, err := s.opEndpoint(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(r.Context(), app.ID, ep.ID); err != nil {
		return err
	}
	s.opEndpointsChanged(p)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getOpEndpointSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.opEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointSecretOut{Key: ep.Secret})
	return nil
}

// rotateOpEndpointSecret makes the body's key (or a generated one)
// current (readSecretRotation).
func (s *server) rotateOpEndpointSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.changeOpEndpoint(w, r, p, s.readSecretRotation)
}

// changeOpEndpoint reads a change from the body (read answers bad input
// before the endpoint is looked up), applies it to the path's operational
// endpoint (changeEndpoint) and answers 204.
func (s *server) changeOpEndpoint(w http.ResponseWriter, r *http.Request, p *principal, read func(*http.Request) (func(*hookrelay.Endpoint) error, error)) error {
	change, err := read(r)
	if err != nil {
		return err
	}
	app, _, err := s.opEndpoint(r, p)
	if err != nil {
		return err
	}
	if _, _, err := s.changeEndpoint(r, p, app, change); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getOpEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.opEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toHeadersOut(ep))
	return nil
}

// updateOpEndpointHeaders (PUT) replaces every custom header.
func (s *server) updateOpEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.changeOpEndpoint(w, r, p, func(r *http.Request) (func(*hookrelay.Endpoint) error, error) {
		return readEndpointHeaders(r, false)
	})
}
