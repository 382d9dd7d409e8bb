package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestBatchFailureKeepsTheOthers drives one group commit by hand: a request
// that fails after writing must leave nothing behind, and the requests
// around it must be committed, each having run again in a savepoint.
func TestBatchFailureKeepsTheOthers(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	ctx := t.Context()

	insertEnv := func(id string, runs *int, fail error) *writeReq {
		return &writeReq{ctx: ctx, done: make(chan struct{}), fn: func(ctx context.Context, t *writeTx) error {
			*runs++
			if _, err := t.tx.ExecContext(ctx,
				`INSERT INTO environments (id, name, created_at) VALUES (?, ?, 0)`, id, id); err != nil {
				return err
			}
			return fail
		}}
	}
	boom := errors.New("boom")
	var runsA, runsB, runsC int
	a := insertEnv("env_a", &runsA, nil)
	b := insertEnv("env_b", &runsB, boom)
	c := insertEnv("env_c", &runsC, nil)
	s.commitBatch([]*writeReq{a, b, c})

	if a.err != nil || c.err != nil {
		t.Fatalf("errors of the good requests: %v, %v", a.err, c.err)
	}
	if !errors.Is(b.err, boom) {
		t.Fatalf("error of the failing request: %v, want %v", b.err, boom)
	}
	if runsA != 2 || runsB != 2 || runsC != 1 {
		t.Errorf("runs = %d, %d, %d; want 2, 2, 1 (optimistic pass, then isolated)", runsA, runsB, runsC)
	}
	for id, want := range map[string]bool{"env_a": true, "env_b": false, "env_c": true} {
		_, err := s.GetEnvironmentByName(ctx, id)
		switch {
		case want && err != nil:
			t.Errorf("%s: %v, want it stored", id, err)
		case !want && !errors.Is(err, hookrelay.ErrNotFound):
			t.Errorf("%s: %v, want not found", id, err)
		}
	}

	// A request alone needs no second run: its transaction is its savepoint.
	var runsD int
	d := insertEnv("env_d", &runsD, boom)
	s.commitBatch([]*writeReq{d})
	if !errors.Is(d.err, boom) || runsD != 1 {
		t.Errorf("lone failing request: err %v after %d runs, want %v after 1", d.err, runsD, boom)
	}
	if _, err := s.GetEnvironmentByName(ctx, "env_d"); !errors.Is(err, hookrelay.ErrNotFound) {
		t.Errorf("env_d: %v, want not found", err)
	}
}

// TestDeferredPublishesInOneBatch commits publishes as one group: their
// rows are inserted together at the end, and when that fails (a taken
// eventId, one taken twice in the batch, an application gone) each publish
// still gets its own outcome and the good ones are stored with their
// deliveries.
func TestDeferredPublishesInOneBatch(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	ctx := t.Context()
	app := newApp(t, s)
	newEndpoint(t, s, app.ID)
	newEndpoint(t, s, app.ID)
	taken := "evt-taken"
	if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
		AppID: app.ID, EventType: "x", EventID: &taken, Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}

	type pub struct {
		name    string
		appID   string
		eventID string
		want    error
		req     *writeReq
		msg     *hookrelay.Message
		res     store.CreateMessageResult
	}
	twice := "evt-twice"
	pubs := []*pub{
		{name: "fine", appID: app.ID},
		{name: "taken eventId", appID: app.ID, eventID: taken, want: hookrelay.ErrConflict},
		{name: "first of a pair", appID: app.ID, eventID: twice},
		{name: "second of a pair", appID: app.ID, eventID: twice, want: hookrelay.ErrConflict},
		{name: "no such application", appID: "app_gone", want: hookrelay.ErrNotFound},
		{name: "fine too", appID: app.ID, eventID: "evt-new"},
	}
	batch := make([]*writeReq, len(pubs))
	for i, p := range pubs {
		p.msg = &hookrelay.Message{ID: hookrelay.NewID(hookrelay.PrefixMessage), AppID: p.appID,
			EventType: "x", Payload: []byte(`{"i":1}`), CreatedAt: time.Now()}
		if p.eventID != "" {
			p.msg.EventID = &p.eventID
		}
		p.req = &writeReq{ctx: ctx, done: make(chan struct{}), fn: func(ctx context.Context, t *writeTx) error {
			var err error
			p.res, err = t.create(ctx, store.CreateMessageParams{Message: p.msg})
			return err
		}}
		batch[i] = p.req
	}
	s.commitBatch(batch)

	for _, p := range pubs {
		if p.want != nil {
			if !errors.Is(p.req.err, p.want) {
				t.Errorf("%s: %v, want %v", p.name, p.req.err, p.want)
			}
			continue
		}
		if p.req.err != nil {
			t.Errorf("%s: %v", p.name, p.req.err)
			continue
		}
		if _, err := s.GetMessage(ctx, app.ID, p.msg.ID); err != nil {
			t.Errorf("%s: stored message: %v", p.name, err)
		}
		var n int
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE msg_id = ?`, p.msg.ID).Scan(&n); err != nil || n != 2 {
			t.Errorf("%s: %d deliveries (%v), want 2", p.name, n, err)
		}
	}
	var msgs int
	if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM messages`).Scan(&msgs); err != nil || msgs != 4 {
		t.Errorf("%d messages stored (%v), want 4: the first and the three good ones", msgs, err)
	}
}
