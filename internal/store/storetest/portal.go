package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var portalSessionTests = []testCase{
	{"code redeemed once", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID,
			Hash: []byte(h.name("tok")), ExpiresAt: ptr(now.Add(time.Hour)), CreatedAt: now, Capabilities: hookrelay.CapViewBase | hookrelay.CapManageEndpoint}
		h.must(h.s.CreateToken(h.ctx, tok), "create token")
		ps := &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, AppID: app.ID, Capabilities: tok.Capabilities, TokenID: tok.ID,
			CodeHash: []byte(h.name("code")), CodeExpiresAt: ptr(now.Add(time.Minute)), ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		h.must(h.s.CreatePortalSession(h.ctx, ps), "create session")

		got, err := h.s.GetPortalSessionByCode(h.ctx, ps.CodeHash)
		h.must(err, "get by code")
		h.equal("unredeemed", got, ps)
		_, err = h.s.GetPortalSession(h.ctx, []byte("nothing"))
		h.wantErr(err, hookrelay.ErrNotFound, "get unknown session")

		// Of concurrent redemptions exactly one wins.
		at := now.Add(time.Second)
		var wg sync.WaitGroup
		wins := make(chan *store.PortalSession, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := h.s.RedeemPortalCode(h.ctx, ps.CodeHash, []byte(h.name("secret")+string(rune('a'+i))), `{"mode":"dark"}`, at)
				if err == nil {
					wins <- r
				} else if !errors.Is(err, hookrelay.ErrNotFound) {
					h.T.Errorf("redeem: %v", err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []*store.PortalSession
		for r := range wins {
			won = append(won, r)
		}
		h.equal("winners", len(won), 1)
		if len(won) != 1 {
			return
		}
		r := won[0]
		h.equal("redeemed at", r.RedeemedAt, &at)
		h.equal("theme", r.Theme, `{"mode":"dark"}`)
		byHash, err := h.s.GetPortalSession(h.ctx, r.Hash)
		h.must(err, "get session")
		h.equal("session", byHash, r)
		want := *ps
		want.Hash, want.Theme, want.RedeemedAt = r.Hash, r.Theme, r.RedeemedAt
		h.equal("redeemed session", byHash, &want)
		_, err = h.s.RedeemPortalCode(h.ctx, ps.CodeHash, []byte("again"), "", at)
		h.wantErr(err, hookrelay.ErrNotFound, "redeem twice")
		_, err = h.s.RedeemPortalCode(h.ctx, []byte("unknown"), []byte("x"), "", at)
		h.wantErr(err, hookrelay.ErrNotFound, "redeem unknown")

		h.must(h.s.DeletePortalSession(h.ctx, r.ID), "delete")
		_, err = h.s.GetPortalSession(h.ctx, r.Hash)
		h.wantErr(err, hookrelay.ErrNotFound, "get deleted")
		h.wantErr(h.s.DeletePortalSession(h.ctx, r.ID), hookrelay.ErrNotFound, "delete twice")
	}},
	{"capabilities are kept with the session", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		for _, caps := range []hookrelay.PortalCapabilities{
			hookrelay.AllPortalCapabilities,
			hookrelay.ReadOnlyPortalCapabilities,
			hookrelay.CapViewBase,
			hookrelay.CapViewBase | hookrelay.CapManageEndpoint,
			hookrelay.CapViewBase | hookrelay.CapCreateAttempts | hookrelay.CapManageEndpointSecret,
		} {
			ps := &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, AppID: app.ID, Capabilities: caps,
				CodeHash: []byte(h.name("code")), CodeExpiresAt: ptr(now.Add(time.Minute)),
				ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			h.must(h.s.CreatePortalSession(h.ctx, ps), "create session")
			got, err := h.s.GetPortalSessionByCode(h.ctx, ps.CodeHash)
			h.must(err, "get by code")
			h.equal("session of "+caps.String(), got, ps)
			r, err := h.s.RedeemPortalCode(h.ctx, ps.CodeHash, []byte(h.name("secret")), "", now)
			h.must(err, "redeem")
			h.equal("redeemed session's capabilities", r.Capabilities, caps)
			got, err = h.s.GetPortalSession(h.ctx, r.Hash)
			h.must(err, "get session")
			h.equal("session's capabilities", got.Capabilities, caps)
		}
	}},
	{"operator session", func(h *harness) {
		now := normTime(time.Now())
		ps := &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, Operator: true, Hash: []byte(h.name("op")),
			ExpiresAt: now.Add(time.Hour), CreatedAt: now, RedeemedAt: &now}
		h.must(h.s.CreatePortalSession(h.ctx, ps), "create")
		got, err := h.s.GetPortalSession(h.ctx, ps.Hash)
		h.must(err, "get")
		h.equal("operator session", got, ps)
		h.wantErr(h.s.CreatePortalSession(h.ctx, &store.PortalSession{EnvID: hookrelay.DefaultEnvironment,
			Hash: ps.Hash, ExpiresAt: now}), hookrelay.ErrConflict, "taken hash")
		h.wantErr(h.s.CreatePortalSession(h.ctx, &store.PortalSession{EnvID: "env_missing",
			Hash: []byte("x"), ExpiresAt: now}), hookrelay.ErrNotFound, "missing environment")
		h.wantErr(h.s.CreatePortalSession(h.ctx, &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, AppID: "app_missing",
			Hash: []byte("y"), ExpiresAt: now}), hookrelay.ErrNotFound, "missing application")
	}},
	{"expire and cascade", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID,
			Hash: []byte(h.name("tok")), ExpiresAt: ptr(now.Add(time.Hour)), CreatedAt: now}
		h.must(h.s.CreateToken(h.ctx, tok), "create token")
		mk := func(appID, tokenID string, exp time.Time) *store.PortalSession {
			ps := &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, AppID: appID, TokenID: tokenID,
				Hash: []byte(h.name("s")), ExpiresAt: exp, CreatedAt: now, RedeemedAt: &now}
			h.must(h.s.CreatePortalSession(h.ctx, ps), "create session")
			return ps
		}
		later := mk(app.ID, "", now.Add(time.Hour))
		sooner := mk(app.ID, "", now.Add(time.Second))
		ofToken := mk(app.ID, tok.ID, now.Add(time.Hour))
		foreign := mk(other.ID, "", now.Add(time.Hour))
		at := now.Add(time.Minute)
		n, err := h.s.ExpireAppPortalSessions(h.ctx, app.ID, at)
		h.must(err, "expire")
		h.equal("expired", n, 2)
		for _, c := range []struct {
			ps   *store.PortalSession
			want time.Time
		}{{later, at}, {sooner, now.Add(time.Second)}, {ofToken, at}, {foreign, now.Add(time.Hour)}} {
			got, err := h.s.GetPortalSession(h.ctx, c.ps.Hash)
			h.must(err, "get")
			h.equal("expiry", got.ExpiresAt, c.want)
		}
		// A session goes with its token, and with its application.
		h.must(h.s.DeleteToken(h.ctx, tok.ID), "delete token")
		_, err = h.s.GetPortalSession(h.ctx, ofToken.Hash)
		h.wantErr(err, hookrelay.ErrNotFound, "session of a deleted token")
		h.must(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, other.ID), "delete app")
		_, err = h.s.GetPortalSession(h.ctx, foreign.Hash)
		h.wantErr(err, hookrelay.ErrNotFound, "session of a deleted application")

		// The tokens' purge takes expired sessions, and only those.
		kept := mk(app.ID, "", now.Add(time.Hour))
		h.purgeAll(store.PurgeTokens, at, at, 1)
		for _, ps := range []*store.PortalSession{later, sooner} {
			_, err = h.s.GetPortalSession(h.ctx, ps.Hash)
			h.wantErr(err, hookrelay.ErrNotFound, "purged session")
		}
		_, err = h.s.GetPortalSession(h.ctx, kept.Hash)
		h.must(err, "session not yet expired")
	}},
	{"sessions opened by an operator session", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin,
			Hash: []byte(h.name("admin")), CreatedAt: now}
		h.must(h.s.CreateToken(h.ctx, tok), "create token")
		key := []byte(h.name("admin key"))
		mk := func(op bool, appID, tokenID, openedBy string, adminKey []byte) *store.PortalSession {
			ps := &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, Operator: op, AppID: appID, TokenID: tokenID,
				OpenedBy: openedBy, AdminKey: adminKey, Hash: []byte(h.name("s")),
				ExpiresAt: now.Add(time.Hour), CreatedAt: now, RedeemedAt: &now}
			if !op {
				ps.Capabilities = hookrelay.AllPortalCapabilities
			}
			h.must(h.s.CreatePortalSession(h.ctx, ps), "create session")
			got, err := h.s.GetPortalSession(h.ctx, ps.Hash)
			h.must(err, "get session")
			h.equal("session", got, ps)
			return ps
		}
		byConfig := mk(true, "", "", "", key)
		opened := mk(false, app.ID, "", byConfig.ID, key)
		byToken := mk(true, "", tok.ID, "", nil)
		openedByToken := mk(false, app.ID, "", byToken.ID, nil)
		bystander := mk(false, app.ID, "", "", nil)
		h.wantErr(h.s.CreatePortalSession(h.ctx, &store.PortalSession{EnvID: hookrelay.DefaultEnvironment, AppID: app.ID,
			OpenedBy: "ses_missing", Hash: []byte(h.name("orphan")), ExpiresAt: now}), hookrelay.ErrNotFound, "missing opener")

		// Deleting the operator session (logout) deletes what it opened;
		// deleting its token does too, through it.
		h.must(h.s.DeletePortalSession(h.ctx, byConfig.ID), "delete operator session")
		_, err := h.s.GetPortalSession(h.ctx, opened.Hash)
		h.wantErr(err, hookrelay.ErrNotFound, "session opened by a deleted operator session")
		h.must(h.s.DeleteToken(h.ctx, tok.ID), "delete token")
		for _, ps := range []*store.PortalSession{byToken, openedByToken} {
			_, err = h.s.GetPortalSession(h.ctx, ps.Hash)
			h.wantErr(err, hookrelay.ErrNotFound, "session of a deleted admin token")
		}
		_, err = h.s.GetPortalSession(h.ctx, bystander.Hash)
		h.must(err, "another session of the application")
	}},
	{"app portal theme", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		got, err := h.s.GetAppPortalTheme(h.ctx, app.ID)
		h.must(err, "get unset")
		h.equal("unset", got, "")
		for _, theme := range []string{`{"mode":"dark"}`, `{"accentColor":"#aa3300"}`} {
			h.must(h.s.SetAppPortalTheme(h.ctx, app.ID, theme), "set")
			got, err = h.s.GetAppPortalTheme(h.ctx, app.ID)
			h.must(err, "get")
			h.equal("theme", got, theme)
		}
		got, _ = h.s.GetAppPortalTheme(h.ctx, other.ID)
		h.equal("other app", got, "")
		h.must(h.s.SetAppPortalTheme(h.ctx, app.ID, ""), "clear")
		got, _ = h.s.GetAppPortalTheme(h.ctx, app.ID)
		h.equal("cleared", got, "")
		h.wantErr(h.s.SetAppPortalTheme(h.ctx, "app_missing", "{}"), hookrelay.ErrNotFound, "missing app")
		h.must(h.s.SetAppPortalTheme(h.ctx, other.ID, `{"mode":"light"}`), "set other")
		h.must(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, other.ID), "delete app")
		got, err = h.s.GetAppPortalTheme(h.ctx, other.ID)
		h.must(err, "get of deleted app")
		h.equal("deleted app", got, "")
	}},
}
