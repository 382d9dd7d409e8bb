package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// endpointIn covers Svix's EndpointIn, EndpointUpdate and EndpointPatch,
// and the newer EndpointUpsertIn: throttleRate and eventTypes are the newer
// names of rateLimit and filterTypes (see alias; validate leaves the values
// in RateLimit and FilterTypes), and headers (create only) sets the custom
// headers as PUT .../headers does.
type endpointIn struct {
	URL          opt[string]             `json:"url"`
	Description  opt[string]             `json:"description"`
	Version      opt[int]                `json:"version"`
	RateLimit    opt[int]                `json:"rateLimit"`
	ThrottleRate opt[int]                `json:"throttleRate"`
	UID          opt[string]             `json:"uid"`
	FilterTypes  opt[[]string]           `json:"filterTypes"`
	EventTypes   opt[[]string]           `json:"eventTypes"`
	Channels     opt[[]string]           `json:"channels"`
	Disabled     opt[bool]               `json:"disabled"`
	Metadata     opt[map[string]string]  `json:"metadata"`
	Secret       opt[string]             `json:"secret"`
	Headers      opt[map[string]*string] `json:"headers"`
	// Options is hookrelay's extension (see options.go); Svix clients never
	// send it.
	Options opt[endpointOptionsIn] `json:"options"`
}

// validate checks a body; patch relaxes required fields and list sizes (an
// empty list in a patch clears it).
func (in *endpointIn) validate(c *checker, patch bool) {
	in.checkURLField(c, patch)
	if patch {
		c.notNull(in.Version.Set, in.Version.Null, "version")
	}
	in.checkNotNull(c)
	if in.Version.has() && (in.Version.V < 1 || in.Version.V > 65535) {
		c.add("must be between 1 and 65535", "version")
	}
	in.checkRates(c)
	in.checkUID(c)
	minItems := 1
	if patch {
		minItems = 0
	}
	in.checkFilterTypes(c, minItems, checkFilterType)
	if in.Channels.has() {
		c.checkList(in.Channels.V, minItems, 10, checkChannel, "channels")
	}
	in.checkSecretAndHeaders(c)
	if in.Options.has() {
		in.Options.V.validate(c, "options")
	}
}

// The checks below are those of the fields that customer endpoints and
// operational webhook endpoints (validateOpEndpoint) share. Each adds its
// problems to c under the fields' Svix names; the caller chooses their
// order, which is the order of the problems in the answer.

// checkURLField checks url: required, or in a patch optional but not null;
// when present an absolute http or https URL (checkURL; the server's URL
// policy is checkURLPolicy's).
func (in *endpointIn) checkURLField(c *checker, patch bool) {
	if !patch {
		if c.required(in.URL.Set, in.URL.Null, "url") {
			c.check(checkURL(in.URL.V), "url")
		}
		return
	}
	c.notNull(in.URL.Set, in.URL.Null, "url")
	if in.URL.has() {
		c.check(checkURL(in.URL.V), "url")
	}
}

// checkNotNull refuses null for description, disabled and metadata, which
// are optional but not nullable.
func (in *endpointIn) checkNotNull(c *checker) {
	c.notNull(in.Description.Set, in.Description.Null, "description")
	c.notNull(in.Disabled.Set, in.Disabled.Null, "disabled")
	c.notNull(in.Metadata.Set, in.Metadata.Null, "metadata")
}

// checkRates checks rateLimit and throttleRate, its newer name, and leaves
// their one value in RateLimit (see alias).
func (in *endpointIn) checkRates(c *checker) {
	if in.RateLimit.has() {
		c.check(checkRateLimit(in.RateLimit.V), "rateLimit")
	}
	if in.ThrottleRate.has() {
		c.check(checkRateLimit(in.ThrottleRate.V), "throttleRate")
	}
	in.RateLimit = alias(c, in.ThrottleRate, "throttleRate", in.RateLimit, "rateLimit")
}

// checkUID checks uid when present (checkEndpointUID).
func (in *endpointIn) checkUID(c *checker) {
	if in.UID.has() {
		c.check(checkEndpointUID(in.UID.V), "uid")
	}
}

// checkFilterTypes checks filterTypes and eventTypes, its newer name: each
// a list of at least minItems unique items that each accepts. It leaves
// their one value in FilterTypes (see alias).
func (in *endpointIn) checkFilterTypes(c *checker, minItems int, each func(string) string) {
	if in.FilterTypes.has() {
		c.checkList(in.FilterTypes.V, minItems, 0, each, "filterTypes")
	}
	if in.EventTypes.has() {
		c.checkList(in.EventTypes.V, minItems, 0, each, "eventTypes")
	}
	in.FilterTypes = alias(c, in.EventTypes, "eventTypes", in.FilterTypes, "filterTypes")
}

// checkSecretAndHeaders checks secret and headers when present; only a
// create takes them (callers drop or refuse them otherwise).
func (in *endpointIn) checkSecretAndHeaders(c *checker) {
	if in.Secret.has() {
		c.check(checkSecret(in.Secret.V), "secret")
	}
	if in.Headers.has() {
		h := endpointHeadersIn{Headers: in.Headers}
		h.validate(c, false)
	}
}

// apply writes every field of a create or update body onto ep: the uid
// only when the body has one, the delivery options only when it has
// `options`. A field the body leaves out takes its default (version 1).
func (in *endpointIn) apply(ep *hookrelay.Endpoint) {
	ep.URL = in.URL.V
	ep.Description = in.Description.V
	ep.Version = 1
	if in.Version.has() {
		ep.Version = in.Version.V
	}
	ep.RateLimit = in.RateLimit.ptr()
	ep.FilterTypes = nonEmpty(in.FilterTypes.V)
	ep.Channels = nonEmpty(in.Channels.V)
	ep.Disabled = in.Disabled.V
	ep.Metadata = in.Metadata.V
	if ep.Metadata == nil {
		ep.Metadata = map[string]string{}
	}
	if in.UID.has() {
		ep.UID = in.UID.ptr()
	}
	if in.Options.Set {
		ep.Options = in.Options.V.replace()
	}
}

// refuseHeaders refuses custom headers in an endpoint update or patch,
// whose Svix schemas have none: only a create sets them in the endpoint's
// body.
func refuseHeaders(c *checker, h opt[map[string]*string]) {
	if h.Set {
		c.add("is only taken when an endpoint is created: set custom headers with PUT or PATCH .../headers", "headers")
	}
}

// newSecret returns "whsec_" + base64 of 24 random bytes.
func newSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// checkEndpointUID validates an endpoint's uid: a uid that does not start
// with "ep_", for the reason given at checkAppUID.
func checkEndpointUID(s string) string {
	return checkUIDPrefix(s, hookrelay.PrefixEndpoint, "endpoint")
}

// endpoint resolves the path's {endpoint_id} (an ID or uid) in app.
func (s *server) endpoint(r *http.Request, app *hookrelay.Application) (*hookrelay.Endpoint, error) {
	return s.endpointByID(r, app, r.PathValue("endpoint_id"))
}

func (s *server) endpointByID(r *http.Request, app *hookrelay.Application, idOrUID string) (*hookrelay.Endpoint, error) {
	ep, err := s.store.GetEndpoint(r.Context(), app.ID, idOrUID)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNotFound("endpoint not found")
	}
	return ep, err
}

// appEndpoint resolves both the app and the endpoint of the path.
func (s *server) appEndpoint(r *http.Request, p *principal) (*hookrelay.Application, *hookrelay.Endpoint, error) {
	app, err := s.app(r, p)
	if err != nil {
		return nil, nil, err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return nil, nil, err
	}
	return app, ep, nil
}

func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	page := q.page(true)
	if err := q.err(); err != nil {
		return err
	}
	return listPage(w, page, hookrelay.PrefixEndpoint, func(page store.Page) ([]hookrelay.Endpoint, error) {
		return s.store.ListEndpoints(r.Context(), app.ID, page)
	}, endpointID, toEndpointOut(shapeOf(r)))
}

// endpointID is the key of endpoint listings.
func endpointID(e hookrelay.Endpoint) string { return e.ID }

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	in, err := s.readEndpoint(r, http.MethodPost)
	if err != nil {
		return err
	}
	ep, err := s.insertEndpoint(r, p, app, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toEndpointOut(shapeOf(r))(*ep))
	return nil
}

// readEndpoint decodes and checks the body of a method's write of an
// endpoint: POST (EndpointIn), PUT (EndpointUpdate, EndpointUpsertIn) or
// PATCH (EndpointPatch); PUT and PATCH refuse headers, and PUT, whose
// documents have no secret, refuses one (even when it creates the
// endpoint) rather than dropping it. The endpointIn it returns is valid.
func (s *server) readEndpoint(r *http.Request, method string) (*endpointIn, error) {
	var in endpointIn
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	var c checker
	if method == http.MethodPut && in.Secret.Set {
		c.add("is not taken by PUT: give it when creating the endpoint with POST, or change it with PATCH or POST .../secret/rotate", "secret")
		in.Secret = opt[string]{}
	}
	if method != http.MethodPost {
		refuseHeaders(&c, in.Headers)
	}
	in.validate(&c, method == http.MethodPatch)
	s.checkURLPolicy(&c, in.URL)
	if err := c.err(); err != nil {
		return nil, err
	}
	return &in, nil
}

// insertEndpoint creates an endpoint from a validated body, unless the
// application already has its limit of endpoints (422; see endpointsFull).
func (s *server) insertEndpoint(r *http.Request, p *principal, app *hookrelay.Application, in *endpointIn) (*hookrelay.Endpoint, error) {
	s.endpointCreate.Lock()
	defer s.endpointCreate.Unlock()
	full, err := s.endpointsFull(r.Context(), app.ID)
	if err != nil {
		return nil, err
	}
	if full {
		return nil, validationError{{
			Loc:  []string{"path", "app_id"},
			Msg:  fmt.Sprintf("application has reached its limit of %d endpoints", s.maxEndpoints),
			Type: "value_error.limit",
		}}
	}
	ep, err := s.newEndpoint(p, app, in)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateEndpoint(r.Context(), ep); err != nil {
		return nil, uidTaken(err, "endpoint")
	}
	s.emitEndpointCreated(r, app, ep)
	return ep, nil
}

// endpointsFull reports whether app has its limit of endpoints
// (s.maxEndpoints), operational webhook endpoints included. Callers hold
// s.endpointCreate from this count to their insert, which serializes the
// two within this process; nodes creating endpoints of one application at
// the same instant may together pass the limit by a few.
func (s *server) endpointsFull(ctx context.Context, appID string) (bool, error) {
	existing, err := s.store.ListEndpoints(ctx, appID, store.Page{Limit: s.maxEndpoints})
	if err != nil {
		return false, err
	}
	return len(existing) >= s.maxEndpoints, nil
}

// newEndpoint makes, unsaved, the endpoint of app that a validated create
// body describes (endpointIn.apply), written by p now: with the body's
// custom headers, and its secret or else a new one. It fails when the
// headers together pass their limits (422).
func (s *server) newEndpoint(p *principal, app *hookrelay.Application, in *endpointIn) (*hookrelay.Endpoint, error) {
	now := s.now()
	ep := &hookrelay.Endpoint{
		ID:        hookrelay.NewID(hookrelay.PrefixEndpoint),
		AppID:     app.ID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	in.apply(ep)
	ep.NoteManualWrite(false, p.disabler(), now)
	if in.Headers.has() {
		h := endpointHeadersIn{Headers: in.Headers}
		if err := h.applyTo(ep, false); err != nil {
			return nil, err
		}
	}
	if in.Secret.has() {
		ep.Secret = normalizeSecret(in.Secret.V)
	} else {
		secret, err := newSecret()
		if err != nil {
			return nil, err
		}
		ep.Secret = secret
	}
	return ep, nil
}

// uidTaken is err, except that the store's ErrConflict on writing an
// endpoint (its uid is another's of the application) becomes 409 saying
// that an endpoint of the kind what names has this uid already.
func uidTaken(err error, what string) error {
	if errors.Is(err, hookrelay.ErrConflict) {
		return errConflict("an " + what + " with this uid already exists")
	}
	return err
}

// uidFromPath gives a PUT body that has no uid the path's endpoint_id as
// its uid, for the endpoint that the PUT creates when none has that ID or
// uid; an endpoint_id that cannot be a uid (checkEndpointUID) is 422 at
// path.endpoint_id.
func uidFromPath(r *http.Request, in *endpointIn) error {
	if in.UID.has() {
		return nil
	}
	id := r.PathValue("endpoint_id")
	if msg := checkEndpointUID(id); msg != "" {
		return validationError{{Loc: []string{"path", "endpoint_id"}, Msg: msg, Type: "value_error"}}
	}
	in.UID = opt[string]{Set: true, V: id}
	return nil
}

func (s *server) getEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEndpointOut(shapeOf(r))(*ep))
	return nil
}

// updateEndpoint is PUT: it replaces every field of EndpointUpdate (the uid
// only when the body has one, the delivery options only when the body has
// `options`), or creates the endpoint (201) with the body's uid, else the
// path's endpoint_id, as uid.
func (s *server) updateEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	in, err := s.readEndpoint(r, http.MethodPut)
	if err != nil {
		return err
	}
	before, ep, err := s.changeEndpointFields(r, p, app, "endpoint", in.apply)
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusNotFound {
		if err := uidFromPath(r, in); err != nil {
			return err
		}
		ep, err := s.insertEndpoint(r, p, app, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toEndpointOut(shapeOf(r))(*ep))
		return nil
	}
	if err != nil {
		return err
	}
	s.emitEndpointChanged(r, app, before, ep)
	writeJSON(w, http.StatusOK, toEndpointOut(shapeOf(r))(*ep))
	return nil
}

// patchEndpoint changes the fields present; null uid, rateLimit,
// filterTypes or channels removes them. A secret set here replaces the
// current one without a grace period (use rotate for that). `options` is
// merged as PATCH .../options does; a null `options` resets them all.
func (s *server) patchEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	in, err := s.readEndpoint(r, http.MethodPatch)
	if err != nil {
		return err
	}
	before, ep, err := s.changeEndpointFields(r, p, app, "endpoint", func(ep *hookrelay.Endpoint) {
		if in.URL.has() {
			ep.URL = in.URL.V
		}
		if in.Description.has() {
			ep.Description = in.Description.V
		}
		if in.Version.has() {
			ep.Version = in.Version.V
		}
		if in.RateLimit.Set {
			ep.RateLimit = in.RateLimit.ptr()
		}
		if in.UID.Set {
			ep.UID = in.UID.ptr()
		}
		if in.FilterTypes.Set {
			ep.FilterTypes = nonEmpty(in.FilterTypes.V)
		}
		if in.Channels.Set {
			ep.Channels = nonEmpty(in.Channels.V)
		}
		if in.Disabled.has() {
			ep.Disabled = in.Disabled.V
		}
		if in.Metadata.has() {
			ep.Metadata = in.Metadata.V
			if ep.Metadata == nil {
				ep.Metadata = map[string]string{}
			}
		}
		if in.Secret.has() {
			ep.Secret = normalizeSecret(in.Secret.V)
		}
		if in.Options.Set {
			in.Options.V.merge(&ep.Options)
			if in.Options.Null {
				ep.Options = hookrelay.EndpointOptions{}
			}
		}
	})
	if err != nil {
		return err
	}
	s.emitEndpointChanged(r, app, before, ep)
	writeJSON(w, http.StatusOK, toEndpointOut(shapeOf(r))(*ep))
	return nil
}

// changeEndpointFields is changeEndpoint for PUT and PATCH, whose change
// cannot fail but may move the endpoint to a uid another endpoint has (409,
// naming the endpoint as what: see uidTaken).
func (s *server) changeEndpointFields(r *http.Request, p *principal, app *hookrelay.Application, what string, change func(*hookrelay.Endpoint)) (before, after *hookrelay.Endpoint, err error) {
	before, after, err = s.changeEndpoint(r, p, app, func(ep *hookrelay.Endpoint) error {
		change(ep)
		return nil
	})
	return before, after, uidTaken(err, what)
}

// endpointWriteTries is how many times one request tries its change of an
// endpoint when other requests keep writing the endpoint between its read
// and its write.
const endpointWriteTries = 8

// endpointRetryPause bounds the random pause before the first redo; the
// bound doubles before each next one up to 16 times this, so that requests
// racing each other spread out (at most 126ms of pauses in all). Seven
// clients each writing one endpoint as fast as they can all get through
// this way (TestConcurrentEndpointWritesLoseNothing), where five tries left
// about one request in five answered 409.
const endpointRetryPause = 2 * time.Millisecond

// changeEndpoint reads the path's endpoint, applies change to it and
// writes it back, as one read-modify-write that no concurrent write can
// undo: the store writes only over the revision that was read
// (hookrelay.ErrStale otherwise), and then the whole change starts again
// from a fresh read, after a short random pause (endpointRetryPause).
// change may therefore run several times and must depend on nothing but
// the endpoint it is given and the request. A change that disables the
// endpoint records that p disabled it by hand, and one that enables it
// drops the reason it was disabled for (hookrelay.Endpoint.NoteManualWrite),
// in the same write. An error from change is
// returned as it is, with nothing written. After endpointWriteTries lost
// races the answer is 409 conflict; the endpoint then holds the other
// requests' changes and none of this one's. before is the endpoint as the
// successful try read it, after as it wrote it.
func (s *server) changeEndpoint(r *http.Request, p *principal, app *hookrelay.Application, change func(*hookrelay.Endpoint) error) (before, after *hookrelay.Endpoint, err error) {
	for try := 1; ; try++ {
		ep, err := s.endpoint(r, app)
		if err != nil {
			return nil, nil, err
		}
		read := *ep
		if err := change(ep); err != nil {
			return nil, nil, err
		}
		ep.UpdatedAt = s.now()
		ep.NoteManualWrite(read.Disabled, p.disabler(), ep.UpdatedAt)
		err = s.store.UpdateEndpoint(r.Context(), ep)
		switch {
		case err == nil:
			return &read, ep, nil
		case errors.Is(err, hookrelay.ErrNotFound):
			return nil, nil, errNotFound("endpoint not found") // deleted meanwhile
		case !errors.Is(err, hookrelay.ErrStale):
			return nil, nil, err
		case try == endpointWriteTries:
			return nil, nil, errEndpointRace()
		}
		pause := time.NewTimer(time.Duration(mrand.Int64N(int64(endpointRetryPause) << min(try-1, 4))))
		select {
		case <-pause.C:
		case <-r.Context().Done():
			pause.Stop()
			return nil, nil, r.Context().Err()
		}
	}
}

// errEndpointRace is the answer to a write of an endpoint that kept
// losing to concurrent writes of the same endpoint.
func errEndpointRace() error {
	return errConflict("the endpoint was changed by other requests at the same time; nothing was changed, retry")
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(r.Context(), app.ID, ep.ID); err != nil {
		return err
	}
	s.emitEndpointDeleted(r, app, ep)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getEndpointSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointSecretOut{Key: ep.Secret})
	return nil
}

// secretGrace is how long a rotated-out secret keeps signing unless the
// rotation names gracePeriodSeconds; maxSecretGrace bounds that (7 days).
const (
	secretGrace    = 24 * time.Hour
	maxSecretGrace = 7 * 24 * time.Hour
)

// endpointSecretRotateIn is EndpointSecretRotateIn and
// OperationalWebhookEndpointSecretIn.
type endpointSecretRotateIn struct {
	Key                opt[string] `json:"key"`
	GracePeriodSeconds opt[int64]  `json:"gracePeriodSeconds"`
}

// validate checks the body and returns how long the current secret keeps
// signing: gracePeriodSeconds (0 to 7 days; 0 retires it at once), or
// secretGrace when absent or null.
func (in *endpointSecretRotateIn) validate(c *checker) time.Duration {
	if in.Key.has() {
		c.check(checkSecret(in.Key.V), "key")
	}
	if !in.GracePeriodSeconds.has() {
		return secretGrace
	}
	if in.GracePeriodSeconds.V < 0 || in.GracePeriodSeconds.V > int64(maxSecretGrace/time.Second) {
		c.add(fmt.Sprintf("must be between 0 and %d seconds (7 days)", int64(maxSecretGrace/time.Second)), "gracePeriodSeconds")
		return 0
	}
	return time.Duration(in.GracePeriodSeconds.V) * time.Second
}

// readSecretRotation decodes and checks a rotation body and returns the
// change that rotates an endpoint's secret (rotateSecret): to the body's
// key, else a generated one; the current secret keeps signing for
// gracePeriodSeconds (default secretGrace).
func (s *server) readSecretRotation(r *http.Request) (func(*hookrelay.Endpoint) error, error) {
	var in endpointSecretRotateIn
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	var c checker
	grace := in.validate(&c)
	if err := c.err(); err != nil {
		return nil, err
	}
	next := ""
	if in.Key.has() {
		next = normalizeSecret(in.Key.V)
	} else {
		var err error
		if next, err = newSecret(); err != nil {
			return nil, err
		}
	}
	return func(ep *hookrelay.Endpoint) error {
		rotateSecret(ep, next, s.now(), grace)
		return nil
	}, nil
}

// rotateSecret makes next ep's current secret; the current one keeps
// signing for grace (not at all when grace is 0), and old secrets already
// expired are dropped.
func rotateSecret(ep *hookrelay.Endpoint, next string, now time.Time, grace time.Duration) {
	old := make([]hookrelay.OldSecret, 0, len(ep.OldSecrets)+1)
	for _, o := range ep.OldSecrets {
		if now.Before(o.ExpiresAt) {
			old = append(old, o)
		}
	}
	if grace > 0 {
		old = append(old, hookrelay.OldSecret{Secret: ep.Secret, ExpiresAt: now.Add(grace)})
	}
	ep.OldSecrets = old
	ep.Secret = next
}

// rotateEndpointSecret makes the body's key (or a generated one) current
// (readSecretRotation).
func (s *server) rotateEndpointSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	rotate, err := s.readSecretRotation(r)
	if err != nil {
		return err
	}
	_, ep, err := s.changeEndpoint(r, p, app, rotate)
	if err != nil {
		return err
	}
	s.emitEndpointUpdated(r, app, ep)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) endpointStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	since := q.timestamp("since")
	until := q.timestamp("until")
	if err := q.err(); err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	st, err := s.store.EndpointStats(r.Context(), app.ID, ep.ID, since, until)
	if err != nil {
		return err
	}
	out := endpointStatsOut{Success: st.Success, Pending: st.Pending, Sending: st.Sending, Fail: st.Fail}
	if shapeOf(r) != shapeV1_44 {
		out.Canceled = new(int64)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type eventExampleIn struct {
	EventType    opt[string] `json:"eventType"`
	ExampleIndex opt[int]    `json:"exampleIndex"`
}

// sendExample is POST .../send-example: it publishes the event type's
// example schemas["1"].examples[exampleIndex] to this endpoint alone.
func (s *server) sendExample(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in eventExampleIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	if c.required(in.EventType.Set, in.EventType.Null, "eventType") {
		c.check(checkName(in.EventType.V, 256), "eventType")
	}
	c.notNull(in.ExampleIndex.Set, in.ExampleIndex.Null, "exampleIndex")
	if in.ExampleIndex.V < 0 {
		c.add("must be at least 0", "exampleIndex")
	}
	if err := c.err(); err != nil {
		return err
	}
	return s.sendToEndpoint(w, r, p, app, in.EventType.V, func(et *hookrelay.EventType) ([]byte, error) {
		return examplePayload(et, in.ExampleIndex.V)
	})
}

// sendToEndpoint publishes, as an event of the catalog's type eventType, the
// payload that payloadOf gives for that type, to the path's endpoint alone,
// and answers 202 with the message: the end of send-example and send-test.
func (s *server) sendToEndpoint(w http.ResponseWriter, r *http.Request, p *principal, app *hookrelay.Application,
	eventType string, payloadOf func(*hookrelay.EventType) ([]byte, error)) error {
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	et, err := s.store.GetEventType(r.Context(), p.envID, eventType)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return invalid("event type not found", "body", "eventType")
	}
	if err != nil {
		return err
	}
	payload, err := payloadOf(et)
	if err != nil {
		return err
	}
	msg := &hookrelay.Message{
		ID:        hookrelay.NewID(hookrelay.PrefixMessage),
		AppID:     app.ID,
		EventType: et.Name,
		Payload:   payload,
		CreatedAt: s.now(),
	}
	if _, err := s.publish(r.Context(), app, store.CreateMessageParams{Message: msg, OnlyEndpointID: ep.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toMessageOut(shapeOf(r), *msg, true))
	return nil
}

// testEventIn is the body of send-test.
type testEventIn struct {
	EventType opt[string]          `json:"eventType"`
	Payload   opt[json.RawMessage] `json:"payload"`
	// unknown are the body's keys that name no field, sorted: the route
	// is hookrelay's own, so each is refused rather than ignored.
	unknown []string
}

// UnmarshalJSON decodes the fields as encoding/json does and notes the
// keys that match none.
func (in *testEventIn) UnmarshalJSON(b []byte) error {
	type fields testEventIn // without this method
	var f fields
	unknown, err := decodeKnown(b, &f, "eventType", "payload")
	if err != nil {
		return err
	}
	*in = testEventIn(f)
	in.unknown = unknown
	return nil
}

// sendTest is POST .../send-test, a hookrelay extension for the portal's
// testing page: it publishes payload (a JSON object, as given) as an event
// of eventType (a type of the catalog) to this endpoint alone, as
// send-example does with the type's example. 202 with the message. Any
// other key of the body is 422.
func (s *server) sendTest(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in testEventIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	if c.required(in.EventType.Set, in.EventType.Null, "eventType") {
		c.check(checkName(in.EventType.V, 256), "eventType")
	}
	if c.required(in.Payload.Set, in.Payload.Null, "payload") && !isJSONObject(in.Payload.V) {
		c.errs = append(c.errs, fieldError{Loc: []string{"body", "payload"}, Msg: "must be a JSON object", Type: "type_error"})
	}
	for _, k := range in.unknown {
		c.add("is not a field of send-test; it takes eventType and payload", k)
	}
	if err := c.err(); err != nil {
		return err
	}
	return s.sendToEndpoint(w, r, p, app, in.EventType.V, func(*hookrelay.EventType) ([]byte, error) {
		return []byte(in.Payload.V), nil
	})
}

// examplePayload is the payload send-example publishes for et: the example
// at schemas["1"].examples[i] when there is one, else (for index 0) one
// made from the schema at schemas["1"] by exampleFromSchema. When neither
// is possible it is 422 saying what is missing.
func examplePayload(et *hookrelay.EventType, i int) ([]byte, error) {
	if payload, ok := exampleOf(et.Schemas, i); ok {
		return payload, nil
	}
	var versions map[string]json.RawMessage
	_ = json.Unmarshal(et.Schemas, &versions)
	schema, has := versions["1"]
	switch {
	case i > 0:
		return nil, invalid(fmt.Sprintf("event type %q has no example object at schemas[\"1\"].examples[%d]; only index 0 can be generated from its schema", et.Name, i), "body", "exampleIndex")
	case !has || string(schema) == "null":
		return nil, invalid(fmt.Sprintf("event type %q has neither an example (schemas[\"1\"].examples) nor a schema (schemas[\"1\"]) to generate one from; add either to the event type", et.Name), "body", "eventType")
	}
	payload, err := exampleFromSchema(schema)
	if err != nil {
		return nil, invalid(fmt.Sprintf("event type %q has no example and none can be generated from its schema: %v", et.Name, err), "body", "eventType")
	}
	if len(payload) == 0 || payload[0] != '{' {
		return nil, invalid(fmt.Sprintf("event type %q has no example, and its schema describes %s, not the JSON object a message payload must be", et.Name, payload), "body", "eventType")
	}
	return payload, nil
}

// exampleOf returns the raw bytes of schemas["1"].examples[i] when it is a
// JSON object.
func exampleOf(schemas json.RawMessage, i int) ([]byte, bool) {
	var versions map[string]json.RawMessage
	if len(schemas) == 0 || json.Unmarshal(schemas, &versions) != nil {
		return nil, false
	}
	var schema struct {
		Examples []json.RawMessage `json:"examples"`
	}
	if v1, ok := versions["1"]; !ok || json.Unmarshal(v1, &schema) != nil {
		return nil, false
	}
	if i >= len(schema.Examples) {
		return nil, false
	}
	ex := schema.Examples[i]
	if len(ex) == 0 || ex[0] != '{' {
		return nil, false
	}
	return []byte(ex), true
}

// checkURLPolicy applies the server's URL policy (such as https-only) to an
// endpoint URL in a body that is otherwise valid.
func (s *server) checkURLPolicy(c *checker, u opt[string]) {
	if s.urlPolicy == nil || !u.has() || checkURL(u.V) != "" {
		return
	}
	parsed, err := url.Parse(u.V)
	if err != nil {
		return
	}
	if err := s.urlPolicy(parsed); err != nil {
		c.add(err.Error(), "url")
	}
}
