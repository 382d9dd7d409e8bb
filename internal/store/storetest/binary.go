package storetest

import (
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// binaryBodies are response bodies that are not UTF-8 text: a store keeps
// each byte for byte, whatever its database's text encoding.
var binaryBodies = []struct{ name, body string }{
	{"nul", "ok\x00done"},
	{"only nul", "\x00"},
	{"invalid utf-8", "caf\xc3( \xe2\x82 \xed\xa0\x80"},
	{"0xff", "\xff\xfe\xfd\xff"},
	{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"},
	{"every byte", func() string {
		var b strings.Builder
		for range 64 {
			for c := range 256 {
				b.WriteByte(byte(c))
			}
		}
		return b.String()
	}()},
	{"valid text", "h\u00e9llo \u2603\n"},
	{"empty", ""},
}

// binaryAttemptTests check that no byte sequence in an attempt's texts
// can fail its recording: the response is kept exactly, the other texts
// as hookrelay.CleanText makes them.
var binaryAttemptTests = []testCase{
	{"response bytes and texts survive", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		msgs := map[string]string{} // message ID -> body name
		for _, b := range binaryBodies {
			m, _ := h.publish(app.ID, "bin")
			msgs[m.ID] = b.name
		}
		body := map[string]string{}
		for _, b := range binaryBodies {
			body[b.name] = b.body
		}
		// Every body in one batch, each with a URL that is not text.
		tasks := h.claimAll("n", time.Now())
		h.equal("claimed", len(tasks), len(binaryBodies))
		url := "https://example.com/\x00bin/\xff\xc3("
		results := make([]store.AttemptResult, len(tasks))
		for i, task := range tasks {
			results[i] = store.AttemptResult{
				Owner: "n",
				Attempt: hookrelay.Attempt{
					DeliveryID: task.Delivery.ID, MsgID: task.Message.ID, AppID: app.ID, EndpointID: ep.ID,
					URL: url, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200,
					Response: body[msgs[task.Message.ID]], ResponseDurationMs: 7,
					TriggerType: hookrelay.TriggerScheduled, CreatedAt: h.tick(),
				},
				Status:   hookrelay.StatusSuccess,
				Attempts: 1,
			}
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts with binary responses")

		want := map[string]hookrelay.Attempt{}
		for _, r := range results {
			a := r.Attempt
			a.URL = hookrelay.CleanText(url)
			want[a.ID] = a
		}
		for id, w := range want {
			got, err := h.s.GetAttempt(h.ctx, app.ID, w.MsgID, id)
			h.must(err, "get attempt")
			h.equal("response of "+msgs[w.MsgID], []byte(got.Response), []byte(w.Response))
			h.equal("attempt with "+msgs[w.MsgID], got, &w)
			h.equal("delivery", h.delivery(app.ID, w.MsgID, ep.ID).Status, hookrelay.StatusSuccess)
		}
		listed, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, EndpointID: ep.ID, Page: store.Page{Limit: 100}})
		h.must(err, "list attempts")
		h.equal("listed", len(listed), len(want))
		for _, got := range listed {
			h.equal("listed attempt with "+msgs[got.MsgID], got, want[got.ID])
		}
	}},
	{"one binary response alone", func(h *harness) {
		for _, b := range binaryBodies {
			app := h.newApp(hookrelay.DefaultEnvironment)
			h.newEndpoint(app.ID)
			msg, _ := h.publish(app.ID, "bin")
			tasks := h.claimAll("n", time.Now())
			r := []store.AttemptResult{{
				Owner: "n",
				Attempt: hookrelay.Attempt{
					DeliveryID: tasks[0].Delivery.ID, MsgID: msg.ID, AppID: app.ID, EndpointID: tasks[0].Endpoint.ID,
					URL: tasks[0].Endpoint.URL, Status: hookrelay.StatusFail, ResponseStatusCode: 500,
					Response: b.body, TriggerType: hookrelay.TriggerScheduled, CreatedAt: h.tick(),
				},
				Status:   hookrelay.StatusFail,
				Attempts: 1,
			}}
			h.must(h.s.CompleteAttempts(h.ctx, r), "complete attempt with "+b.name)
			got, err := h.s.GetAttempt(h.ctx, app.ID, msg.ID, r[0].Attempt.ID)
			h.must(err, "get attempt")
			h.equal("response "+b.name, []byte(got.Response), []byte(b.body))
			h.equal("delivery", h.delivery(app.ID, msg.ID, tasks[0].Endpoint.ID).Status, hookrelay.StatusFail)
		}
	}},
	{"expunge drops a binary response", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "bin")
		tasks := h.claimAll("n", time.Now())
		r := []store.AttemptResult{{
			Owner: "n",
			Attempt: hookrelay.Attempt{
				DeliveryID: tasks[0].Delivery.ID, MsgID: msg.ID, AppID: app.ID, EndpointID: tasks[0].Endpoint.ID,
				URL: tasks[0].Endpoint.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200,
				Response: "\x00\xff", CreatedAt: h.tick(),
			},
			Status:   hookrelay.StatusSuccess,
			Attempts: 1,
		}}
		h.must(h.s.CompleteAttempts(h.ctx, r), "complete attempt")
		h.must(h.s.ExpungeAttemptContent(h.ctx, app.ID, msg.ID, r[0].Attempt.ID), "expunge attempt")
		got, err := h.s.GetAttempt(h.ctx, app.ID, msg.ID, r[0].Attempt.ID)
		h.must(err, "get attempt")
		h.equal("expunged response", got.Response, "")
	}},
}
