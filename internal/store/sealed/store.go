package sealed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Store is a store.Store whose endpoint secrets are sealed at rest: the
// current secret, every old secret, the values of the headers named in
// Sensitive, and the userinfo of the URL ("user:password" in
// "https://user:password@host/"), which is stored as
// "https://sealed:v1:...@host/" so that the rest of the URL stays readable. It seals them on CreateEndpoint and UpdateEndpoint, without
// changing the caller's Endpoint, and opens them in every result that
// carries an endpoint (GetEndpoint, ListEndpoints, ListMessageDestinations,
// ClaimDeliveries, and the leased tasks of CreateMessage). Everything else passes through to the wrapped store.
//
// Each sealed value is bound to its endpoint ID and field, so a value copied
// into another row or field does not open. Reads that meet a value they
// cannot open fail with an error wrapping ErrCannotOpen, except the claims
// (ClaimDeliveries, CreateMessage's tasks), which must keep the queue
// moving: they return such a task with its OpenErr set (wrapping
// ErrCannotOpen, naming the endpoint and the key) and its secrets left out,
// log it, and leave what to do with the delivery to the caller (the
// dispatcher records an internal failure and postpones it).
type Store struct {
	store.Store
	keys *Keyring
	log  *slog.Logger

	// opened keeps the opened fields of endpoints handed out to the
	// dispatcher, so that a steady stream of publishes to one endpoint
	// does not decrypt its secret every time. Keyed by the stored revision,
	// it cannot serve a changed endpoint; it is emptied when it reaches
	// maxOpened entries.
	openedMu sync.Mutex
	opened   map[memoKey]openedFields
}

// maxOpened bounds the cache of opened endpoints.
const maxOpened = 4096

type openedFields struct {
	url     string
	secret  string
	olds    []hookrelay.OldSecret
	headers map[string]string
}

// Option configures Wrap.
type Option func(*Store)

// WithLogger sets where failures to open a claimed endpoint are reported
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Wrap returns s with endpoint secrets sealed by k. With a nil k nothing is
// sealed, plaintext reads as it is, and a sealed value fails to open with
// ErrUnknownKey, so that a server started without its keys says so instead
// of signing with ciphertext.
//
// The result is a store.Store and nothing more: a capability of s beyond
// it (PostgreSQL's notifications, migrations) is for the caller to take
// from s itself. Unwrap returns s.
func Wrap(s store.Store, k *Keyring, opts ...Option) *Store {
	w := &Store{Store: s, keys: k, log: slog.Default(), opened: make(map[memoKey]openedFields)}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Unwrap returns the wrapped store, which holds the sealed values as stored.
func (s *Store) Unwrap() store.Store { return s.Store }

// CreateEndpoint stores ep with its secrets sealed. Like every store it
// sets ep's ID when empty (before sealing, since the ID is bound into the
// sealed values) and the times the wrapped store assigns.
func (s *Store) CreateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	if ep.ID == "" {
		ep.ID = hookrelay.NewID(hookrelay.PrefixEndpoint)
	}
	sealed := s.keys.sealEndpoint(ep)
	if err := s.Store.CreateEndpoint(ctx, &sealed); err != nil {
		return err
	}
	ep.CreatedAt, ep.UpdatedAt, ep.Revision = sealed.CreatedAt, sealed.UpdatedAt, sealed.Revision
	return nil
}

// UpdateEndpoint writes ep with its secrets sealed with the current key,
// under the wrapped store's revision check (ErrStale when the endpoint was
// written since ep was read), and gives ep the new revision and the times
// the wrapped store assigns.
func (s *Store) UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	sealed := s.keys.sealEndpoint(ep)
	if err := s.Store.UpdateEndpoint(ctx, &sealed); err != nil {
		return err
	}
	ep.UpdatedAt, ep.Revision = sealed.UpdatedAt, sealed.Revision
	return nil
}

// GetEndpoint returns the endpoint with its secrets opened.
func (s *Store) GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error) {
	ep, err := s.Store.GetEndpoint(ctx, appID, idOrUID)
	if err != nil {
		return nil, err
	}
	if err := s.keys.openEndpoint(ep); err != nil {
		return nil, fmt.Errorf("get endpoint: %w", err)
	}
	return ep, nil
}

// ListEndpoints returns the endpoints with their secrets opened.
func (s *Store) ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error) {
	eps, err := s.Store.ListEndpoints(ctx, appID, page)
	if err != nil {
		return nil, err
	}
	for i := range eps {
		if err := s.keys.openEndpoint(&eps[i]); err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
	}
	return eps, nil
}

// ListMessageDestinations returns the destinations with their endpoints'
// secrets opened.
func (s *Store) ListMessageDestinations(ctx context.Context, p store.ListDeliveriesParams) ([]store.MessageDestination, error) {
	ds, err := s.Store.ListMessageDestinations(ctx, p)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if err := s.keys.openEndpoint(&ds[i].Endpoint); err != nil {
			return nil, fmt.Errorf("list message destinations: %w", err)
		}
	}
	return ds, nil
}

// ClaimDeliveries returns the claimed tasks with their endpoints' secrets
// opened. A task whose endpoint does not open comes back with OpenErr set
// (see Store).
func (s *Store) ClaimDeliveries(ctx context.Context, p store.ClaimParams) ([]store.Task, error) {
	tasks, err := s.Store.ClaimDeliveries(ctx, p)
	if err != nil {
		return nil, err
	}
	s.openTasks(tasks)
	return tasks, nil
}

// CreateMessage publishes; the tasks leased by p.Lease come back with their
// endpoints' secrets opened, or with OpenErr set, as from ClaimDeliveries.
func (s *Store) CreateMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	res, err := s.Store.CreateMessage(ctx, p)
	if err != nil || len(res.Tasks) == 0 || p.Lease == nil {
		return res, err
	}
	s.openTasks(res.Tasks)
	return res, nil
}

// openTasks opens the endpoints of tasks in place. A task whose endpoint
// does not open gets OpenErr, and an endpoint without its sealed values
// (no secrets, no headers, no URL credentials): nothing sealed leaves the
// decorator, and nothing could be sent with it.
func (s *Store) openTasks(tasks []store.Task) {
	// One claim often holds many deliveries to one endpoint: open each
	// stored version once. The opened fields are shared by those tasks,
	// which only read them.
	type opened struct {
		ep  hookrelay.Endpoint
		err error
	}
	var memo map[memoKey]*opened // nil for one task: nothing to share
	if len(tasks) > 1 {
		memo = make(map[memoKey]*opened)
	}
	for i := range tasks {
		t := &tasks[i]
		key := memoKey{t.Endpoint.ID, t.Endpoint.Secret, t.Endpoint.Revision}
		o, ok := memo[key]
		if !ok {
			o = &opened{ep: t.Endpoint}
			o.err = s.openCached(key, &o.ep)
			if memo != nil {
				memo[key] = o
			}
			if o.err != nil {
				s.log.Error("cannot open the stored secrets of an endpoint; its deliveries are not sent",
					"endpoint", t.Endpoint.ID, "app", t.Endpoint.AppID, "err", o.err)
			}
		}
		if o.err != nil {
			t.OpenErr = o.err
			t.Endpoint.URL = hookrelay.URLWithoutUserinfo(t.Endpoint.URL)
			t.Endpoint.Secret, t.Endpoint.OldSecrets, t.Endpoint.Headers = "", nil, nil
			continue
		}
		t.Endpoint.URL, t.Endpoint.Secret, t.Endpoint.OldSecrets, t.Endpoint.Headers = o.ep.URL, o.ep.Secret, o.ep.OldSecrets, o.ep.Headers
	}
}

// openCached opens ep's sealed fields, from the cache when this version of
// the endpoint was opened before.
func (s *Store) openCached(key memoKey, ep *hookrelay.Endpoint) error {
	s.openedMu.Lock()
	f, ok := s.opened[key]
	s.openedMu.Unlock()
	if ok {
		ep.URL, ep.Secret, ep.OldSecrets, ep.Headers = f.url, f.secret, f.olds, f.headers
		return nil
	}
	if err := s.keys.openEndpoint(ep); err != nil {
		return err
	}
	s.openedMu.Lock()
	if len(s.opened) >= maxOpened {
		clear(s.opened)
	}
	s.opened[key] = openedFields{url: ep.URL, secret: ep.Secret, olds: ep.OldSecrets, headers: ep.Headers}
	s.openedMu.Unlock()
	return nil
}

// memoKey names one stored version of an endpoint: every write moves its
// revision, so a changed endpoint never meets the fields opened before.
type memoKey struct {
	id, secret string
	revision   int64
}

// Bindings of the sealed fields: endpoint ID and field name, so that a
// value moved to another endpoint or field fails to open.
func bindSecret(epID string) string    { return "endpoint/" + epID + "/secret" }
func bindOldSecret(epID string) string { return "endpoint/" + epID + "/old-secret" }
func bindHeader(epID, name string) string {
	return "endpoint/" + epID + "/header/" + strings.ToLower(name)
}
func bindURLUserinfo(epID string) string { return "endpoint/" + epID + "/url-userinfo" }

// sealEndpoint returns a copy of ep whose secrets are sealed; ep is not
// changed. With a nil keyring the copy holds plaintext.
func (k *Keyring) sealEndpoint(ep *hookrelay.Endpoint) hookrelay.Endpoint {
	c := *ep
	if k == nil {
		return c
	}
	if rest, userinfo, ok := hookrelay.SplitURLUserinfo(ep.URL); ok {
		c.URL = hookrelay.JoinURLUserinfo(rest, k.Seal(userinfo, bindURLUserinfo(ep.ID)))
	}
	c.Secret = k.Seal(ep.Secret, bindSecret(ep.ID))
	if ep.OldSecrets != nil {
		c.OldSecrets = make([]hookrelay.OldSecret, len(ep.OldSecrets))
		for i, o := range ep.OldSecrets {
			c.OldSecrets[i] = hookrelay.OldSecret{Secret: k.Seal(o.Secret, bindOldSecret(ep.ID)), ExpiresAt: o.ExpiresAt}
		}
	}
	if ep.Headers != nil {
		sensitive := sensitiveSet(ep.Sensitive)
		c.Headers = make(map[string]string, len(ep.Headers))
		for name, v := range ep.Headers {
			if sensitive[strings.ToLower(name)] {
				v = k.Seal(v, bindHeader(ep.ID, name))
			}
			c.Headers[name] = v
		}
	}
	return c
}

// openEndpoint replaces ep's sealed values with their plaintext. It gives
// ep new OldSecrets and Headers rather than writing into the ones it has,
// which a store may share between results.
func (k *Keyring) openEndpoint(ep *hookrelay.Endpoint) error {
	u := ep.URL
	if rest, userinfo, ok := hookrelay.SplitURLUserinfo(u); ok {
		v, err := k.Open(userinfo, bindURLUserinfo(ep.ID))
		if err != nil {
			return fmt.Errorf("endpoint %s: URL credentials: %w", ep.ID, err)
		}
		u = hookrelay.JoinURLUserinfo(rest, v)
	}
	secret, err := k.Open(ep.Secret, bindSecret(ep.ID))
	if err != nil {
		return fmt.Errorf("endpoint %s: secret: %w", ep.ID, err)
	}
	var olds []hookrelay.OldSecret
	if ep.OldSecrets != nil {
		olds = make([]hookrelay.OldSecret, len(ep.OldSecrets))
		for i, o := range ep.OldSecrets {
			v, err := k.Open(o.Secret, bindOldSecret(ep.ID))
			if err != nil {
				return fmt.Errorf("endpoint %s: old secret %d: %w", ep.ID, i+1, err)
			}
			olds[i] = hookrelay.OldSecret{Secret: v, ExpiresAt: o.ExpiresAt}
		}
	}
	var headers map[string]string
	if ep.Headers != nil {
		sensitive := sensitiveSet(ep.Sensitive)
		headers = make(map[string]string, len(ep.Headers))
		for name, v := range ep.Headers {
			if sensitive[strings.ToLower(name)] {
				if v, err = k.Open(v, bindHeader(ep.ID, name)); err != nil {
					return fmt.Errorf("endpoint %s: header %s: %w", ep.ID, name, err)
				}
			}
			headers[name] = v
		}
	}
	ep.URL, ep.Secret, ep.OldSecrets, ep.Headers = u, secret, olds, headers
	return nil
}

// sensitiveSet is the lower-cased set of names; header names match without
// regard to case, as in HTTP.
func sensitiveSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}
