package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// A message's payload expires after payloadRetentionHours, or
// payloadRetentionPeriod days, or else the server's retention: after a
// cleaner run past that time GET answers the payload of an expunged
// message ({}), and the message stays listed.
func TestPayloadRetentionPerMessage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.PayloadRetention = 5 * time.Hour })
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "a", "uid": "app-a"}, nil)
		publish := func(extra string) string {
			t.Helper()
			var out struct{ ID string }
			h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/app-a/msg", testAdminToken,
				`{"eventType":"x","payload":{"k":"v"}`+extra+`}`, &out)
			return out.ID
		}
		hours := publish(`,"payloadRetentionHours":1`)
		days := publish(`,"payloadRetentionPeriod":1`)
		byDefault := publish(``)
		nulls := publish(`,"payloadRetentionPeriod":null,"payloadRetentionHours":null`)
		long := publish(`,"payloadRetentionPeriod":90`)

		payload := func(id string) string {
			t.Helper()
			var out struct{ Payload json.RawMessage }
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg/"+id, testAdminToken, nil, &out)
			return string(out.Payload)
		}
		start := time.Now()
		for _, step := range []struct {
			after time.Duration
			gone  []string
		}{
			{30 * time.Minute, nil},
			{2 * time.Hour, []string{hours}},
			{6 * time.Hour, []string{hours, byDefault, nulls}},
			{25 * time.Hour, []string{hours, byDefault, nulls, days}},
		} {
			t.Run(fmt.Sprint(step.after), func(t *testing.T) {
				c := ops.NewCleaner(ops.CleanerConfig{Store: h.st, NodeID: "n", Pause: -1, Logger: h.api.log,
					Now: func() time.Time { return start.Add(step.after) }})
				if ran, err := c.RunOnce(context.Background()); !ran || err != nil {
					t.Fatalf("cleaner run: %v %v", ran, err)
				}
				gone := map[string]bool{}
				for _, id := range step.gone {
					gone[id] = true
				}
				for _, id := range []string{hours, days, byDefault, nulls, long} {
					got := payload(id)
					if gone[id] && got != "{}" {
						t.Errorf("%s: payload %s, want {} (expunged)", id, got)
					}
					if !gone[id] && got != `{"k":"v"}` {
						t.Errorf("%s: payload %s, want it kept", id, got)
					}
				}
			})
		}
	})
}

// Retention fields out of range, or both given, are 422 naming the field
// and store nothing.
func TestPayloadRetentionInvalid(t *testing.T) {
	h := newHarness(t)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "a", "uid": "app-a"}, nil)
	for _, tt := range []struct {
		name, extra string
		loc         []string
	}{
		{"period zero", `"payloadRetentionPeriod":0`, []string{"body", "payloadRetentionPeriod"}},
		{"period too long", `"payloadRetentionPeriod":91`, []string{"body", "payloadRetentionPeriod"}},
		{"period not a number", `"payloadRetentionPeriod":"7"`, []string{"body", "payloadRetentionPeriod"}},
		{"hours zero", `"payloadRetentionHours":0`, []string{"body", "payloadRetentionHours"}},
		{"hours too long", `"payloadRetentionHours":2161`, []string{"body", "payloadRetentionHours"}},
		{"both", `"payloadRetentionPeriod":1,"payloadRetentionHours":1`, []string{"body", "payloadRetentionHours"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do("POST", "/api/v1/app/app-a/msg", testAdminToken,
				`{"eventType":"x","payload":{},`+tt.extra+`}`)
			assertErrorBody(t, status, body, "", tt.loc)
		})
	}
	var list struct{ Data []any }
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg", testAdminToken, nil, &list)
	if len(list.Data) != 0 {
		t.Errorf("%d messages stored by refused requests", len(list.Data))
	}
}
