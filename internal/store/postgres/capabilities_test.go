package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestPortalCapabilitiesMigration rolls the schema back over 00022 and
// forward again: portal tokens and sessions stored with only read_only
// get ViewBase and ViewEndpointSecret when read-only, every capability
// otherwise. A row written afterwards by a node of the previous version
// (capabilities NULL) reads the same way, and a narrower set is stored
// read-only, so that such a node refuses its writes.
func TestPortalCapabilitiesMigration(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f := newFixture(t, s)
	p := migrationsOf(t, s)
	if _, err := p.DownTo(ctx, 21); err != nil {
		t.Fatalf("down to 21: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	// previous writes a portal token and a session of it as the previous
	// version does, with only read_only.
	previous := func(name string, readOnly bool) {
		t.Helper()
		tok := hookrelay.NewID(hookrelay.PrefixToken)
		if _, err := s.pool.Exec(ctx,
			`INSERT INTO tokens (id, env_id, kind, app_id, read_only, hash, expires_at, created_at)
			 VALUES ($1, $2, 'portal', $3, $4, $5, $6, $7)`,
			tok, hookrelay.DefaultEnvironment, f.app.ID, readOnly, []byte("tok-"+name), now.Add(time.Hour), now); err != nil {
			t.Fatalf("insert token %s: %v", name, err)
		}
		if _, err := s.pool.Exec(ctx,
			`INSERT INTO portal_sessions (id, env_id, app_id, read_only, token_id, hash, expires_at, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			hookrelay.NewID(hookrelay.PrefixSession), hookrelay.DefaultEnvironment, f.app.ID, readOnly, tok,
			[]byte("session-"+name), now.Add(time.Hour), now); err != nil {
			t.Fatalf("insert session %s: %v", name, err)
		}
	}
	check := func(name string, want hookrelay.PortalCapabilities) {
		t.Helper()
		tok, err := s.GetTokenByHash(ctx, []byte("tok-"+name))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Capabilities != want {
			t.Errorf("token %s: capabilities %v, want %v", name, tok.Capabilities, want)
		}
		ps, err := s.GetPortalSession(ctx, []byte("session-"+name))
		if err != nil {
			t.Fatal(err)
		}
		if ps.Capabilities != want {
			t.Errorf("session %s: capabilities %v, want %v", name, ps.Capabilities, want)
		}
	}
	previous("ro", true)
	previous("rw", false)
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	check("ro", hookrelay.ReadOnlyPortalCapabilities)
	check("rw", hookrelay.AllPortalCapabilities)
	var stored string
	if err := s.pool.QueryRow(ctx, `SELECT capabilities FROM tokens WHERE hash = $1`, []byte("tok-ro")).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "ViewBase,ViewEndpointSecret" {
		t.Errorf("migrated read-only token stores %q", stored)
	}

	// Written by a node of the previous version after the migration.
	previous("ro-late", true)
	previous("rw-late", false)
	check("ro-late", hookrelay.ReadOnlyPortalCapabilities)
	check("rw-late", hookrelay.AllPortalCapabilities)

	// What such a node reads of this version's rows.
	for _, c := range []struct {
		caps     hookrelay.PortalCapabilities
		readOnly bool
	}{
		{hookrelay.AllPortalCapabilities, false},
		{hookrelay.CapViewBase | hookrelay.CapManageEndpoint, true},
		{hookrelay.CapViewBase, true},
	} {
		tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: f.app.ID,
			Capabilities: c.caps, Hash: []byte("new-" + c.caps.String()), CreatedAt: now}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		var readOnly bool
		if err := s.pool.QueryRow(ctx, `SELECT read_only FROM tokens WHERE id = $1`, tok.ID).Scan(&readOnly); err != nil {
			t.Fatal(err)
		}
		if readOnly != c.readOnly {
			t.Errorf("token of %v stored with read_only %v, want %v", c.caps, readOnly, c.readOnly)
		}
	}
}
