package storetest

import (
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
)

var sendSlotTests = []testCase{
	{"first reservation starts now", func(h *harness) {
		ep := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		now := t0.Add(time.Hour)
		first, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 10, 5, now)
		h.must(err, "reserve")
		h.equal("first slot", first, now)
	}},
	{"later reservations queue behind earlier ones", func(h *harness) {
		ep := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		now := t0.Add(time.Hour)
		_, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 10, 5, now) // 5 slots of 100ms
		h.must(err, "reserve")
		second, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 10, 1, now.Add(100*time.Millisecond))
		h.must(err, "reserve")
		h.equal("second reservation", second, now.Add(500*time.Millisecond))
	}},
	{"idle time is not saved up", func(h *harness) {
		ep := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		now := t0.Add(time.Hour)
		_, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 10, 1, now)
		h.must(err, "reserve")
		later := now.Add(time.Minute)
		got, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 10, 1, later)
		h.must(err, "reserve")
		h.equal("slot after idling", got, later)
	}},
	{"endpoints do not share slots", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment).ID
		a, b := h.newEndpoint(app), h.newEndpoint(app)
		now := t0.Add(time.Hour)
		_, err := h.s.ReserveSendSlots(h.ctx, a.ID, 1, 10, now)
		h.must(err, "reserve a")
		got, err := h.s.ReserveSendSlots(h.ctx, b.ID, 1, 1, now)
		h.must(err, "reserve b")
		h.equal("b's first slot", got, now)
	}},
	{"concurrent reservations never overlap", func(h *harness) {
		ep := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		now := t0.Add(time.Hour)
		const workers, each = 8, 5
		var mu sync.Mutex
		var firsts []time.Time
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					f, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 100, 2, now)
					if err != nil {
						h.Errorf("reserve: %v", err)
						return
					}
					mu.Lock()
					firsts = append(firsts, f)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		// 40 reservations of two 10ms slots: every first slot is a distinct
		// multiple of 20ms after now, covering 0 .. 780ms.
		seen := map[time.Duration]bool{}
		for _, f := range firsts {
			off := f.Sub(now)
			if off%(20*time.Millisecond) != 0 || off < 0 || off >= workers*each*20*time.Millisecond || seen[off] {
				h.Fatalf("reservation at +%s overlaps another or is off the grid", off)
			}
			seen[off] = true
		}
	}},
	{"bad arguments are refused", func(h *harness) {
		ep := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		if _, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 0, 1, t0); err == nil {
			h.Error("rate 0: want an error")
		}
		if _, err := h.s.ReserveSendSlots(h.ctx, ep.ID, 1, 0, t0); err == nil {
			h.Error("count 0: want an error")
		}
	}},
}
