package sealed_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

func TestReseal(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	withA := sealed.Wrap(inner, mustKeys(t, keyA))
	withBA := sealed.Wrap(inner, mustKeys(t, keyB+","+keyA))
	ctx := t.Context()

	newEnv := func(name string) string {
		env := &hookrelay.Environment{ID: hookrelay.NewID(hookrelay.PrefixEnv), Name: name}
		if err := inner.CreateEnvironment(ctx, env); err != nil {
			t.Fatal(err)
		}
		return env.ID
	}
	appIn := func(env string) *hookrelay.Application {
		app := &hookrelay.Application{EnvID: env, Name: "a"}
		if err := inner.CreateApplication(ctx, app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	sandbox, other := newEnv("sandbox"), newEnv("other")
	app1, app2, app3 := appIn(hookrelay.DefaultEnvironment), appIn(sandbox), appIn(other)

	var walked []*hookrelay.Endpoint // endpoints Reseal must move to kb
	for range 101 {                  // more than one page
		walked = append(walked, newEndpoint(t, inner, app1.ID)) // plaintext
	}
	walked = append(walked, newEndpoint(t, withA, app1.ID), newEndpoint(t, withA, app2.ID))
	// An operational webhook endpoint, in sandbox's internal application.
	internal, err := inner.EnsureInternalApplication(ctx, sandbox)
	if err != nil {
		t.Fatal(err)
	}
	walked = append(walked, newEndpoint(t, withA, internal.ID))
	current := newEndpoint(t, withBA, app2.ID) // already on kb
	skipped := newEndpoint(t, withA, app3.ID)  // environment not named
	noSecrets := &hookrelay.Endpoint{AppID: app1.ID, URL: "https://example.com", Secret: "whsec_x"}
	if err := withBA.CreateEndpoint(ctx, noSecrets); err != nil {
		t.Fatal(err)
	}
	before := map[string]*hookrelay.Endpoint{}
	for _, ep := range append(walked, current) {
		before[ep.ID] = rawEndpoint(t, withBA, ep.AppID, ep.ID)
	}

	k := mustKeys(t, keyB+","+keyA)
	stats, err := k.Reseal(ctx, withBA, []string{hookrelay.DefaultEnvironment, sandbox})
	if err != nil {
		t.Fatal(err)
	}
	want := sealed.ResealStats{Applications: 3, Endpoints: len(walked) + 2, Resealed: len(walked)}
	if stats.Applications != want.Applications || stats.Endpoints != want.Endpoints || stats.Resealed != want.Resealed || len(stats.Unreadable) != 0 {
		t.Fatalf("stats %+v, want %+v", stats, want)
	}
	for _, ep := range walked {
		raw := rawEndpoint(t, withBA, ep.AppID, ep.ID)
		for _, v := range []string{raw.Secret, raw.OldSecrets[0].Secret, raw.Headers["X-Webhook-Token"], raw.Headers["authorization"]} {
			if id, _ := sealed.SealedWith(v); id != "kb" {
				t.Fatalf("endpoint %s: value sealed with %q after reseal: %s", ep.ID, id, v)
			}
		}
		if raw.Headers["X-Tenant"] != plainHeader {
			t.Fatalf("a header that is not sensitive was changed: %q", raw.Headers["X-Tenant"])
		}
		if !raw.UpdatedAt.Equal(before[ep.ID].UpdatedAt) {
			t.Fatalf("reseal changed updatedAt: %v → %v", before[ep.ID].UpdatedAt, raw.UpdatedAt)
		}
		got, err := withBA.GetEndpoint(ctx, ep.AppID, ep.ID)
		if err != nil || got.Secret != plainSecret || got.OldSecrets[0].Secret != plainOldSecret || got.Headers["authorization"] != plainAuth {
			t.Fatalf("opened after reseal: %+v, %v", got, err)
		}
	}
	if raw := rawEndpoint(t, withBA, current.AppID, current.ID); raw.Secret != before[current.ID].Secret {
		t.Error("an endpoint already on the current key was rewritten")
	}
	if id, _ := sealed.SealedWith(rawEndpoint(t, withBA, skipped.AppID, skipped.ID).Secret); id != "ka" {
		t.Errorf("an endpoint of an environment not named was touched (now %q)", id)
	}

	again, err := k.Reseal(ctx, inner, []string{hookrelay.DefaultEnvironment, sandbox})
	if err != nil || again.Resealed != 0 || again.Endpoints != want.Endpoints {
		t.Fatalf("second run: %+v, %v", again, err)
	}
}

func TestResealReportsUnreadable(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	app := newApp(t, inner)
	lost := newEndpoint(t, sealed.Wrap(inner, mustKeys(t, keyLine("kc", 3))), app.ID)
	fine := newEndpoint(t, inner, app.ID)

	k := mustKeys(t, keyB)
	stats, err := k.Reseal(t.Context(), inner, []string{hookrelay.DefaultEnvironment})
	if !errors.Is(err, sealed.ErrCannotOpen) {
		t.Fatalf("reseal: %v, want ErrCannotOpen", err)
	}
	if len(stats.Unreadable) != 1 || stats.Unreadable[0] != lost.ID || stats.Resealed != 1 {
		t.Fatalf("stats %+v", stats)
	}
	w := sealed.Wrap(inner, k)
	if raw := rawEndpoint(t, w, app.ID, fine.ID); !sealed.IsSealed(raw.Secret) {
		t.Error("the readable endpoint was not resealed")
	}
	if _, err := (*sealed.Keyring)(nil).Reseal(t.Context(), inner, nil); err == nil {
		t.Error("reseal without a key succeeded")
	}
}

// updateHook is a store whose first UpdateEndpoint lets before run first.
type updateHook struct {
	store.Store
	once   sync.Once
	before func()
}

func (s *updateHook) UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	s.once.Do(s.before)
	return s.Store.UpdateEndpoint(ctx, ep)
}

// An endpoint changed by the API between Reseal's read and its write keeps
// the change: Reseal does not write back the secret it read.
func TestResealKeepsConcurrentChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		withA := sealed.Wrap(b.inner, mustKeys(t, keyA)) // a node not yet given kb
		app := newApp(t, withA)
		ep := newEndpoint(t, withA, app.ID)
		const rotated = "whsec_Um90YXRlZFJvdGF0ZWRSb3RhdGVkUm90YXRlZA=="
		hooked := &updateHook{Store: b.inner, before: func() {
			got, err := withA.GetEndpoint(t.Context(), app.ID, ep.ID)
			if err != nil {
				t.Errorf("read before the reseal's write: %v", err)
				return
			}
			got.OldSecrets = append(got.OldSecrets, hookrelay.OldSecret{Secret: got.Secret, ExpiresAt: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)})
			got.Secret = rotated
			if err := withA.UpdateEndpoint(t.Context(), got); err != nil {
				t.Errorf("rotate before the reseal's write: %v", err)
			}
		}}

		k := mustKeys(t, keyB+","+keyA)
		stats, err := k.Reseal(t.Context(), hooked, []string{hookrelay.DefaultEnvironment})
		if err != nil {
			t.Fatal(err)
		}
		if stats.Endpoints != 1 || stats.Resealed != 1 {
			t.Fatalf("stats %+v, want one endpoint resealed", stats)
		}
		withBA := sealed.Wrap(b.inner, k)
		got, err := withBA.GetEndpoint(t.Context(), app.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != rotated || len(got.OldSecrets) != 2 || got.OldSecrets[1].Secret != plainSecret {
			t.Fatalf("after reseal: secret %q, old secrets %+v; want the rotation kept", got.Secret, got.OldSecrets)
		}
		raw, err := b.inner.GetEndpoint(t.Context(), app.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := sealed.SealedWith(raw.Secret); id != "kb" {
			t.Fatalf("secret sealed with %q after reseal, want kb", id)
		}
	})
}
