package storetest

import (
	"math/rand/v2"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var healthTests = []testCase{
	{"RollupsMatchAttempts", testRollupsMatchAttempts},
	{"RollupWidthsKeepTotals", testRollupWidthsKeepTotals},
	{"DeleteHealthRollups", testDeleteHealthRollups},
	{"RollupsGoWithEndpoint", testRollupsGoWithEndpoint},
	{"CountAppDestinations", testCountAppDestinations},
}

// healthKey is one rollup: an endpoint, a width and a span start.
type healthKey struct {
	ep    string
	width time.Duration
	start time.Time
}

// recordSpread records n attempts spread over the tasks and over three
// days after t0, with every outcome kind and response times from 0 to
// 90 s, in batches of odd sizes (a delivery may have several attempts in
// one batch), and returns the rollups they must make.
func (h *harness) recordSpread(tasks []store.Task, n int, seed uint64) map[healthKey]*hookrelay.Health {
	h.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	want := map[healthKey]*hookrelay.Health{}
	var batch []store.AttemptResult
	flush := func() {
		h.must(h.s.CompleteAttempts(h.ctx, batch), "complete attempts")
		batch = batch[:0]
	}
	for i := range n {
		tk := tasks[rng.IntN(len(tasks))]
		kind := hookrelay.OutcomeKind(1 + rng.IntN(5))
		status, code := hookrelay.StatusFail, 0
		switch kind {
		case hookrelay.OutcomeSuccess:
			status, code = hookrelay.StatusSuccess, 200
		case hookrelay.OutcomeRejected:
			code = 500
		}
		ms := int64(rng.ExpFloat64() * 300)
		if i%50 == 0 {
			ms = int64(rng.IntN(90000))
		}
		at := t0.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))).Truncate(time.Microsecond)
		batch = append(batch, store.AttemptResult{
			Owner: "node",
			Attempt: hookrelay.Attempt{
				DeliveryID: tk.Delivery.ID, URL: tk.Endpoint.URL, Status: status, ResponseStatusCode: code,
				Outcome: kind, ResponseDurationMs: ms, TriggerType: hookrelay.TriggerScheduled, CreatedAt: at,
			},
			Status: hookrelay.StatusPending, Attempts: 1,
		})
		if i%2 == 0 { // as the dispatcher records them; the others name only their delivery
			batch[len(batch)-1].Attempt.EndpointID = tk.Endpoint.ID
			batch[len(batch)-1].Attempt.AppID = tk.Message.AppID
		}
		for _, w := range hookrelay.HealthWidths {
			k := healthKey{tk.Endpoint.ID, w, at.Truncate(w)}
			if want[k] == nil {
				want[k] = &hookrelay.Health{Start: k.start}
			}
			want[k].Record(kind, ms)
		}
		if len(batch) == 1+i%97 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return want
}

// rollups reads every rollup of width in the three days after t0.
func (h *harness) rollups(appID, epID string, width time.Duration) []hookrelay.Health {
	h.Helper()
	got, err := h.s.HealthRollups(h.ctx, store.HealthParams{
		AppID: appID, EndpointID: epID, Width: width, Since: t0.Add(-healthSlack), Until: t0.Add(73 * time.Hour),
	})
	h.must(err, "health rollups")
	return got
}

// healthSlack widens the window read so that the span holding t0 counts.
const healthSlack = 24 * time.Hour

func testRollupsMatchAttempts(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	eps := []*hookrelay.Endpoint{h.newEndpoint(app.ID), h.newEndpoint(app.ID)}
	other := h.newApp(env.ID)
	h.newEndpoint(other.ID)
	for range 20 {
		h.publish(app.ID, "a.b")
	}
	h.publish(other.ID, "a.b")
	tasks := h.claimAll("node", time.Now())
	var mine []store.Task
	for _, tk := range tasks {
		if tk.Message.AppID == app.ID {
			mine = append(mine, tk)
		}
	}
	want := h.recordSpread(mine, 1500, 1)

	for _, w := range hookrelay.HealthWidths {
		appWant := map[time.Time]*hookrelay.Health{}
		for _, ep := range eps {
			got := h.rollups(app.ID, ep.ID, w)
			n := 0
			for k, v := range want {
				if k.ep == ep.ID && k.width == w {
					n++
					if appWant[k.start] == nil {
						appWant[k.start] = &hookrelay.Health{Start: k.start}
					}
					appWant[k.start].Add(v)
				}
			}
			h.equal(w.String()+" rollups of "+ep.ID, len(got), n)
			for i := range got {
				g := &got[i]
				if i > 0 && !got[i-1].Start.Before(g.Start) {
					h.Errorf("%v rollups not in order: %v then %v", w, got[i-1].Start, g.Start)
				}
				h.equal(w.String()+" rollup at "+g.Start.String(), *g, *want[healthKey{ep.ID, w, g.Start}])
			}
			// Another application does not see the endpoint's rollups.
			h.equal("rollups through another app", len(h.rollups(other.ID, ep.ID, w)), 0)
		}
		got := h.rollups(app.ID, "", w)
		h.equal(w.String()+" app rollups", len(got), len(appWant))
		for _, g := range got {
			h.equal(w.String()+" app rollup at "+g.Start.String(), g, *appWant[g.Start])
		}
	}
}

func testRollupWidthsKeepTotals(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	ep := h.newEndpoint(app.ID)
	for range 5 {
		h.publish(app.ID, "a.b")
	}
	h.recordSpread(h.claimAll("node", time.Now()), 700, 2)
	var totals []hookrelay.Health
	for _, w := range hookrelay.HealthWidths {
		var sum hookrelay.Health
		for _, r := range h.rollups(app.ID, ep.ID, w) {
			sum.Add(&r)
		}
		totals = append(totals, sum)
	}
	if totals[0].Total() != 700 {
		h.Errorf("minute rollups hold %d attempts, want 700", totals[0].Total())
	}
	h.equal("hour rollups summed", totals[1], totals[0])
	h.equal("day rollups summed", totals[2], totals[0])
}

func testDeleteHealthRollups(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	ep := h.newEndpoint(app.ID)
	for range 5 {
		h.publish(app.ID, "a.b")
	}
	want := h.recordSpread(h.claimAll("node", time.Now()), 300, 3)
	cut := t0.Add(36 * time.Hour)
	var old int64
	for k := range want {
		if k.width == hookrelay.HealthMinute && k.start.Before(cut) {
			old++
		}
	}
	n, err := h.s.DeleteHealthRollups(h.ctx, hookrelay.HealthMinute, cut)
	h.must(err, "delete health rollups")
	h.equal("deleted", n, old)
	for _, r := range h.rollups(app.ID, ep.ID, hookrelay.HealthMinute) {
		if r.Start.Before(cut) {
			h.Errorf("minute rollup at %v kept", r.Start)
		}
	}
	var hours int
	for k := range want {
		if k.width == hookrelay.HealthHour {
			hours++
		}
	}
	h.equal("hour rollups kept", len(h.rollups(app.ID, ep.ID, hookrelay.HealthHour)), hours)
}

func testRollupsGoWithEndpoint(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	ep := h.newEndpoint(app.ID)
	h.publish(app.ID, "a.b")
	h.recordSpread(h.claimAll("node", time.Now()), 10, 4)
	h.must(h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), "delete endpoint")
	for _, w := range hookrelay.HealthWidths {
		h.equal("rollups of a deleted endpoint", len(h.rollups(app.ID, "", w)), 0)
	}
}

func testCountAppDestinations(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	h.newEndpoint(app.ID)
	h.newEndpoint(app.ID)
	other := h.newApp(env.ID)
	h.newEndpoint(other.ID)
	first, _ := h.publish(app.ID, "a.b")
	h.publish(app.ID, "a.b")
	last, _ := h.publish(app.ID, "a.b")
	h.publish(other.ID, "a.b")
	for _, c := range []struct {
		since, until time.Time
		want         int64
	}{
		{first.CreatedAt, last.CreatedAt.Add(time.Second), 6},
		{first.CreatedAt, last.CreatedAt, 4},
		{first.CreatedAt.Add(time.Second), last.CreatedAt.Add(time.Second), 4},
		{last.CreatedAt.Add(time.Second), last.CreatedAt.Add(time.Hour), 0},
	} {
		n, err := h.s.CountAppDestinations(h.ctx, app.ID, c.since, c.until)
		h.must(err, "count app destinations")
		h.equal("destinations", n, c.want)
	}
}
