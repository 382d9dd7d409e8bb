// Package ops runs hookrelay's background work: tasks such as recovering an
// endpoint's failed deliveries or replaying the messages it missed, which
// may touch far more rows than one request should.
//
// A task is a row (store.BackgroundTask): its kind and input, its state,
// where its next batch starts, what it has done so far, and which node
// holds it until when. Any node's Runner claims a runnable task, works it
// in small batches (each one transaction that also records the task's
// cursor, counts and a fresh lease), and hands it back when it stops. A
// node that dies simply stops renewing its lease; once the lease lapses
// another node claims the task and resumes at its cursor. Because every
// batch commits together with the cursor, and only while its node still
// holds the task, no batch is applied twice and the counts are exact.
package ops

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Task kinds, as Svix's BackgroundTaskType names them.
const (
	// KindRecover makes an endpoint's failed deliveries pending again;
	// data["recovered"] counts them.
	KindRecover = "endpoint.recover"
	// KindReplay creates the deliveries an endpoint should have had and
	// has not; data["replayed"] counts them.
	KindReplay = "endpoint.replay"
)

// Data keys of the counts each kind keeps, and of the reason a task failed.
const (
	keyRecovered = "recovered"
	keyReplayed  = "replayed"
	keyError     = "error"
)

// NewRecoverTask returns the task that recovers p, ready for
// store.Store.CreateBackgroundTask: running, unowned, nothing recovered.
func NewRecoverTask(envID string, p store.RecoverParams, now time.Time) (*store.BackgroundTask, error) {
	return newTask(envID, KindRecover, keyRecovered, p, now)
}

// NewReplayTask returns the task that replays p, ready for
// store.Store.CreateBackgroundTask: running, unowned, nothing replayed.
func NewReplayTask(envID string, p store.ReplayParams, now time.Time) (*store.BackgroundTask, error) {
	return newTask(envID, KindReplay, keyReplayed, p, now)
}

func newTask(envID, kind, key string, params any, now time.Time) (*store.BackgroundTask, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("new %s task: %w", kind, err)
	}
	return &store.BackgroundTask{
		ID:        hookrelay.NewID(hookrelay.PrefixTask),
		EnvID:     envID,
		Task:      kind,
		Status:    store.TaskRunning,
		Data:      map[string]any{key: 0},
		Params:    b,
		CreatedAt: now,
		UpdatedAt: now,
	}, nil
}
