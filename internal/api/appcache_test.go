package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hookrelay/hookrelay/internal/store"
)

// TestPublishFollowsApplicationChanges publishes through one node while
// another node (a second API on the same store) deletes and recreates the
// application: the first node's cached lookup must never put a message in
// an application that is gone, nor miss the new one.
func TestPublishFollowsApplicationChanges(t *testing.T) {
	a := newHarness(t)
	other := httptest.NewServer(New(Config{
		Store: a.st, Waker: &countingWaker{}, AdminToken: testAdminToken,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}))
	t.Cleanup(other.Close)
	b := &harness{t: t, st: a.st, srv: other}

	msg := map[string]any{"eventType": "user.created", "payload": map[string]any{"n": 1}}
	var first applicationOut
	b.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "Acme", "uid": "acme"}, &first)
	a.mustDo(http.StatusAccepted, "POST", "/api/v1/app/acme/msg", testAdminToken, msg, nil)
	a.mustDo(http.StatusAccepted, "POST", "/api/v1/app/acme/msg", testAdminToken, msg, nil) // from the cache

	// Deleted on the other node: 404 here at once, not a message for a
	// deleted application.
	b.mustDo(http.StatusNoContent, "DELETE", "/api/v1/app/acme", testAdminToken, nil, nil)
	status, body := a.do("POST", "/api/v1/app/acme/msg", testAdminToken, msg)
	if status != http.StatusNotFound {
		t.Fatalf("publish to a deleted application: %d %s, want 404", status, body)
	}
	assertErrorBody(t, status, body, "not_found", nil)

	// Recreated under the same uid on the other node: the publish lands in
	// the new application.
	var second applicationOut
	b.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "Acme", "uid": "acme"}, &second)
	a.mustDo(http.StatusAccepted, "POST", "/api/v1/app/acme/msg", testAdminToken, msg, nil)
	a.mustDo(http.StatusAccepted, "POST", "/api/v1/app/acme/msg", testAdminToken, msg, nil)
	msgs, err := a.st.ListMessages(context.Background(), store.ListMessagesParams{AppID: second.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("new application has %d messages, want 2", len(msgs))
	}

	// A uid changed on this node is followed at once: the old uid is gone.
	a.mustDo(http.StatusOK, "PUT", "/api/v1/app/"+second.ID, testAdminToken, map[string]any{"name": "Acme", "uid": "acme-2"}, nil)
	if status, body := a.do("POST", "/api/v1/app/acme/msg", testAdminToken, msg); status != http.StatusNotFound {
		t.Fatalf("publish to a renamed uid: %d %s, want 404", status, body)
	}
	a.mustDo(http.StatusAccepted, "POST", "/api/v1/app/acme-2/msg", testAdminToken, msg, nil)

}
