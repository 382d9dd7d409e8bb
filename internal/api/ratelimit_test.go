package api

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// leasingHandoff leases every publish's deliveries to itself and keeps the
// tasks it is given.
type leasingHandoff struct {
	mu    sync.Mutex
	tasks []store.Task
}

func (h *leasingHandoff) Handoff() *store.LeaseParams {
	return &store.LeaseParams{Owner: "test", Until: time.Now().Add(time.Minute), Max: 10}
}

func (h *leasingHandoff) Take(_ *store.LeaseParams, tasks []store.Task) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks = append(h.tasks, tasks...)
}

func (h *leasingHandoff) take() []store.Task {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tasks
	h.tasks = nil
	return t
}

// TestHandedOffTasksCarryTheApplicationRateLimit: deliveries handed to the
// dispatcher at publish carry their application's rateLimit, as claimed
// ones do, so that it holds for endpoints without their own.
func TestHandedOffTasksCarryTheApplicationRateLimit(t *testing.T) {
	ho := &leasingHandoff{}
	h := newHarness(t, func(c *Config) { c.Handoff = ho })
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"L","uid":"limited","rateLimit":5}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"P","uid":"plain"}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken,
		`{"name":"a.b","description":"d","schemas":{"1":{"type":"object","examples":[{"k":1}]}}}`, nil)
	eps := map[string]string{}
	for _, app := range []string{"limited", "plain"} {
		var ep endpointOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/"+app+"/endpoint", testAdminToken, `{"url":"https://example.com/`+app+`"}`, &ep)
		eps[app] = ep.ID
	}
	for _, tt := range []struct {
		name, app, path, body string
		want                  *int
	}{
		{"publish", "limited", "/api/v1/app/limited/msg", `{"eventType":"a.b","payload":{}}`, ptr(5)},
		{"send-example", "limited", "/api/v1/app/limited/endpoint/" + eps["limited"] + "/send-example", `{"eventType":"a.b"}`, ptr(5)},
		{"publish, no limit", "plain", "/api/v1/app/plain/msg", `{"eventType":"a.b","payload":{}}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.mustDo(http.StatusAccepted, "POST", tt.path, testAdminToken, tt.body, nil)
			tasks := ho.take()
			if len(tasks) != 1 || tasks[0].Endpoint.ID != eps[tt.app] {
				t.Fatalf("handed off %+v, want one task for %s", tasks, eps[tt.app])
			}
			show := func(p *int) string {
				if p == nil {
					return "none"
				}
				return fmt.Sprint(*p)
			}
			if got := tasks[0].AppRateLimit; show(got) != show(tt.want) {
				t.Errorf("application rate limit %s, want %s", show(got), show(tt.want))
			}
		})
	}
}
