package ops

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Defaults of CleanerConfig.
const (
	DefaultHistoryRetention = 90 * 24 * time.Hour
	DefaultCleanInterval    = time.Minute
	DefaultCleanBatch       = 50
	DefaultCleanPause       = 20 * time.Millisecond
)

// CleanerStore is the part of store.Store the cleaner uses.
type CleanerStore interface {
	PurgeBatch(ctx context.Context, p store.PurgeParams) (store.PurgeResult, error)
	ReleaseCleanerLease(ctx context.Context, owner string) error
	DeleteHealthRollups(ctx context.Context, width time.Duration, before time.Time) (int64, error)
}

// Health rollups are kept, by width: minutes for two days, hours for 60
// days (the health route reads at most 1,440 buckets of a width), days as
// long as the message history.
const (
	keepMinuteRollups = 48 * time.Hour
	keepHourRollups   = 60 * 24 * time.Hour
)

// rollupsKey counts the health rollup rows removed.
const rollupsKey = "health_rollups"

// CleanerConfig configures a Cleaner; zero fields take the defaults.
type CleanerConfig struct {
	// Store is the database; required.
	Store CleanerStore
	// NodeID names this node in the cleaner's lease.
	NodeID string
	// HistoryRetention is how long message rows, with their deliveries
	// and attempts, and ended background tasks are kept; a message also
	// keeps its row while its payload is kept and while a delivery of it
	// is pending.
	HistoryRetention time.Duration
	// Interval is the time between the starts of two runs.
	Interval time.Duration
	// BatchSize is the most rows one batch looks at.
	BatchSize int
	// Pause is the least wait between two batches, which leaves the
	// database to delivery; the wait is at least as long as the batch
	// took. Negative: no wait.
	Pause time.Duration
	// LeaseTTL is how long the lease a batch takes lasts: another node
	// may clean that long after this one stopped mid-run.
	LeaseTTL time.Duration
	// Logger receives a line per run; nil means slog.Default().
	Logger *slog.Logger
	// Report, when set, is told what each run removed, by kind, as it is
	// counted (metrics.Metrics implements it).
	Report CleanerReport
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CleanerReport is told of what the cleaner removed.
type CleanerReport interface {
	CleanerRemoved(kind string, n int)
}

// CleanerStats is the cleaner's progress on this node, for metrics.
type CleanerStats struct {
	// Runs counts the runs this node completed (holding the lease).
	Runs int64
	// LastRun is when the last completed run ended; zero before one.
	LastRun time.Time
	// LastDuration is how long it took.
	LastDuration time.Duration
	// Removed counts, per kind, the rows removed since start (payloads
	// dropped for store.PurgePayloads); "attempts" counts attempts
	// emptied or removed with their message.
	Removed map[string]int64
	// Last is Removed for the last completed run alone.
	Last map[string]int64
	// Errors counts runs that ended on a store error.
	Errors int64
}

// attemptsKey is the CleanerStats key of attempts emptied or removed.
const attemptsKey = "attempts"

// Cleaner applies retention: every Interval it takes the cluster-wide
// cleaner lease and works through store.PurgeKinds in small batches, each
// its own short transaction, pausing between them. Nodes that find the
// lease held skip the run. What goes and when:
//
//   - a payload, and the response bodies of its message's attempts, once
//     its expiry (set at publish from the message's or the server's
//     retention) has passed and no delivery of the message is pending:
//     retries of a pending delivery always have the payload, and it goes
//     once the last one ends;
//   - a message row, with its deliveries and attempts, once it is older
//     than HistoryRetention, its payload has gone, and no delivery of it
//     is pending;
//   - idempotency records and portal tokens once expired;
//   - background tasks that ended more than HistoryRetention ago.
type Cleaner struct {
	ccfg CleanerConfig

	mu    sync.Mutex
	stats CleanerStats
}

// NewCleaner returns a cleaner for cfg.
func NewCleaner(cfg CleanerConfig) *Cleaner {
	if cfg.HistoryRetention <= 0 {
		cfg.HistoryRetention = DefaultHistoryRetention
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultCleanInterval
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultCleanBatch
	}
	if cfg.Pause < 0 {
		cfg.Pause = 0
	} else if cfg.Pause == 0 {
		cfg.Pause = DefaultCleanPause
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
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
	return &Cleaner{ccfg: cfg, stats: CleanerStats{Removed: map[string]int64{}, Last: map[string]int64{}}}
}

// Stats returns a copy of the cleaner's progress.
func (c *Cleaner) Stats() CleanerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Removed = maps.Clone(c.stats.Removed)
	st.Last = maps.Clone(c.stats.Last)
	return st
}

// Run cleans every Interval, starting at once, until ctx ends; it then
// gives up the lease and returns nil. Store failures are logged and the
// run is tried again at the next interval.
func (c *Cleaner) Run(ctx context.Context) error {
	if c.ccfg.Store == nil {
		return errors.New("ops: cleaner without a store")
	}
	defer func() {
		// A fresh context: ctx has ended, and another node should not
		// have to wait out the lease.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.ccfg.Store.ReleaseCleanerLease(rctx, c.ccfg.NodeID); err != nil {
			c.ccfg.Logger.Warn("cleaner: release lease", "error", err)
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		_, _ = c.RunOnce(ctx)
		timer.Reset(c.ccfg.Interval)
	}
}

// RunOnce is one run: every kind, batch after batch, until each is done,
// the lease is held by another node (false, nil), or ctx ends. It returns
// whether this node ran, and the first store error.
func (c *Cleaner) RunOnce(ctx context.Context) (bool, error) {
	cfg := c.ccfg
	start := cfg.Now()
	removed := map[string]int64{}
	for _, kind := range store.PurgeKinds {
		cursor := ""
		for ctx.Err() == nil {
			now := cfg.Now()
			began := time.Now()
			res, err := cfg.Store.PurgeBatch(ctx, store.PurgeParams{
				Kind:       kind,
				Owner:      cfg.NodeID,
				Now:        now,
				LeaseUntil: now.Add(cfg.LeaseTTL),
				Limit:      cfg.BatchSize,
				Cursor:     cursor,
				Before:     now.Add(-cfg.HistoryRetention),
			})
			if errors.Is(err, store.ErrLeaseHeld) {
				cfg.Logger.Debug("cleaner: another node holds the lease")
				c.add(removed, false, start)
				return false, nil
			}
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				cfg.Logger.Error("cleaner: batch failed", "kind", string(kind), "error", err)
				c.add(removed, false, start)
				c.mu.Lock()
				c.stats.Errors++
				c.mu.Unlock()
				return true, err
			}
			removed[string(kind)] += int64(res.Removed)
			removed[attemptsKey] += int64(res.Attempts)
			cursor = res.Cursor
			if res.Done {
				break
			}
			if cfg.Pause > 0 {
				// At least twice as long as the batch took: the cleaner
				// holds the database (SQLite's one writer) at most a third
				// of the time.
				select {
				case <-ctx.Done():
				case <-time.After(max(cfg.Pause, 2*time.Since(began))):
				}
			}
		}
	}
	if ctx.Err() == nil {
		now := cfg.Now()
		for _, keep := range []struct {
			width, age time.Duration
		}{{hookrelay.HealthMinute, keepMinuteRollups}, {hookrelay.HealthHour, keepHourRollups}, {hookrelay.HealthDay, cfg.HistoryRetention}} {
			n, err := cfg.Store.DeleteHealthRollups(ctx, keep.width, now.Add(-keep.age))
			if err != nil {
				cfg.Logger.Error("cleaner: health rollups", "error", err)
				break
			}
			removed[rollupsKey] += n
		}
	}
	if ctx.Err() != nil {
		c.add(removed, false, start)
		return true, nil
	}
	c.add(removed, true, start)
	args := []any{"duration", cfg.Now().Sub(start).Round(time.Millisecond).String()}
	for _, k := range store.PurgeKinds {
		args = append(args, string(k), removed[string(k)])
	}
	args = append(args, attemptsKey, removed[attemptsKey], rollupsKey, removed[rollupsKey])
	cfg.Logger.Info("cleaner: run done", args...)
	return true, nil
}

// add counts removed into the totals and, for a completed run, records it
// as the last one.
func (c *Cleaner) add(removed map[string]int64, completed bool, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range removed {
		c.stats.Removed[k] += n
		if c.ccfg.Report != nil && n > 0 {
			c.ccfg.Report.CleanerRemoved(k, int(n))
		}
	}
	if completed {
		c.stats.Runs++
		c.stats.LastRun = c.ccfg.Now()
		c.stats.LastDuration = c.stats.LastRun.Sub(start)
		c.stats.Last = maps.Clone(removed)
	}
}
