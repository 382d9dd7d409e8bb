package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var environmentTests = []testCase{
	{"default environment exists", func(h *harness) {
		env, err := h.s.GetEnvironmentByName(h.ctx, "default")
		h.must(err, "get default environment")
		h.equal("default environment ID", env.ID, hookrelay.DefaultEnvironment)
	}},
	{"create and get by name", func(h *harness) {
		env := &hookrelay.Environment{Name: "sandbox", CreatedAt: t0}
		h.must(h.s.CreateEnvironment(h.ctx, env), "create environment")
		got, err := h.s.GetEnvironmentByName(h.ctx, "sandbox")
		h.must(err, "get environment")
		h.equal("environment", got, env)
	}},
	{"taken name is a conflict", func(h *harness) {
		h.must(h.s.CreateEnvironment(h.ctx, &hookrelay.Environment{Name: "live", CreatedAt: t0}), "create environment")
		err := h.s.CreateEnvironment(h.ctx, &hookrelay.Environment{Name: "live", CreatedAt: t0})
		h.wantErr(err, hookrelay.ErrConflict, "create environment with a taken name")
	}},
	{"unknown name is not found", func(h *harness) {
		_, err := h.s.GetEnvironmentByName(h.ctx, "nope")
		h.wantErr(err, hookrelay.ErrNotFound, "get unknown environment")
	}},
	{"ping", func(h *harness) {
		h.must(h.s.Ping(h.ctx), "ping")
	}},
}

func hashOf(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

var tokenTests = []testCase{
	{"create and get by hash", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		admin := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("admin"), CreatedAt: t0}
		portal := &store.Token{
			EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID,
			Hash: hashOf("portal"), ExpiresAt: ptr(t0.Add(time.Hour)), CreatedAt: t0,
		}
		for _, tok := range []*store.Token{admin, portal} {
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
			if tok.ID == "" {
				h.Fatal("create token: no ID set")
			}
			got, err := h.s.GetTokenByHash(h.ctx, tok.Hash)
			h.must(err, "get token")
			h.equal("token", got, tok)
		}
	}},
	{"capabilities are kept with the token", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		for i, caps := range []hookrelay.PortalCapabilities{
			hookrelay.AllPortalCapabilities,
			hookrelay.ReadOnlyPortalCapabilities,
			hookrelay.CapViewBase,
			hookrelay.CapViewBase | hookrelay.CapManageEndpoint,
			hookrelay.CapViewBase | hookrelay.CapManageEndpointSecret | hookrelay.CapCreateAttempts,
			hookrelay.CapViewBase | hookrelay.CapManageTransformations,
		} {
			tok := &store.Token{
				EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID, Capabilities: caps,
				Hash: hashOf(fmt.Sprint("caps", i)), ExpiresAt: ptr(t0.Add(time.Hour)), CreatedAt: t0,
			}
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
			got, err := h.s.GetTokenByHash(h.ctx, tok.Hash)
			h.must(err, "get token")
			h.equal("token of "+caps.String(), got, tok)
		}
	}},
	{"expired token is still returned", func(h *harness) {
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("old"),
			ExpiresAt: ptr(t0.Add(-time.Hour)), CreatedAt: t0.Add(-2 * time.Hour)}
		h.must(h.s.CreateToken(h.ctx, tok), "create token")
		got, err := h.s.GetTokenByHash(h.ctx, hashOf("old"))
		h.must(err, "get expired token")
		h.equal("expired token", got, tok)
	}},
	{"unknown hash is not found", func(h *harness) {
		_, err := h.s.GetTokenByHash(h.ctx, hashOf("nope"))
		h.wantErr(err, hookrelay.ErrNotFound, "get unknown token")
	}},
	{"taken hash is a conflict", func(h *harness) {
		h.must(h.s.CreateToken(h.ctx, &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("x"), CreatedAt: t0}), "create token")
		err := h.s.CreateToken(h.ctx, &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("x"), CreatedAt: t0})
		h.wantErr(err, hookrelay.ErrConflict, "create token with a taken hash")
		n, err := h.s.CountTokens(h.ctx, hookrelay.DefaultEnvironment, store.TokenAdmin)
		h.must(err, "count tokens")
		h.equal("admin tokens", n, 1)
	}},
	{"count by environment and kind", func(h *harness) {
		env := h.newEnv()
		app := h.newApp(hookrelay.DefaultEnvironment)
		for i, tok := range []*store.Token{
			{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin},
			{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin},
			{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID},
			{EnvID: env.ID, Kind: store.TokenAdmin},
		} {
			tok.Hash = hashOf(string(rune('a' + i)))
			tok.CreatedAt = t0
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
		}
		for _, c := range []struct {
			env  string
			kind store.TokenKind
			want int
		}{
			{hookrelay.DefaultEnvironment, store.TokenAdmin, 2},
			{hookrelay.DefaultEnvironment, store.TokenPortal, 1},
			{env.ID, store.TokenAdmin, 1},
			{env.ID, store.TokenPortal, 0},
		} {
			n, err := h.s.CountTokens(h.ctx, c.env, c.kind)
			h.must(err, "count tokens")
			h.equal("tokens of "+c.env+" "+string(c.kind), n, c.want)
		}
	}},
	{"list by environment and kind, oldest first", func(h *harness) {
		env := h.newEnv()
		app := h.newApp(hookrelay.DefaultEnvironment)
		newer := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("newer"), CreatedAt: t0.Add(time.Hour)}
		older := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("older"), CreatedAt: t0,
			ExpiresAt: ptr(t0.Add(time.Minute))}
		portal := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID, Hash: hashOf("portal"), CreatedAt: t0}
		other := &store.Token{EnvID: env.ID, Kind: store.TokenAdmin, Hash: hashOf("other"), CreatedAt: t0}
		for _, tok := range []*store.Token{newer, older, portal, other} {
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
		}
		for _, c := range []struct {
			env  string
			kind store.TokenKind
			want []store.Token
		}{
			{hookrelay.DefaultEnvironment, store.TokenAdmin, []store.Token{*older, *newer}},
			{hookrelay.DefaultEnvironment, store.TokenPortal, []store.Token{*portal}},
			{env.ID, store.TokenAdmin, []store.Token{*other}},
			{env.ID, store.TokenPortal, nil},
		} {
			got, err := h.s.ListTokens(h.ctx, c.env, c.kind)
			h.must(err, "list tokens")
			if len(got) == 0 {
				got = nil
			}
			h.equal("tokens of "+c.env+" "+string(c.kind), got, c.want)
		}
	}},
	{"delete", func(h *harness) {
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: hashOf("d"), CreatedAt: t0}
		h.must(h.s.CreateToken(h.ctx, tok), "create token")
		h.must(h.s.DeleteToken(h.ctx, tok.ID), "delete token")
		_, err := h.s.GetTokenByHash(h.ctx, tok.Hash)
		h.wantErr(err, hookrelay.ErrNotFound, "get deleted token")
		h.wantErr(h.s.DeleteToken(h.ctx, tok.ID), hookrelay.ErrNotFound, "delete deleted token")
	}},
	{"delete app tokens removes only that app's portal tokens", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		toks := map[string]*store.Token{
			"a1":    {Kind: store.TokenPortal, AppID: a.ID},
			"a2":    {Kind: store.TokenPortal, AppID: a.ID},
			"b":     {Kind: store.TokenPortal, AppID: b.ID},
			"admin": {Kind: store.TokenAdmin},
		}
		for name, tok := range toks {
			tok.EnvID, tok.Hash, tok.CreatedAt = hookrelay.DefaultEnvironment, hashOf(name), t0
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
		}
		h.must(h.s.DeleteAppTokens(h.ctx, a.ID), "delete app tokens")
		for name, wantGone := range map[string]bool{"a1": true, "a2": true, "b": false, "admin": false} {
			_, err := h.s.GetTokenByHash(h.ctx, hashOf(name))
			if wantGone {
				h.wantErr(err, hookrelay.ErrNotFound, "get token "+name)
			} else {
				h.must(err, "get token "+name)
			}
		}
	}},
}

var applicationTests = []testCase{
	{"create and get by ID and uid", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) {
			a.UID = ptr("acme")
			a.RateLimit = ptr(100)
			a.Metadata = map[string]string{"plan": "pro"}
		})
		for _, key := range []string{app.ID, "acme"} {
			got, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, key)
			h.must(err, "get application "+key)
			h.equal("application by "+key, got, app)
		}
	}},
	{"optional fields round trip empty", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		got, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID)
		h.must(err, "get application")
		h.equal("application", got, app)
		if got.UID != nil || got.RateLimit != nil {
			h.Fatalf("unset uid and rate limit read back as %v, %v", got.UID, got.RateLimit)
		}
	}},
	{"times keep microseconds", func(h *harness) {
		at := t0.Add(123456 * time.Microsecond)
		app := h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.CreatedAt, a.UpdatedAt = at, at })
		got, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID)
		h.must(err, "get application")
		h.equal("created at", got.CreatedAt, at)
		if got.CreatedAt.Location() != time.UTC {
			h.Fatalf("created at in %v, want UTC", got.CreatedAt.Location())
		}
	}},
	{"other environment is not found", func(h *harness) {
		env := h.newEnv()
		app := h.newApp(env.ID, func(a *hookrelay.Application) { a.UID = ptr("acme") })
		for _, key := range []string{app.ID, "acme"} {
			_, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, key)
			h.wantErr(err, hookrelay.ErrNotFound, "get application of another environment by "+key)
		}
		h.wantErr(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID), hookrelay.ErrNotFound, "delete from another environment")
		app.Name = "renamed"
		app.EnvID = hookrelay.DefaultEnvironment
		h.wantErr(h.s.UpdateApplication(h.ctx, app), hookrelay.ErrNotFound, "update from another environment")
		got, err := h.s.GetApplication(h.ctx, env.ID, "acme")
		h.must(err, "get application")
		if got.Name == "renamed" {
			h.Fatal("update from another environment changed the application")
		}
	}},
	{"missing environment is not found", func(h *harness) {
		err := h.s.CreateApplication(h.ctx, &hookrelay.Application{EnvID: "env_nope", Name: "x", CreatedAt: t0, UpdatedAt: t0})
		h.wantErr(err, hookrelay.ErrNotFound, "create application in a missing environment")
	}},
	{"taken uid is a conflict and stores nothing", func(h *harness) {
		h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.UID = ptr("acme") })
		err := h.s.CreateApplication(h.ctx, &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, UID: ptr("acme"), Name: "dup", CreatedAt: t0, UpdatedAt: t0})
		h.wantErr(err, hookrelay.ErrConflict, "create application with a taken uid")
		apps, err := h.s.ListApplications(h.ctx, hookrelay.DefaultEnvironment, store.Page{Limit: 10})
		h.must(err, "list applications")
		h.equal("applications", len(apps), 1)
		// The same uid in another environment is free.
		env := h.newEnv()
		h.newApp(env.ID, func(a *hookrelay.Application) { a.UID = ptr("acme") })
	}},
	{"update", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.UID = ptr("old") })
		app.Name = "New name"
		app.UID = ptr("new")
		app.RateLimit = ptr(7)
		app.Metadata = map[string]string{"k": "v"}
		app.UpdatedAt = t0.Add(time.Hour)
		h.must(h.s.UpdateApplication(h.ctx, app), "update application")
		got, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, "new")
		h.must(err, "get application by new uid")
		h.equal("updated application", got, app)
		_, err = h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, "old")
		h.wantErr(err, hookrelay.ErrNotFound, "get application by old uid")
	}},
	{"update to a taken uid is a conflict", func(h *harness) {
		h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.UID = ptr("one") })
		b := h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.UID = ptr("two") })
		b.UID = ptr("one")
		h.wantErr(h.s.UpdateApplication(h.ctx, b), hookrelay.ErrConflict, "update to a taken uid")
		got, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, b.ID)
		h.must(err, "get application")
		h.equal("uid", *got.UID, "two")
	}},
	{"update of a missing application is not found", func(h *harness) {
		err := h.s.UpdateApplication(h.ctx, &hookrelay.Application{ID: "app_nope", EnvID: hookrelay.DefaultEnvironment, Name: "x"})
		h.wantErr(err, hookrelay.ErrNotFound, "update missing application")
	}},
	{"delete", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.must(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID), "delete application")
		_, err := h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get deleted application")
		h.wantErr(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID), hookrelay.ErrNotFound, "delete deleted application")
	}},
	{"list pages in both orders", func(h *harness) {
		var want []string
		for range 7 {
			want = append(want, h.newApp(hookrelay.DefaultEnvironment).ID)
		}
		h.newApp(h.newEnv().ID) // another environment's application is not listed
		key := func(a hookrelay.Application) string { return a.ID }
		for _, order := range []store.Order{store.Ascending, store.Descending} {
			got := paginate(h, 3, key, func(iter string) ([]hookrelay.Application, error) {
				return h.s.ListApplications(h.ctx, hookrelay.DefaultEnvironment, store.Page{Limit: 3, Iterator: iter, Order: order})
			})
			exp := want
			if order == store.Descending {
				exp = reversed(want)
			}
			h.equal("listed applications", ids(got, key), exp)
		}
	}},
}

var eventTypeTests = []testCase{
	{"create and get", func(h *harness) {
		et := &hookrelay.EventType{
			EnvID: hookrelay.DefaultEnvironment, Name: "call.completed", Description: "A call ended",
			Deprecated: true, Schemas: json.RawMessage(`{"1":{"type":"object"}}`),
			FeatureFlag: ptr("beta"), GroupName: ptr("call"), CreatedAt: t0, UpdatedAt: t0,
		}
		h.must(h.s.CreateEventType(h.ctx, et), "create event type")
		got, err := h.s.GetEventType(h.ctx, hookrelay.DefaultEnvironment, "call.completed")
		h.must(err, "get event type")
		h.equal("event type", got, et)
		plain := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: "plain", CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateEventType(h.ctx, plain), "create event type")
		got, err = h.s.GetEventType(h.ctx, hookrelay.DefaultEnvironment, "plain")
		h.must(err, "get event type")
		h.equal("plain event type", got, plain)
		if got.Schemas != nil || got.FeatureFlag != nil || got.GroupName != nil {
			h.Fatalf("unset fields read back set: %+v", got)
		}
	}},
	{"taken name is a conflict, other environment is separate", func(h *harness) {
		et := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: "a.b", Description: "first", CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateEventType(h.ctx, et), "create event type")
		dup := *et
		dup.Description = "second"
		h.wantErr(h.s.CreateEventType(h.ctx, &dup), hookrelay.ErrConflict, "create taken event type")
		got, err := h.s.GetEventType(h.ctx, hookrelay.DefaultEnvironment, "a.b")
		h.must(err, "get event type")
		h.equal("description", got.Description, "first")

		env := h.newEnv()
		_, err = h.s.GetEventType(h.ctx, env.ID, "a.b")
		h.wantErr(err, hookrelay.ErrNotFound, "get event type of another environment")
		other := *et
		other.EnvID = env.ID
		h.must(h.s.CreateEventType(h.ctx, &other), "create same name in another environment")
	}},
	{"update", func(h *harness) {
		et := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: "a.b", CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateEventType(h.ctx, et), "create event type")
		et.Description = "changed"
		et.Archived = true
		et.Schemas = json.RawMessage(`{"1":{}}`)
		et.GroupName = ptr("g")
		et.UpdatedAt = t0.Add(time.Minute)
		h.must(h.s.UpdateEventType(h.ctx, et), "update event type")
		got, err := h.s.GetEventType(h.ctx, hookrelay.DefaultEnvironment, "a.b")
		h.must(err, "get event type")
		h.equal("updated event type", got, et)

		missing := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: "nope", UpdatedAt: t0}
		h.wantErr(h.s.UpdateEventType(h.ctx, missing), hookrelay.ErrNotFound, "update missing event type")
	}},
	{"delete", func(h *harness) {
		et := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: "a.b", CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateEventType(h.ctx, et), "create event type")
		env := h.newEnv()
		h.wantErr(h.s.DeleteEventType(h.ctx, env.ID, "a.b"), hookrelay.ErrNotFound, "delete from another environment")
		h.must(h.s.DeleteEventType(h.ctx, hookrelay.DefaultEnvironment, "a.b"), "delete event type")
		_, err := h.s.GetEventType(h.ctx, hookrelay.DefaultEnvironment, "a.b")
		h.wantErr(err, hookrelay.ErrNotFound, "get deleted event type")
		h.wantErr(h.s.DeleteEventType(h.ctx, hookrelay.DefaultEnvironment, "a.b"), hookrelay.ErrNotFound, "delete deleted event type")
	}},
	{"list by name, archived only when asked", func(h *harness) {
		names := []string{"b.one", "a.two", "c.three", "a.one", "d.archived"}
		for _, n := range names {
			et := &hookrelay.EventType{EnvID: hookrelay.DefaultEnvironment, Name: n, Archived: n == "d.archived", CreatedAt: t0, UpdatedAt: t0}
			h.must(h.s.CreateEventType(h.ctx, et), "create event type")
		}
		other := &hookrelay.EventType{EnvID: h.newEnv().ID, Name: "a.zero", CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateEventType(h.ctx, other), "create event type in another environment")
		key := func(et hookrelay.EventType) string { return et.Name }
		for _, c := range []struct {
			archived bool
			order    store.Order
			want     []string
		}{
			{false, store.Ascending, []string{"a.one", "a.two", "b.one", "c.three"}},
			{false, store.Descending, []string{"c.three", "b.one", "a.two", "a.one"}},
			{true, store.Ascending, []string{"a.one", "a.two", "b.one", "c.three", "d.archived"}},
		} {
			got := paginate(h, 2, key, func(iter string) ([]hookrelay.EventType, error) {
				return h.s.ListEventTypes(h.ctx, hookrelay.DefaultEnvironment, c.archived, store.Page{Limit: 2, Iterator: iter, Order: c.order})
			})
			h.equal("event types", ids(got, key), c.want)
		}
	}},
}

// fullEndpoint sets every optional field of an endpoint.
func fullEndpoint(e *hookrelay.Endpoint) {
	e.UID = ptr("primary")
	e.Description = "Primary receiver"
	e.Version = 3
	e.RateLimit = ptr(50)
	e.FilterTypes = []string{"call.completed", "contact.*"}
	e.Channels = []string{"agent-1", "agent-2"}
	e.Metadata = map[string]string{"team": "voice"}
	e.OldSecrets = []hookrelay.OldSecret{{Secret: "whsec_" + "B" + e.Secret[7:], ExpiresAt: t0.Add(24 * time.Hour)}}
	e.Headers = map[string]string{"X-Webhook-Token": "s3cret", "X-Env": "prod"}
	e.Sensitive = []string{"X-Webhook-Token"}
	e.Options = hookrelay.EndpointOptions{
		Method: "PUT", TimeoutSeconds: 10, MaxInFlight: 4,
		RetrySchedule: []time.Duration{time.Second, 5 * time.Second, 25 * time.Second, 90 * time.Minute},
	}
}

var endpointTests = []testCase{
	{"create and get by ID and uid", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, fullEndpoint)
		for _, key := range []string{ep.ID, "primary"} {
			got, err := h.s.GetEndpoint(h.ctx, app.ID, key)
			h.must(err, "get endpoint "+key)
			h.equal("endpoint by "+key, got, ep)
		}
	}},
	{"unset fields round trip unset", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("endpoint", got, ep)
		if got.UID != nil || got.RateLimit != nil || got.FilterTypes != nil || got.Channels != nil || got.Options.RetrySchedule != nil {
			h.Fatalf("unset fields read back set: %+v", got)
		}
	}},
	{"empty retry schedule stays apart from the default", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.Options.RetrySchedule = []time.Duration{} })
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		if got.Options.RetrySchedule == nil || len(got.Options.RetrySchedule) != 0 {
			h.Fatalf("retry schedule: got %#v, want empty non-nil", got.Options.RetrySchedule)
		}
	}},
	{"other application is not found", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(a.ID, fullEndpoint)
		for _, key := range []string{ep.ID, "primary"} {
			_, err := h.s.GetEndpoint(h.ctx, b.ID, key)
			h.wantErr(err, hookrelay.ErrNotFound, "get endpoint of another application by "+key)
		}
		moved := *ep
		moved.AppID = b.ID
		moved.URL = "https://evil.example.com"
		h.wantErr(h.s.UpdateEndpoint(h.ctx, &moved), hookrelay.ErrNotFound, "update under another application")
		h.wantErr(h.s.DeleteEndpoint(h.ctx, b.ID, ep.ID), hookrelay.ErrNotFound, "delete under another application")
		got, err := h.s.GetEndpoint(h.ctx, a.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("untouched endpoint", got, ep)
	}},
	{"missing application is not found", func(h *harness) {
		ep := &hookrelay.Endpoint{AppID: "app_nope", URL: "https://x.example.com", Secret: "whsec_x", CreatedAt: t0, UpdatedAt: t0}
		h.wantErr(h.s.CreateEndpoint(h.ctx, ep), hookrelay.ErrNotFound, "create endpoint of a missing application")
	}},
	{"taken uid is a conflict and stores nothing", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(a.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("main") })
		dup := &hookrelay.Endpoint{AppID: a.ID, UID: ptr("main"), URL: "https://dup.example.com", Secret: "whsec_x", CreatedAt: t0, UpdatedAt: t0}
		h.wantErr(h.s.CreateEndpoint(h.ctx, dup), hookrelay.ErrConflict, "create endpoint with a taken uid")
		eps, err := h.s.ListEndpoints(h.ctx, a.ID, store.Page{Limit: 10})
		h.must(err, "list endpoints")
		h.equal("endpoints", len(eps), 1)
		h.newEndpoint(b.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("main") })
	}},
	{"update", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		fullEndpoint(ep)
		ep.URL = "https://new.example.com/hook"
		ep.Disabled = true
		ep.Secret = "whsec_" + "C" + ep.Secret[7:]
		ep.UpdatedAt = t0.Add(time.Hour)
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "update endpoint")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, "primary")
		h.must(err, "get endpoint")
		h.equal("updated endpoint", got, ep)

		ep.FilterTypes, ep.Channels, ep.UID, ep.Options = nil, nil, nil, hookrelay.EndpointOptions{}
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "clear endpoint fields")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("cleared endpoint", got, ep)
	}},
	{"update to a taken uid is a conflict", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("one") })
		b := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("two") })
		b.UID = ptr("one")
		h.wantErr(h.s.UpdateEndpoint(h.ctx, b), hookrelay.ErrConflict, "update to a taken uid")
	}},
	{"delete", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), "delete endpoint")
		_, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get deleted endpoint")
		h.wantErr(h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), hookrelay.ErrNotFound, "delete deleted endpoint")
	}},
	{"list pages in both orders", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		var want []string
		for range 5 {
			want = append(want, h.newEndpoint(app.ID).ID)
		}
		h.newEndpoint(other.ID)
		key := func(e hookrelay.Endpoint) string { return e.ID }
		for _, order := range []store.Order{store.Ascending, store.Descending} {
			got := paginate(h, 2, key, func(iter string) ([]hookrelay.Endpoint, error) {
				return h.s.ListEndpoints(h.ctx, app.ID, store.Page{Limit: 2, Iterator: iter, Order: order})
			})
			exp := want
			if order == store.Descending {
				exp = reversed(want)
			}
			h.equal("listed endpoints", ids(got, key), exp)
		}
	}},
	{"full endpoint lists as stored", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, fullEndpoint)
		got, err := h.s.ListEndpoints(h.ctx, app.ID, store.Page{Limit: 10})
		h.must(err, "list endpoints")
		h.equal("listed endpoints", got, []hookrelay.Endpoint{*ep})
	}},
}
