package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/fanout"
	"github.com/hookrelay/hookrelay/internal/store"
)

const taskColumns = `id, env_id, task, status, data, params, resume_after, lease_owner, lease_until, created_at, updated_at`

func scanTask(row pgx.Row) (*store.BackgroundTask, error) {
	var t store.BackgroundTask
	var data []byte
	var owner *string
	if err := row.Scan(&t.ID, &t.EnvID, &t.Task, &t.Status, &data, &t.Params, &t.Cursor,
		&owner, &t.LeaseUntil, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &t.Data, "data"); err != nil {
		return nil, err
	}
	if owner != nil {
		t.Owner = *owner
	}
	return &t, nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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
	_, err = s.pool.Exec(ctx,
		`INSERT INTO background_tasks (`+taskColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.ID, t.EnvID, t.Task, t.Status, data, t.Params, t.Cursor, nullIfEmpty(t.Owner), t.LeaseUntil,
		t.CreatedAt, t.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create background task: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetBackgroundTask(ctx context.Context, envID, id string) (*store.BackgroundTask, error) {
	if !textKeys(envID, id) {
		return nil, fmt.Errorf("get background task: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM background_tasks WHERE id = $1 AND env_id = $2`, id, envID)
	t, err := scanTask(row)
	if err != nil {
		return nil, fmt.Errorf("get background task: %w", mapErr(err))
	}
	return t, nil
}

// ListBackgroundTasks lists the tasks of p.EnvID by ID in p.Page.Order.
func (s *Store) ListBackgroundTasks(ctx context.Context, p store.ListBackgroundTasksParams) ([]store.BackgroundTask, error) {
	if !textKeys(p.EnvID, p.Status, p.Task, p.Page.Iterator) || !textKeys(p.Kinds...) {
		return nil, nil
	}
	var q query
	q.add(`SELECT ` + taskColumns + ` FROM background_tasks WHERE env_id = ` + q.arg(p.EnvID))
	if p.Status != "" {
		q.add(` AND status = ` + q.arg(p.Status))
	}
	if p.Task != "" {
		q.add(` AND task = ` + q.arg(p.Task))
	}
	if len(p.Kinds) > 0 {
		q.add(` AND task = ANY (` + q.arg(p.Kinds) + `)`)
	}
	q.page("id", p.Page)
	out, err := queryList(ctx, s.pool, &q, scanTask)
	if err != nil {
		return nil, fmt.Errorf("list background tasks: %w", err)
	}
	return out, nil
}

// ClaimBackgroundTask leases the oldest runnable task to p.Owner. Rows
// another node is claiming or stepping are skipped, never waited for.
func (s *Store) ClaimBackgroundTask(ctx context.Context, p store.ClaimTaskParams) (*store.BackgroundTask, error) {
	var q query
	q.add(`UPDATE background_tasks SET lease_owner = ` + q.arg(p.Owner) + `, lease_until = ` + q.arg(normTime(p.LeaseUntil)) +
		`, updated_at = ` + q.arg(normTime(p.Now)) + `
		WHERE id = (SELECT id FROM background_tasks
			WHERE status = 'running' AND (lease_until IS NULL OR lease_until <= $3)`)
	if len(p.Tasks) > 0 {
		q.add(` AND task = ANY(` + q.arg(p.Tasks) + `)`)
	}
	q.add(` ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING ` + taskColumns)
	t, err := scanTask(s.pool.QueryRow(ctx, q.String(), q.args...))
	if err != nil {
		return nil, fmt.Errorf("claim background task: %w", mapErr(err))
	}
	return t, nil
}

// execer is the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// saveTask writes st to the task owner holds, or returns ErrTaskLost.
func saveTask(ctx context.Context, db execer, id, owner string, now time.Time, st store.TaskState) error {
	switch st.Status {
	case store.TaskRunning, store.TaskFinished, store.TaskFailed:
	default:
		return fmt.Errorf("unknown task status %q", st.Status)
	}
	if !textKeys(id, owner, st.Cursor) {
		return store.ErrTaskLost
	}
	data, err := jsonMap(st.Data)
	if err != nil {
		return err
	}
	var newOwner *string
	var until *time.Time
	if st.Status == store.TaskRunning && st.LeaseUntil != nil {
		newOwner, until = &owner, normTimePtr(st.LeaseUntil)
	}
	err = mustAffect(db.Exec(ctx,
		`UPDATE background_tasks SET status = $1, resume_after = $2, data = $3, lease_owner = $4,
			lease_until = $5, updated_at = $6
		WHERE id = $7 AND lease_owner = $8 AND status = 'running'`,
		st.Status, st.Cursor, data, newOwner, until, normTime(now), id, owner))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return store.ErrTaskLost
	}
	return err
}

// SaveBackgroundTask records st for the task owner holds.
func (s *Store) SaveBackgroundTask(ctx context.Context, id, owner string, now time.Time, st store.TaskState) error {
	if err := saveTask(ctx, s.pool, id, owner, now, st); err != nil {
		return fmt.Errorf("save background task: %w", err)
	}
	return nil
}

// step runs one batch of a task in one transaction: it locks the task row
// while step.Owner holds it (a claim skips a locked row), runs batch from
// the stored cursor, and records what step.Next makes of the result. It
// wakes every node when the batch queued work.
func (s *Store) step(ctx context.Context, step store.TaskStep, batch func(tx pgx.Tx, cursor string) (store.BatchResult, error)) (store.BatchResult, error) {
	if step.Limit <= 0 || step.Next == nil {
		return store.BatchResult{}, errors.New("task step without a limit or Next")
	}
	if !textKeys(step.ID, step.Owner) {
		return store.BatchResult{}, store.ErrTaskLost
	}
	var res store.BatchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cursor string
		err := tx.QueryRow(ctx,
			`SELECT resume_after FROM background_tasks
			WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE`,
			step.ID, step.Owner).Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
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
	if err != nil {
		return store.BatchResult{}, mapErr(err)
	}
	if res.Changed > 0 {
		s.wake()
	}
	return res, nil
}

// RecoverBatch makes the failed deliveries among the endpoint's next
// step.Limit ones (by message ID) pending and due at step.Now.
func (s *Store) RecoverBatch(ctx context.Context, step store.TaskStep, p store.RecoverParams) (store.BatchResult, error) {
	if !textKeys(p.AppID, p.EndpointID) {
		return store.BatchResult{}, fmt.Errorf("recover batch: %w", hookrelay.ErrNotFound)
	}
	now := normTime(step.Now)
	res, err := s.step(ctx, step, func(tx pgx.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		var found int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE id = $1 AND app_id = $2`,
			p.EndpointID, p.AppID).Scan(&found); err != nil {
			return res, err
		}
		if found == 0 {
			return res, hookrelay.ErrNotFound
		}
		var q query
		q.add(`WITH page AS (
				SELECT d.id, d.msg_id, d.status, m.created_at
				FROM deliveries d JOIN messages m ON m.id = d.msg_id
				WHERE d.endpoint_id = ` + q.arg(p.EndpointID) + ` AND d.msg_id > ` + q.arg(cursor) + `
				ORDER BY d.msg_id LIMIT ` + q.arg(step.Limit) + `
			), up AS (
				UPDATE deliveries d SET status = 1, next_attempt = ` + q.arg(now) + `, updated_at = $4
				FROM page
				WHERE d.id = page.id AND page.status = 2 AND d.status = 2
				AND page.created_at >= ` + q.arg(normTime(p.Since)))
		if p.Until != nil {
			q.add(` AND page.created_at < ` + q.arg(normTime(*p.Until)))
		}
		q.add(` RETURNING 1
			)
			SELECT (SELECT count(*) FROM page), (SELECT max(msg_id) FROM page), (SELECT count(*) FROM up)`)
		var last *string
		if err := tx.QueryRow(ctx, q.String(), q.args...).Scan(&res.Scanned, &last, &res.Changed); err != nil {
			return res, err
		}
		res.Cursor = cursor
		if last != nil {
			res.Cursor = *last
		}
		res.Done = res.Scanned < step.Limit
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("recover batch: %w", err)
	}
	return res, nil
}

// ReplayBatch inserts, among the application's next step.Limit messages
// (by ID), the deliveries to the endpoint that a publish would have made
// and that are missing.
func (s *Store) ReplayBatch(ctx context.Context, step store.TaskStep, p store.ReplayParams) (store.BatchResult, error) {
	if !textKeys(p.AppID, p.EndpointID) {
		return store.BatchResult{}, fmt.Errorf("replay batch: %w", hookrelay.ErrNotFound)
	}
	now := normTime(step.Now)
	res, err := s.step(ctx, step, func(tx pgx.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		ep, err := scanEndpoint(tx.QueryRow(ctx,
			`SELECT `+endpointColumns+` FROM endpoints WHERE id = $1 AND app_id = $2`, p.EndpointID, p.AppID))
		if err != nil {
			return res, err
		}
		rows, err := tx.Query(ctx,
			`SELECT m.id, m.event_type, m.channels, m.created_at, m.payload IS NOT NULL,
				EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.endpoint_id = $1)
			FROM messages m WHERE m.app_id = $2 AND m.id > $3 ORDER BY m.id LIMIT $4`,
			ep.ID, p.AppID, cursor, step.Limit)
		if err != nil {
			return res, err
		}
		var missing []*hookrelay.Message
		res.Cursor = cursor
		for rows.Next() {
			m := &hookrelay.Message{AppID: p.AppID}
			var kept, delivered bool
			if err := rows.Scan(&m.ID, &m.EventType, &m.Channels, &m.CreatedAt, &kept, &delivered); err != nil {
				rows.Close()
				return res, err
			}
			res.Scanned++
			res.Cursor = m.ID
			if !kept || delivered || m.CreatedAt.Before(p.Since) || (p.Until != nil && !m.CreatedAt.Before(*p.Until)) {
				continue
			}
			missing = append(missing, m)
		}
		if err := rows.Err(); err != nil {
			return res, err
		}
		res.Done = res.Scanned < step.Limit
		var ids, msgIDs []string
		for _, m := range missing {
			plan, err := fanout.Plan(store.CreateMessageParams{Message: m}, []hookrelay.Endpoint{*ep}, now)
			if err != nil {
				return res, err
			}
			for _, d := range plan.Deliveries {
				ids, msgIDs = append(ids, d.ID), append(msgIDs, m.ID)
			}
		}
		if len(ids) == 0 {
			return res, nil
		}
		// A message deleted meanwhile (its application's deletion, the
		// retention cleaner) is skipped rather than failing the batch.
		tag, err := tx.Exec(ctx,
			`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, next_attempt,
				manual, created_at, updated_at)
			SELECT u.id, m.id, $3, m.app_id, 1, 0, GREATEST($4, m.deliver_at), false, $4, $4
			FROM unnest($1::text[], $2::text[]) AS u(id, msg_id) JOIN messages m ON m.id = u.msg_id
			ON CONFLICT (msg_id, endpoint_id) DO NOTHING`,
			ids, msgIDs, ep.ID, now)
		if err != nil {
			return res, err
		}
		res.Changed = int(tag.RowsAffected())
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("replay batch: %w", err)
	}
	return res, nil
}

// ExpireAppTokens makes the application's portal tokens expire at the
// latest at at.
func (s *Store) ExpireAppTokens(ctx context.Context, appID string, at time.Time) (int, error) {
	if !textKeys(appID) {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE tokens SET expires_at = $1 WHERE app_id = $2 AND kind = $3 AND (expires_at IS NULL OR expires_at > $1)`,
		normTime(at), appID, string(store.TokenPortal))
	if err != nil {
		return 0, fmt.Errorf("expire app tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
