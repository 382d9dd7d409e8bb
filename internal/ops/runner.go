package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Defaults of Config.
const (
	DefaultLeaseTTL     = 30 * time.Second
	DefaultPollInterval = 5 * time.Second
	DefaultBatchSize    = 500
)

// Store is the part of store.Store the runner uses.
type Store interface {
	ClaimBackgroundTask(ctx context.Context, p store.ClaimTaskParams) (*store.BackgroundTask, error)
	SaveBackgroundTask(ctx context.Context, id, owner string, now time.Time, st store.TaskState) error
	RecoverBatch(ctx context.Context, step store.TaskStep, p store.RecoverParams) (store.BatchResult, error)
	ReplayBatch(ctx context.Context, step store.TaskStep, p store.ReplayParams) (store.BatchResult, error)
	BulkReplayBatch(ctx context.Context, step store.TaskStep, p store.BulkReplayParams) (store.BatchResult, error)
	ExpungeContentBatch(ctx context.Context, step store.TaskStep, appID string) (store.BatchResult, error)
	// What the usage tasks read.
	GetApplication(ctx context.Context, envID, idOrUID string) (*hookrelay.Application, error)
	ListApplications(ctx context.Context, envID string, page store.Page) ([]hookrelay.Application, error)
	ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error)
	CountAppDestinations(ctx context.Context, appID string, since, until time.Time) (int64, error)
}

// Waker is told that deliveries became due.
type Waker interface{ Wake() }

// Config configures a Runner; zero fields take the defaults.
type Config struct {
	// Store holds the tasks; required.
	Store Store
	// NodeID names this node in the tasks it holds.
	NodeID string
	// LeaseTTL is how long a task stays held without a new batch: a dead
	// node's task is resumed elsewhere that long after its last batch.
	LeaseTTL time.Duration
	// PollInterval is how often the runner looks for tasks when nobody
	// wakes it: tasks another node released or left to lapse.
	PollInterval time.Duration
	// BatchSize is the most items (deliveries or messages) one batch looks
	// at; each batch is one short transaction.
	BatchSize int
	// Waker, when set, is told whenever a batch queued deliveries.
	Waker Waker
	// Logger receives task progress and failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is told of every batch committed and every task
	// ended on this node.
	Progress Progress
}

// Progress is told what background tasks do, for monitoring
// (internal/metrics implements it).
type Progress interface {
	// TaskBatch is told of a committed batch of a task of kind (e.g.
	// "endpoint.recover") and how many deliveries it recovered or created.
	TaskBatch(kind string, changed int)
	// TaskEnded is told that a task of kind ended with status
	// (store.TaskFinished or store.TaskFailed).
	TaskEnded(kind, status string)
}

// Runner works background tasks, one at a time, on behalf of one node.
type Runner struct {
	cfg    Config
	wake   chan struct{}
	claims atomic.Int64
}

// NewRunner returns a runner for cfg.
func NewRunner(cfg Config) *Runner {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "node"
	}
	return &Runner{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake tells the runner that a task may be runnable now (one was just
// created). It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works tasks until ctx ends: it claims the oldest runnable task, works
// it batch by batch until it ends or is lost, and looks again; with nothing
// to do it waits for Wake or PollInterval. When ctx ends during a task, the
// batch in progress commits, the task is handed back (no owner, so another
// node takes it at once) and Run returns nil. Store failures are logged and
// retried; a task whose node fails to renew its lease is resumed by any node
// once the lease lapses.
func (r *Runner) Run(ctx context.Context) error {
	if r.cfg.Store == nil {
		return errors.New("ops: no store")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil {
			t, owner, err := r.claim(ctx)
			if errors.Is(err, hookrelay.ErrNotFound) || ctx.Err() != nil {
				break
			}
			if err != nil {
				r.cfg.Logger.Warn("claim background task", "err", err)
				break
			}
			r.work(ctx, t, owner)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(r.cfg.PollInterval)
	}
}

// claim leases a runnable task under an owner name of its own: each claim
// is a holder distinct from every other, this node's earlier ones included.
func (r *Runner) claim(ctx context.Context) (*store.BackgroundTask, string, error) {
	owner := fmt.Sprintf("%s/%d", r.cfg.NodeID, r.claims.Add(1))
	now := r.cfg.Now()
	cctx, cancel := context.WithTimeout(ctx, r.cfg.LeaseTTL)
	defer cancel()
	t, err := r.cfg.Store.ClaimBackgroundTask(cctx, store.ClaimTaskParams{
		Owner: owner, Now: now, LeaseUntil: now.Add(r.cfg.LeaseTTL), Tasks: Kinds,
	})
	return t, owner, err
}

// kind is how one kind of task runs a batch, and which count it keeps.
// A kind with list set also appends what each batch returns to
// data[list].
type kind struct {
	key   string
	batch func(ctx context.Context, step store.TaskStep) (store.BatchResult, error)
	list  string
	items func() []any
}

// kindOf returns how to run t, or an error when its input cannot be read.
func (r *Runner) kindOf(t *store.BackgroundTask) (kind, error) {
	switch t.Task {
	case KindRecover:
		var p store.RecoverParams
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return kind{}, fmt.Errorf("read recover params: %w", err)
		}
		return kind{key: keyRecovered, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return r.cfg.Store.RecoverBatch(ctx, step, p)
		}}, nil
	case KindReplay:
		var p store.ReplayParams
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return kind{}, fmt.Errorf("read replay params: %w", err)
		}
		return kind{key: keyReplayed, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return r.cfg.Store.ReplayBatch(ctx, step, p)
		}}, nil
	case KindBulkReplay:
		var p store.BulkReplayParams
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return kind{}, fmt.Errorf("read bulk replay params: %w", err)
		}
		return kind{key: keyMessagesSent, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return r.cfg.Store.BulkReplayBatch(ctx, step, p)
		}}, nil
	case KindPurgeContent:
		var p PurgeContentParams
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return kind{}, fmt.Errorf("read purge content params: %w", err)
		}
		return kind{key: keyMessagesPurged, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return r.cfg.Store.ExpungeContentBatch(ctx, step, p.AppID)
		}}, nil
	case KindAppStats:
		var p AppStatsParams
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return kind{}, fmt.Errorf("read application stats params: %w", err)
		}
		u := usage{store: r.cfg.Store, envID: t.EnvID, appIDs: p.AppIDs, owner: t}
		return kind{key: keyApps, list: keyAppStats, items: u.take, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return u.batch(ctx, step, func(ctx context.Context, app *hookrelay.Application) (any, error) {
				n, err := r.cfg.Store.CountAppDestinations(ctx, app.ID, p.Since, p.Until)
				if err != nil {
					return nil, err
				}
				return map[string]any{"appId": app.ID, "appUid": app.UID, "messageDestinations": n}, nil
			})
		}}, nil
	case KindEventTypeAggregate:
		u := usage{store: r.cfg.Store, envID: t.EnvID, owner: t}
		return kind{key: keyApps, list: keyEventTypes, items: u.take, batch: func(ctx context.Context, step store.TaskStep) (store.BatchResult, error) {
			return u.batch(ctx, step, func(ctx context.Context, app *hookrelay.Application) (any, error) {
				return subscriptions(ctx, r.cfg.Store, app)
			})
		}}, nil
	}
	return kind{}, fmt.Errorf("unknown task kind %q", t.Task)
}

// count reads a count of data, which JSON may have made a float64.
func count(data map[string]any, key string) int {
	switch v := data[key].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return 0
}

// work runs t, held by owner, until it ends, is lost, fails, or ctx ends.
func (r *Runner) work(ctx context.Context, t *store.BackgroundTask, owner string) {
	log := r.cfg.Logger.With("task", t.ID, "kind", t.Task, "owner", owner)
	data := maps.Clone(t.Data)
	if data == nil {
		data = map[string]any{}
	}
	k, err := r.kindOf(t)
	if err != nil {
		r.end(log, t, owner, t.Cursor, data, err)
		return
	}
	cursor := t.Cursor
	if cursor != "" {
		log.Info("resuming background task", "cursor", cursor, k.key, count(data, k.key))
	}
	for {
		if ctx.Err() != nil {
			r.release(log, t.ID, owner, cursor, data)
			return
		}
		start := time.Now()
		now := r.cfg.Now()
		var next map[string]any
		step := store.TaskStep{ID: t.ID, Owner: owner, Now: now, Limit: r.cfg.BatchSize,
			Next: func(b store.BatchResult) store.TaskState {
				next = maps.Clone(data)
				next[k.key] = count(data, k.key) + b.Changed
				if k.list != "" {
					prev, _ := data[k.list].([]any)
					next[k.list] = append(slices.Clone(prev), k.items()...)
				}
				if b.Done {
					return store.TaskState{Status: store.TaskFinished, Cursor: b.Cursor, Data: next}
				}
				until := now.Add(r.cfg.LeaseTTL)
				return store.TaskState{Status: store.TaskRunning, Cursor: b.Cursor, Data: next, LeaseUntil: &until}
			}}
		// A batch that started commits even when ctx ends meanwhile, so
		// that the hand-off records its progress.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LeaseTTL)
		res, err := k.batch(bctx, step)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, store.ErrTaskLost):
			log.Warn("background task lost to another node", "cursor", cursor)
			return
		case errors.Is(err, hookrelay.ErrNotFound):
			what := "endpoint not found"
			if t.Task == KindPurgeContent {
				what = "application not found"
			}
			r.end(log, t, owner, cursor, data, errors.New(what))
			return
		default:
			// Its lease lapses and any node, this one included, resumes it.
			log.Warn("background task batch failed; it resumes when its lease lapses", "err", err)
			return
		}
		data, cursor = next, res.Cursor
		if r.cfg.Progress != nil {
			r.cfg.Progress.TaskBatch(t.Task, res.Changed)
			if res.Done {
				r.cfg.Progress.TaskEnded(t.Task, store.TaskFinished)
			}
		}
		if res.Changed > 0 && r.cfg.Waker != nil {
			r.cfg.Waker.Wake()
		}
		if res.Done {
			log.Info("background task finished", k.key, count(data, k.key))
			return
		}
		// Leave the database to live traffic for as long as the batch
		// held it (bounded well inside the lease).
		pause := min(time.Since(start), r.cfg.LeaseTTL/4)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// release hands t back with its progress, so that any node resumes it at
// once.
func (r *Runner) release(log *slog.Logger, id, owner, cursor string, data map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.cfg.Store.SaveBackgroundTask(ctx, id, owner, r.cfg.Now(),
		store.TaskState{Status: store.TaskRunning, Cursor: cursor, Data: data})
	if err != nil {
		log.Warn("hand back background task; it resumes when its lease lapses", "err", err)
		return
	}
	log.Info("background task handed back", "cursor", cursor)
}

// end marks t failed for cause.
func (r *Runner) end(log *slog.Logger, t *store.BackgroundTask, owner, cursor string, data map[string]any, cause error) {
	data = maps.Clone(data)
	data[keyError] = cause.Error()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.cfg.Store.SaveBackgroundTask(ctx, t.ID, owner, r.cfg.Now(),
		store.TaskState{Status: store.TaskFailed, Cursor: cursor, Data: data})
	if err != nil {
		log.Warn("mark background task failed", "cause", cause, "err", err)
		return
	}
	if r.cfg.Progress != nil {
		r.cfg.Progress.TaskEnded(t.Task, store.TaskFailed)
	}
	log.Warn("background task failed", "cause", cause)
}
