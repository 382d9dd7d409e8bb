package api

import (
	"context"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Caller is who makes a request that comes from inside the process (the
// portal) rather than from the network: the request carries no token and
// is made as this principal.
type Caller struct {
	EnvID string
	// AppID, when set, makes the caller a portal principal of this
	// application only; empty makes it an admin of EnvID.
	AppID string
	// Capabilities are what a portal principal may do, as a portal
	// token's (see principal.authorize); none when unset.
	Capabilities hookrelay.PortalCapabilities
}

type callerKey struct{}

// WithCaller returns a context whose requests to the handler of New are
// made as c. Only code in this process can put a value in a request's
// context, so no network request can claim a Caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerPrincipal returns the principal of an in-process caller, if ctx
// carries one.
func callerPrincipal(ctx context.Context) (*principal, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.EnvID == "" {
		return nil, false
	}
	if c.AppID == "" {
		return &principal{envID: c.EnvID, kind: store.TokenAdmin}, true
	}
	return &principal{envID: c.EnvID, kind: store.TokenPortal, appID: c.AppID, caps: c.Capabilities}, true
}
