package sealed

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// ResealStats counts what Reseal did.
type ResealStats struct {
	Applications int // applications walked
	Endpoints    int // endpoints read
	Resealed     int // endpoints rewritten
	// Unreadable lists the endpoints whose stored values did not open
	// (a key missing from the keyring, or a damaged value); they are left
	// as they are.
	Unreadable []string
}

// Reseal rewrites, with the current key, every endpoint of the given
// environments (their operational webhook endpoints included) that holds a secret, sensitive header or URL credentials in
// plaintext or sealed with another key. Endpoints already sealed with the current key
// are left alone, so running it again is cheap. An endpoint that does not
// open is skipped and listed in Unreadable, and Reseal then returns an error
// wrapping ErrCannotOpen after walking everything. s may be the wrapped
// store or the one under it.
//
// The store interface has no listing of environments, so the caller names
// them (IDs). An endpoint is read and written back with its own UpdatedAt,
// under the store's revision check: when the API changed it between the
// read and the write, it is read again and resealed with that change (an
// endpoint deleted meanwhile is skipped), so Reseal may run while
// endpoints are being edited.
func (k *Keyring) Reseal(ctx context.Context, s store.Store, envIDs []string) (ResealStats, error) {
	var st ResealStats
	if k == nil {
		return st, fmt.Errorf("reseal: no key configured")
	}
	if u, ok := s.(interface{ Unwrap() store.Store }); ok {
		s = u.Unwrap()
	}
	const batch = 100
	for _, env := range envIDs {
		endpoints := func(app hookrelay.Application) error {
			st.Applications++
			return walk(func(iter string) ([]hookrelay.Endpoint, error) {
				return s.ListEndpoints(ctx, app.ID, store.Page{Limit: batch, Iterator: iter})
			}, func(e hookrelay.Endpoint) string { return e.ID }, func(ep hookrelay.Endpoint) error {
				st.Endpoints++
				switch done, err := k.resealEndpoint(ctx, s, ep); {
				case errors.Is(err, ErrCannotOpen):
					st.Unreadable = append(st.Unreadable, ep.ID)
				case err != nil:
					return fmt.Errorf("endpoint %s: %w", ep.ID, err)
				case done:
					st.Resealed++
				}
				return nil
			})
		}
		err := walk(func(iter string) ([]hookrelay.Application, error) {
			return s.ListApplications(ctx, env, store.Page{Limit: batch, Iterator: iter})
		}, func(a hookrelay.Application) string { return a.ID }, endpoints)
		if err == nil {
			// The operational webhook endpoints live in the environment's
			// internal application, which ListApplications leaves out.
			var app *hookrelay.Application
			app, err = s.GetInternalApplication(ctx, env)
			switch {
			case err == nil:
				err = endpoints(*app)
			case errors.Is(err, hookrelay.ErrNotFound):
				err = nil
			}
		}
		if err != nil {
			return st, fmt.Errorf("reseal environment %s: %w", env, err)
		}
	}
	if n := len(st.Unreadable); n > 0 {
		return st, fmt.Errorf("reseal: %d endpoints cannot be opened with the configured keys: %w", n, ErrCannotOpen)
	}
	return st, nil
}

// resealTries bounds how many times resealEndpoint reads an endpoint
// again because it was written meanwhile.
const resealTries = 5

// resealEndpoint rewrites the stored ep with the current key when it needs
// it, and reports whether it did. When the endpoint was written since it
// was read (ErrStale), it starts again from a fresh read, so the other
// write is kept; an endpoint deleted meanwhile needs nothing. A value that
// does not open is an error wrapping ErrCannotOpen.
func (k *Keyring) resealEndpoint(ctx context.Context, s store.Store, ep hookrelay.Endpoint) (bool, error) {
	for try := 1; ; try++ {
		if !k.needsReseal(&ep) {
			return false, nil
		}
		if err := k.openEndpoint(&ep); err != nil {
			return false, err
		}
		sealed := k.sealEndpoint(&ep)
		err := s.UpdateEndpoint(ctx, &sealed)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, hookrelay.ErrNotFound):
			return false, nil
		case !errors.Is(err, hookrelay.ErrStale) || try == resealTries:
			return false, err
		}
		fresh, err := s.GetEndpoint(ctx, ep.AppID, ep.ID)
		if errors.Is(err, hookrelay.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		ep = *fresh
	}
}

// walk pages through a listing in ascending order, calling fn on each item.
func walk[T any](list func(iter string) ([]T, error), key func(T) string, fn func(T) error) error {
	iter := ""
	for {
		items, err := list(iter)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) == 0 {
			return nil
		}
		iter = key(items[len(items)-1])
	}
}

// needsReseal reports whether any secret of the stored ep (URL credentials
// included) is plaintext or sealed with a key other than the current one.
func (k *Keyring) needsReseal(ep *hookrelay.Endpoint) bool {
	stale := func(v string) bool {
		id, ok := SealedWith(v)
		return !ok || id != k.CurrentID()
	}
	if stale(ep.Secret) {
		return true
	}
	if _, userinfo, ok := hookrelay.SplitURLUserinfo(ep.URL); ok && stale(userinfo) {
		return true
	}
	for _, o := range ep.OldSecrets {
		if stale(o.Secret) {
			return true
		}
	}
	sensitive := sensitiveSet(ep.Sensitive)
	for name, v := range ep.Headers {
		if sensitive[strings.ToLower(name)] && stale(v) {
			return true
		}
	}
	return false
}
