package api

import (
	"context"
	"net/http"

	"github.com/hookrelay/hookrelay"
)

// Operational events of the endpoint routes (see package ops). Each is
// emitted after the write it reports succeeded, whether or not the client
// is still there; a failure to emit is logged by the emitter and never
// changes the answer. Without Config.Events nothing is emitted.

func (s *server) emitEndpointCreated(r *http.Request, app *hookrelay.Application, ep *hookrelay.Endpoint) {
	_ = s.events.EndpointCreated(context.WithoutCancel(r.Context()), app, ep)
}

// emitEndpointChanged reports a PUT or PATCH that turned before into
// after: endpoint.updated, and endpoint.disabled (manual) or
// endpoint.enabled when it flipped disabled.
//
// A write that enabled the endpoint has made its parked deliveries due
// (store.Store.UpdateEndpoint): the dispatcher is woken for them.
func (s *server) emitEndpointChanged(r *http.Request, app *hookrelay.Application, before, after *hookrelay.Endpoint) {
	if before.Disabled && !after.Disabled {
		s.wake()
	}
	_ = s.events.EndpointChanged(context.WithoutCancel(r.Context()), app, before, after)
}

func (s *server) emitEndpointUpdated(r *http.Request, app *hookrelay.Application, ep *hookrelay.Endpoint) {
	_ = s.events.EndpointUpdated(context.WithoutCancel(r.Context()), app, ep)
}

func (s *server) emitEndpointDeleted(r *http.Request, app *hookrelay.Application, ep *hookrelay.Endpoint) {
	_ = s.events.EndpointDeleted(context.WithoutCancel(r.Context()), app, ep)
}
