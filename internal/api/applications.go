package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// applicationIn is Svix's ApplicationIn. throttleRate is the newer name
// of rateLimit (see alias); validate leaves the value in RateLimit.
type applicationIn struct {
	Name         opt[string]            `json:"name"`
	RateLimit    opt[int]               `json:"rateLimit"`
	ThrottleRate opt[int]               `json:"throttleRate"`
	UID          opt[string]            `json:"uid"`
	Metadata     opt[map[string]string] `json:"metadata"`
}

// checkAppUID validates an application's uid: a uid (see checkUID) that
// does not start with "app_". Applications are looked up by ID or uid
// alike, so a uid shaped like an ID could stand for another application;
// Svix refuses these uids too.
func checkAppUID(s string) string { return checkUIDPrefix(s, hookrelay.PrefixApp, "application") }

// checkUIDPrefix is checkUID for the uid of an object whose IDs start with
// prefix: the uid must not start with it.
func checkUIDPrefix(s, prefix, object string) string {
	if msg := checkUID(s); msg != "" {
		return msg
	}
	if strings.HasPrefix(s, prefix) {
		return fmt.Sprintf("must not start with %q, the prefix of %s IDs", prefix, object)
	}
	return ""
}

// validate checks the body; prefix locates it inside an enclosing body.
func (in *applicationIn) validate(c *checker, prefix ...string) {
	loc := func(f string) []string { return append(append([]string{}, prefix...), f) }
	if c.required(in.Name.Set, in.Name.Null, loc("name")...) && in.Name.V == "" {
		c.add("must not be empty", loc("name")...)
	}
	if in.RateLimit.has() {
		c.check(checkRateLimit(in.RateLimit.V), loc("rateLimit")...)
	}
	if in.ThrottleRate.has() {
		c.check(checkRateLimit(in.ThrottleRate.V), loc("throttleRate")...)
	}
	in.RateLimit = alias(c, in.ThrottleRate, "throttleRate", in.RateLimit, "rateLimit", prefix...)
	if in.UID.has() {
		c.check(checkAppUID(in.UID.V), loc("uid")...)
	}
	c.notNull(in.Metadata.Set, in.Metadata.Null, loc("metadata")...)
}

func (in *applicationIn) metadata() map[string]string {
	if in.Metadata.V == nil {
		return map[string]string{}
	}
	return in.Metadata.V
}

type applicationPatch struct {
	Name         opt[string]            `json:"name"`
	RateLimit    opt[int]               `json:"rateLimit"`
	ThrottleRate opt[int]               `json:"throttleRate"`
	UID          opt[string]            `json:"uid"`
	Metadata     opt[map[string]string] `json:"metadata"`
}

func (s *server) listApps(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	page := q.page(true)
	if err := q.err(); err != nil {
		return err
	}
	list := func(page store.Page) ([]hookrelay.Application, error) {
		return s.store.ListApplications(r.Context(), p.envID, page)
	}
	return listPage(w, page, hookrelay.PrefixApp, list, func(a hookrelay.Application) string { return a.ID }, toApplicationOut(shapeOf(r)))
}

// createApp is POST /api/v1/app. With get_if_exists=true an application
// with the body's uid is returned (200) instead of a conflict.
func (s *server) createApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	getIfExists := q.boolean("get_if_exists", false)
	if err := q.err(); err != nil {
		return err
	}
	var in applicationIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	in.validate(&c)
	if err := c.err(); err != nil {
		return err
	}
	if getIfExists && in.UID.has() {
		app, err := s.store.GetApplication(r.Context(), p.envID, in.UID.V)
		if err == nil && app.UID != nil && *app.UID == in.UID.V {
			writeJSON(w, http.StatusOK, toApplicationOut(shapeOf(r))(*app))
			return nil
		}
		if err != nil && !errors.Is(err, hookrelay.ErrNotFound) {
			return err
		}
	}
	app := s.newApp(p, &in, in.UID.ptr())
	err := s.store.CreateApplication(r.Context(), app)
	if errors.Is(err, hookrelay.ErrConflict) && getIfExists {
		// Created concurrently: return the winner.
		existing, gerr := s.store.GetApplication(r.Context(), p.envID, in.UID.V)
		if gerr == nil {
			writeJSON(w, http.StatusOK, toApplicationOut(shapeOf(r))(*existing))
			return nil
		}
	}
	if errors.Is(err, hookrelay.ErrConflict) {
		return errConflict("an application with this uid already exists")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toApplicationOut(shapeOf(r))(*app))
	return nil
}

func (s *server) newApp(p *principal, in *applicationIn, uid *string) *hookrelay.Application {
	now := s.now()
	return &hookrelay.Application{
		ID:        hookrelay.NewID(hookrelay.PrefixApp),
		EnvID:     p.envID,
		UID:       uid,
		Name:      in.Name.V,
		RateLimit: in.RateLimit.ptr(),
		Metadata:  in.metadata(),
		CreatedAt: now,
		UpdatedAt: now,
	}
}

// appOrCreate resolves the path's app; when it does not exist and the body
// carries an `application`, it is created with the path's app_id as its uid
// (422 when the application names another uid). in must have been
// validated.
func (s *server) appOrCreate(r *http.Request, p *principal, in opt[applicationIn]) (*hookrelay.Application, error) {
	app, err := s.app(r, p)
	var ae *apiError
	if err == nil || !errors.As(err, &ae) || ae.status != http.StatusNotFound || !in.has() || p.kind == store.TokenPortal {
		return app, err
	}
	uid := r.PathValue("app_id")
	if msg := checkAppUID(uid); msg != "" {
		return nil, validationError{{Loc: []string{"path", "app_id"}, Msg: msg, Type: "value_error"}}
	}
	if in.V.UID.has() && in.V.UID.V != uid {
		// The application would get the path's uid, not this one.
		return nil, validationError{{Loc: []string{"body", "application", "uid"}, Type: "value_error",
			Msg: fmt.Sprintf("must be the path's app_id (%q) or be left out: a new application takes the path's app_id as its uid", uid)}}
	}
	app = s.newApp(p, &in.V, &uid)
	err = s.store.CreateApplication(r.Context(), app)
	if errors.Is(err, hookrelay.ErrConflict) {
		// Created concurrently.
		return s.app(r, p)
	}
	if err != nil {
		return nil, err
	}
	return app, nil
}

// publishApp is appOrCreate for publishing, answered from s.apps when it
// resolved the same {app_id} a moment ago; cached reports whether it was.
func (s *server) publishApp(r *http.Request, p *principal, in opt[applicationIn]) (app *hookrelay.Application, cached bool, err error) {
	idOrUID := r.PathValue("app_id")
	if app := s.apps.get(p.envID, idOrUID, s.now()); app != nil {
		if !p.reaches(app) {
			return nil, false, errNotFound("application not found")
		}
		return app, true, nil
	}
	app, err = s.appOrCreate(r, p, in)
	if err != nil {
		return nil, false, err
	}
	s.apps.put(p.envID, idOrUID, app, s.now())
	return app, false, nil
}

func (s *server) getApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toApplicationOut(shapeOf(r))(*app))
	return nil
}

// updateApp is PUT /api/v1/app/{app_id}: it replaces name, rateLimit and
// metadata of an existing application (its uid only when the body has one),
// or creates the application (201) with the body's uid, else the path's
// app_id, as uid.
func (s *server) updateApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in applicationIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	in.validate(&c)
	if err := c.err(); err != nil {
		return err
	}
	app, err := s.app(r, p)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != http.StatusNotFound {
			return err
		}
		uid := in.UID.ptr()
		if uid == nil {
			id := r.PathValue("app_id")
			if msg := checkAppUID(id); msg != "" {
				return validationError{{Loc: []string{"path", "app_id"}, Msg: msg, Type: "value_error"}}
			}
			uid = &id
		}
		app = s.newApp(p, &in, uid)
		if err := s.store.CreateApplication(r.Context(), app); err != nil {
			if errors.Is(err, hookrelay.ErrConflict) {
				return errConflict("an application with this uid already exists")
			}
			return err
		}
		writeJSON(w, http.StatusCreated, toApplicationOut(shapeOf(r))(*app))
		return nil
	}
	app.Name = in.Name.V
	app.RateLimit = in.RateLimit.ptr()
	app.Metadata = in.metadata()
	if in.UID.has() {
		app.UID = in.UID.ptr()
	}
	return s.saveApp(w, r, app)
}

// patchApp is PATCH /api/v1/app/{app_id}: fields present are changed; a
// null uid or rateLimit removes it.
func (s *server) patchApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in applicationPatch
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	c.notNull(in.Name.Set, in.Name.Null, "name")
	if in.Name.has() && in.Name.V == "" {
		c.add("must not be empty", "name")
	}
	if in.RateLimit.has() {
		c.check(checkRateLimit(in.RateLimit.V), "rateLimit")
	}
	if in.ThrottleRate.has() {
		c.check(checkRateLimit(in.ThrottleRate.V), "throttleRate")
	}
	in.RateLimit = alias(&c, in.ThrottleRate, "throttleRate", in.RateLimit, "rateLimit")
	if in.UID.has() {
		c.check(checkAppUID(in.UID.V), "uid")
	}
	c.notNull(in.Metadata.Set, in.Metadata.Null, "metadata")
	if err := c.err(); err != nil {
		return err
	}
	if in.Name.has() {
		app.Name = in.Name.V
	}
	if in.RateLimit.Set {
		app.RateLimit = in.RateLimit.ptr()
	}
	if in.UID.Set {
		app.UID = in.UID.ptr()
	}
	if in.Metadata.has() {
		app.Metadata = in.Metadata.V
		if app.Metadata == nil {
			app.Metadata = map[string]string{}
		}
	}
	return s.saveApp(w, r, app)
}

func (s *server) saveApp(w http.ResponseWriter, r *http.Request, app *hookrelay.Application) error {
	app.UpdatedAt = s.now()
	err := s.store.UpdateApplication(r.Context(), app)
	s.apps.reset()
	if err != nil {
		if errors.Is(err, hookrelay.ErrConflict) {
			return errConflict("an application with this uid already exists")
		}
		return err
	}
	writeJSON(w, http.StatusOK, toApplicationOut(shapeOf(r))(*app))
	return nil
}

// deleteApp removes the application, everything under it and its portal
// tokens.
func (s *server) deleteApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAppTokens(r.Context(), app.ID); err != nil && !errors.Is(err, hookrelay.ErrNotFound) {
		return err
	}
	err = s.store.DeleteApplication(r.Context(), p.envID, app.ID)
	s.apps.reset()
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
