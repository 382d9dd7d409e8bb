package storetest

import "time"

var nodeTests = []testCase{
	{"live nodes are counted", func(h *harness) {
		now := t0.Add(time.Hour)
		ttl := 10 * time.Second
		n, err := h.s.Heartbeat(h.ctx, "a", now, ttl)
		h.must(err, "heartbeat a")
		h.equal("live after a", n, 1)
		n, err = h.s.Heartbeat(h.ctx, "b", now.Add(time.Second), ttl)
		h.must(err, "heartbeat b")
		h.equal("live after b", n, 2)
		n, err = h.s.Heartbeat(h.ctx, "a", now.Add(2*time.Second), ttl)
		h.must(err, "heartbeat a again")
		h.equal("live after a again", n, 2)
	}},
	{"silent nodes stop counting", func(h *harness) {
		now := t0.Add(time.Hour)
		ttl := 10 * time.Second
		_, err := h.s.Heartbeat(h.ctx, "gone", now, ttl)
		h.must(err, "heartbeat gone")
		n, err := h.s.Heartbeat(h.ctx, "alive", now.Add(11*time.Second), ttl)
		h.must(err, "heartbeat alive")
		h.equal("live", n, 1)
	}},
	{"deleted nodes stop counting", func(h *harness) {
		now := t0.Add(time.Hour)
		ttl := 10 * time.Second
		_, err := h.s.Heartbeat(h.ctx, "a", now, ttl)
		h.must(err, "heartbeat a")
		h.must(h.s.DeleteNode(h.ctx, "a"), "delete a")
		n, err := h.s.Heartbeat(h.ctx, "b", now, ttl)
		h.must(err, "heartbeat b")
		h.equal("live", n, 1)
	}},
}
