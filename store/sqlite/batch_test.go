package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hookrelay/hookrelay"
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
