package storetest

import (
	"fmt"

	"github.com/hookrelay/hookrelay"
)

// badKeys cannot be an ID, uid, name or eventId: no store keeps text that
// is not valid UTF-8 or holds U+0000.
var badKeys = []string{"\xff", "a\x00b", "\xc3(", "\x00"}

var badKeyTests = []testCase{
	{"lookup by a key that cannot be text is not found", func(h *harness) {
		env := hookrelay.DefaultEnvironment
		app := h.newApp(env)
		h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "user.created")
		for _, k := range badKeys {
			lookups := []struct {
				what string
				err  func() error
			}{
				{"environment", func() error { _, err := h.s.GetEnvironmentByName(h.ctx, k); return err }},
				{"application", func() error { _, err := h.s.GetApplication(h.ctx, env, k); return err }},
				{"application of environment", func() error { _, err := h.s.GetApplication(h.ctx, k, app.ID); return err }},
				{"event type", func() error { _, err := h.s.GetEventType(h.ctx, env, k); return err }},
				{"endpoint", func() error { _, err := h.s.GetEndpoint(h.ctx, app.ID, k); return err }},
				{"message", func() error { _, err := h.s.GetMessage(h.ctx, app.ID, k); return err }},
				{"attempt", func() error { _, err := h.s.GetAttempt(h.ctx, app.ID, msg.ID, k); return err }},
				{"background task", func() error { _, err := h.s.GetBackgroundTask(h.ctx, env, k); return err }},
			}
			for _, l := range lookups {
				h.wantErr(l.err(), hookrelay.ErrNotFound, fmt.Sprintf("get %s %q", l.what, k))
			}
		}
	}},
}
