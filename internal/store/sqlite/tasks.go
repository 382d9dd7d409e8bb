package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/fanout"
	"github.com/hookrelay/hookrelay/internal/store"
)

const taskColumns = `id, env_id, task, status, data, params, resume_after, lease_owner, lease_until, created_at, updated_at`

func scanTask(sc scanner) (*store.BackgroundTask, error) {
	var t store.BackgroundTask
	var data, owner sql.NullString
	var until sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.EnvID, &t.Task, &t.Status, &data, &t.Params, &t.Cursor,
		&owner, &until, &created, &updated); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &t.Data, "data"); err != nil {
		return nil, err
	}
	t.Owner = owner.String
	t.LeaseUntil = fromNullMicros(until)
	t.CreatedAt = fromMicros(created)
	t.UpdatedAt = fromMicros(updated)
	return &t, nil
}

// CreateBackgroundTask stores t, giving it an ID and times when unset. A
// missing environment is ErrNotFound.
func (s *Store) CreateBackgroundTask(ctx context.Context, t *store.BackgroundTask) error {
	if t.ID == "" {
		t.ID = hookrelay.NewID(hookrelay.PrefixTask)
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	t.UpdatedAt = normTime(t.UpdatedAt)
	t.LeaseUntil = normTimePtr(t.LeaseUntil)
	data, err := jsonMap(t.Data)
	if err != nil {
		return fmt.Errorf("create background task: %w", err)
	}
	_, err = s.wdb.ExecContext(ctx,
		`INSERT INTO background_tasks (`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.EnvID, t.Task, t.Status, data, t.Params, t.Cursor, nullIfEmpty(t.Owner),
		nullMicros(t.LeaseUntil), micros(t.CreatedAt), micros(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create background task: %w", mapInsertErr(err))
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Store) GetBackgroundTask(ctx context.Context, envID, id string) (*store.BackgroundTask, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+taskColumns+` FROM background_tasks WHERE id = ? AND env_id = ?`, id, envID)
	t, err := scanTask(row)
	if err != nil {
		return nil, fmt.Errorf("get background task: %w", notFound(err))
	}
	return t, nil
}

// ListBackgroundTasks lists the tasks of p.EnvID by ID in p.Page.Order.
func (s *Store) ListBackgroundTasks(ctx context.Context, p store.ListBackgroundTasksParams) ([]store.BackgroundTask, error) {
	q := `SELECT ` + taskColumns + ` FROM background_tasks WHERE env_id = ?`
	args := []any{p.EnvID}
	if p.Status != "" {
		q += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.Task != "" {
		q += ` AND task = ?`
		args = append(args, p.Task)
	}
	if len(p.Kinds) > 0 {
		q += ` AND task IN (` + placeholders(len(p.Kinds)) + `)`
		args = append(args, strArgs(p.Kinds)...)
	}
	cond, order, args := pageClause("id", p.Page, args)
	out, err := queryList(ctx, s.rdb, q+cond+order+` LIMIT ?`, append(args, limitArg(p.Page)), scanTask)
	if err != nil {
		return nil, fmt.Errorf("list background tasks: %w", err)
	}
	return out, nil
}

// ClaimBackgroundTask leases the oldest runnable task to p.Owner.
func (s *Store) ClaimBackgroundTask(ctx context.Context, p store.ClaimTaskParams) (*store.BackgroundTask, error) {
	now := micros(p.Now)
	args := []any{p.Owner, micros(p.LeaseUntil), now, now}
	kinds := ""
	if len(p.Tasks) > 0 {
		kinds = ` AND task IN (` + placeholders(len(p.Tasks)) + `)`
		args = append(args, strArgs(p.Tasks)...)
	}
	row := s.wdb.QueryRowContext(ctx,
		`UPDATE background_tasks SET lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE id = (SELECT id FROM background_tasks
			WHERE status = 'running' AND (lease_until IS NULL OR lease_until <= ?)`+kinds+`
			ORDER BY created_at, id LIMIT 1)
		RETURNING `+taskColumns, args...)
	t, err := scanTask(row)
	if err != nil {
		return nil, fmt.Errorf("claim background task: %w", notFound(err))
	}
	return t, nil
}

// execer is the write connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// saveTask writes st to the task owner holds, or returns ErrTaskLost.
func saveTask(ctx context.Context, db execer, id, owner string, now time.Time, st store.TaskState) error {
	switch st.Status {
	case store.TaskRunning, store.TaskFinished, store.TaskFailed:
	default:
		return fmt.Errorf("unknown task status %q", st.Status)
	}
	data, err := jsonMap(st.Data)
	if err != nil {
		return err
	}
	var newOwner, until any
	if st.Status == store.TaskRunning && st.LeaseUntil != nil {
		newOwner, until = owner, micros(*st.LeaseUntil)
	}
	err = mustAffect(db.ExecContext(ctx,
		`UPDATE background_tasks SET status = ?, resume_after = ?, data = ?, lease_owner = ?,
			lease_until = ?, updated_at = ?
		WHERE id = ? AND lease_owner = ? AND status = 'running'`,
		st.Status, st.Cursor, data, newOwner, until, micros(now), id, owner))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return store.ErrTaskLost
	}
	return err
}

// SaveBackgroundTask records st for the task owner holds.
func (s *Store) SaveBackgroundTask(ctx context.Context, id, owner string, now time.Time, st store.TaskState) error {
	if err := saveTask(ctx, s.wdb, id, owner, now, st); err != nil {
		return fmt.Errorf("save background task: %w", err)
	}
	return nil
}

// step runs one batch of a task in one write transaction: it checks that
// step.Owner holds the task, runs batch from the stored cursor, and records
// what step.Next makes of the result.
func (s *Store) step(ctx context.Context, step store.TaskStep, batch func(tx *sql.Tx, cursor string) (store.BatchResult, error)) (store.BatchResult, error) {
	if step.Limit <= 0 || step.Next == nil {
		return store.BatchResult{}, errors.New("task step without a limit or Next")
	}
	var res store.BatchResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var cursor string
		err := tx.QueryRowContext(ctx,
			`SELECT resume_after FROM background_tasks WHERE id = ? AND lease_owner = ? AND status = 'running'`,
			step.ID, step.Owner).Scan(&cursor)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrTaskLost
		}
		if err != nil {
			return err
		}
		if res, err = batch(tx, cursor); err != nil {
			return err
		}
		return saveTask(ctx, tx, step.ID, step.Owner, step.Now, step.Next(res))
	})
	return res, err
}

// RecoverBatch makes the failed deliveries among the endpoint's next
// step.Limit ones (by message ID) pending and due at step.Now.
func (s *Store) RecoverBatch(ctx context.Context, step store.TaskStep, p store.RecoverParams) (store.BatchResult, error) {
	now := micros(step.Now)
	res, err := s.step(ctx, step, func(tx *sql.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		if err := existsIn(ctx, tx, `SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, p.EndpointID, p.AppID); err != nil {
			return res, err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT d.id, d.msg_id, d.status, m.created_at FROM deliveries d JOIN messages m ON m.id = d.msg_id
			WHERE d.endpoint_id = ? AND d.msg_id > ? ORDER BY d.msg_id LIMIT ?`,
			p.EndpointID, cursor, step.Limit)
		if err != nil {
			return res, err
		}
		var failed []string
		since, until := micros(p.Since), int64(-1)
		if p.Until != nil {
			until = micros(*p.Until)
		}
		for rows.Next() {
			var id string
			var status hookrelay.MessageStatus
			var created int64
			if err := rows.Scan(&id, &res.Cursor, &status, &created); err != nil {
				rows.Close()
				return res, err
			}
			res.Scanned++
			if status == hookrelay.StatusFail && created >= since && (until < 0 || created < until) {
				failed = append(failed, id)
			}
		}
		if err := rows.Err(); err != nil {
			return res, err
		}
		res.Done = res.Scanned < step.Limit
		if res.Scanned == 0 {
			res.Cursor = cursor
		}
		for _, id := range failed {
			r, err := tx.ExecContext(ctx,
				`UPDATE deliveries SET status = 1, next_attempt = ?, updated_at = ? WHERE id = ? AND status = 2`,
				now, now, id)
			if err != nil {
				return res, err
			}
			n, _ := r.RowsAffected()
			res.Changed += int(n)
		}
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("recover batch: %w", notFound(err))
	}
	return res, nil
}

// ReplayBatch inserts, among the application's next step.Limit messages
// (by ID), the deliveries to the endpoint that a publish would have made
// and that are missing.
func (s *Store) ReplayBatch(ctx context.Context, step store.TaskStep, p store.ReplayParams) (store.BatchResult, error) {
	now := normTime(step.Now)
	res, err := s.step(ctx, step, func(tx *sql.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		ep, err := scanEndpoint(tx.QueryRowContext(ctx,
			`SELECT `+endpointColumns+` FROM endpoints WHERE id = ? AND app_id = ?`, p.EndpointID, p.AppID))
		if err != nil {
			return res, err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT m.id, m.event_type, m.channels, m.created_at, m.deliver_at, m.payload IS NOT NULL,
				EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.endpoint_id = ?)
			FROM messages m WHERE m.app_id = ? AND m.id > ? ORDER BY m.id LIMIT ?`,
			ep.ID, p.AppID, cursor, step.Limit)
		if err != nil {
			return res, err
		}
		var missing []*hookrelay.Message
		since, until := micros(p.Since), int64(-1)
		if p.Until != nil {
			until = micros(*p.Until)
		}
		for rows.Next() {
			m := &hookrelay.Message{AppID: p.AppID}
			var channels sql.NullString
			var created int64
			var deliverAt sql.NullInt64
			var kept, delivered bool
			if err := rows.Scan(&m.ID, &m.EventType, &channels, &created, &deliverAt, &kept, &delivered); err != nil {
				rows.Close()
				return res, err
			}
			res.Scanned++
			res.Cursor = m.ID
			if !kept || delivered || created < since || (until >= 0 && created >= until) {
				continue
			}
			if err := decodeJSON(channels, &m.Channels, "channels"); err != nil {
				rows.Close()
				return res, err
			}
			m.CreatedAt = fromMicros(created)
			m.DeliverAt = fromNullMicros(deliverAt)
			missing = append(missing, m)
		}
		if err := rows.Err(); err != nil {
			return res, err
		}
		res.Done = res.Scanned < step.Limit
		if res.Scanned == 0 {
			res.Cursor = cursor
		}
		at := micros(now)
		for _, m := range missing {
			plan, err := fanout.Plan(store.CreateMessageParams{Message: m}, []hookrelay.Endpoint{*ep}, now)
			if err != nil {
				return res, err
			}
			due := at
			if m.DeliverAt != nil && m.DeliverAt.After(now) {
				due = micros(*m.DeliverAt) // not before the message's deliverAt
			}
			for _, d := range plan.Deliveries {
				r, err := tx.ExecContext(ctx,
					`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, next_attempt,
						manual, created_at, updated_at)
					VALUES (?, ?, ?, ?, 1, 0, ?, 0, ?, ?)
					ON CONFLICT (msg_id, endpoint_id) DO NOTHING`,
					d.ID, m.ID, d.Endpoint.ID, m.AppID, due, at, at)
				if err != nil {
					return res, err
				}
				n, _ := r.RowsAffected()
				res.Changed += int(n)
			}
		}
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("replay batch: %w", notFound(err))
	}
	return res, nil
}

// ExpireAppTokens makes the application's portal tokens expire at the
// latest at at.
func (s *Store) ExpireAppTokens(ctx context.Context, appID string, at time.Time) (int, error) {
	r, err := s.wdb.ExecContext(ctx,
		`UPDATE tokens SET expires_at = ? WHERE app_id = ? AND kind = ? AND (expires_at IS NULL OR expires_at > ?)`,
		micros(at), appID, string(store.TokenPortal), micros(at))
	if err != nil {
		return 0, fmt.Errorf("expire app tokens: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("expire app tokens: %w", err)
	}
	return int(n), nil
}
