package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// vacuumPages is the most free pages one cleaner batch gives back to the
// file system (512 KiB of 4 KiB pages): more than a batch frees, and short
// enough not to hold the writer for long (each page given back may move
// a page from the end of the file). Never 0, which would mean all.
const vacuumPages = 128

// pendingDelivery is true for a message (alias m) one of whose deliveries
// is pending or being sent.
const pendingDelivery = `EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.status IN (1, 3))`

// PurgeBatch runs one batch of the retention cleaner under its lease, then
// returns free pages to the file system.
func (s *Store) PurgeBatch(ctx context.Context, p store.PurgeParams) (store.PurgeResult, error) {
	if p.Limit <= 0 {
		return store.PurgeResult{}, errors.New("purge batch: no limit")
	}
	var res store.PurgeResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx,
			`INSERT INTO cleaner_lease (id, owner, lease_until) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
			WHERE cleaner_lease.owner = excluded.owner OR cleaner_lease.lease_until <= ?`,
			p.Owner, micros(p.LeaseUntil), micros(p.Now))
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = store.ErrLeaseHeld
			}
			return err
		}
		switch p.Kind {
		case store.PurgePayloads:
			res, err = purgePayloads(ctx, tx, p)
		case store.PurgeMessages:
			res, err = purgeMessages(ctx, tx, p)
		case store.PurgeIdempotency:
			res, err = purgeRows(ctx, tx, p,
				`DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at <= ? LIMIT ?)`,
				micros(p.Now))
		case store.PurgeTokens:
			res, err = purgeRows(ctx, tx, p,
				`DELETE FROM tokens WHERE id IN (SELECT id FROM tokens
					WHERE kind = ? AND expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)`,
				string(store.TokenPortal), micros(p.Now))
			if err == nil {
				// Expired portal sessions go with the tokens.
				var sess store.PurgeResult
				sess, err = purgeRows(ctx, tx, p,
					`DELETE FROM portal_sessions WHERE id IN (SELECT id FROM portal_sessions WHERE expires_at <= ? LIMIT ?)`,
					micros(p.Now))
				res = res.Add(sess)
			}
		case store.PurgeTasks:
			res, err = purgeRows(ctx, tx, p,
				`DELETE FROM background_tasks WHERE id IN (SELECT id FROM background_tasks
					WHERE status IN (?, ?) AND updated_at < ? LIMIT ?)`,
				store.TaskFinished, store.TaskFailed, micros(p.Before))
		default:
			err = fmt.Errorf("unknown purge kind %q", p.Kind)
		}
		return err
	})
	if err != nil {
		return store.PurgeResult{}, fmt.Errorf("purge %s: %w", p.Kind, err)
	}
	if _, err := s.wdb.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumPages)); err != nil {
		return res, fmt.Errorf("purge %s: incremental vacuum: %w", p.Kind, err)
	}
	return res, nil
}

// purgeRows runs a DELETE whose last argument is p.Limit; it is done when
// it removed fewer.
func purgeRows(ctx context.Context, tx *sql.Tx, p store.PurgeParams, query string, args ...any) (store.PurgeResult, error) {
	r, err := tx.ExecContext(ctx, query, append(args, p.Limit)...)
	if err != nil {
		return store.PurgeResult{}, err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return store.PurgeResult{}, err
	}
	return store.PurgeResult{Scanned: int(n), Removed: int(n), Done: int(n) < p.Limit}, nil
}

// purgePayloads drops the expired payloads among the next p.Limit kept
// ones in expiry order, skipping messages with a pending delivery.
func purgePayloads(ctx context.Context, tx *sql.Tx, p store.PurgeParams) (store.PurgeResult, error) {
	res := store.PurgeResult{Cursor: p.Cursor}
	after, afterID, err := store.ParseExpiryCursor(p.Cursor)
	if err != nil {
		return res, err
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT m.id, m.payload_expires_at, `+pendingDelivery+` FROM messages m
		WHERE m.payload IS NOT NULL AND m.payload_expires_at IS NOT NULL AND m.payload_expires_at <= ?
			AND (m.payload_expires_at, m.id) > (?, ?)
		ORDER BY m.payload_expires_at, m.id LIMIT ?`,
		micros(p.Now), after, afterID, p.Limit)
	if err != nil {
		return res, err
	}
	var expired []any
	for rows.Next() {
		var id string
		var expires int64
		var pending bool
		if err := rows.Scan(&id, &expires, &pending); err != nil {
			rows.Close()
			return res, err
		}
		res.Scanned++
		res.Cursor = store.ExpiryCursor(expires, id)
		if !pending {
			expired = append(expired, id)
		}
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.Done = res.Scanned < p.Limit
	if len(expired) == 0 {
		return res, nil
	}
	in := placeholders(len(expired))
	r, err := tx.ExecContext(ctx, `UPDATE messages SET payload = NULL WHERE id IN (`+in+`)`, expired...)
	if err != nil {
		return res, err
	}
	n, _ := r.RowsAffected()
	res.Removed = int(n)
	r, err = tx.ExecContext(ctx, `UPDATE attempts SET response = '' WHERE msg_id IN (`+in+`)`, expired...)
	if err != nil {
		return res, err
	}
	n, _ = r.RowsAffected()
	res.Attempts = int(n)
	return res, nil
}

// purgeMessages removes, among the next p.Limit messages by ID (creation
// order), those created before p.Before whose payload has expired and that
// have no pending delivery, with their deliveries and attempts.
func purgeMessages(ctx context.Context, tx *sql.Tx, p store.PurgeParams) (store.PurgeResult, error) {
	res := store.PurgeResult{Cursor: p.Cursor}
	rows, err := tx.QueryContext(ctx,
		`SELECT m.id, m.created_at,
			m.payload IS NULL OR m.payload_expires_at IS NULL OR m.payload_expires_at <= ?, `+pendingDelivery+`
		FROM messages m WHERE m.id > ? ORDER BY m.id LIMIT ?`,
		micros(p.Now), p.Cursor, p.Limit)
	if err != nil {
		return res, err
	}
	scan := store.NewHistoryScan(p)
	for rows.Next() {
		var id string
		var created int64
		var expired, pending bool
		if err := rows.Scan(&id, &created, &expired, &pending); err != nil {
			rows.Close()
			return res, err
		}
		if !scan.Row(id, time.UnixMicro(created), expired, pending) {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	res = scan.Finish()
	if len(scan.Gone) == 0 {
		return res, nil
	}
	gone := make([]any, len(scan.Gone))
	for i, id := range scan.Gone {
		gone[i] = id
	}
	in := placeholders(len(gone))
	r, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE msg_id IN (`+in+`)`, gone...)
	if err != nil {
		return res, err
	}
	n, _ := r.RowsAffected()
	res.Attempts = int(n)
	if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE msg_id IN (`+in+`)`, gone...); err != nil {
		return res, err
	}
	r, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (`+in+`)`, gone...)
	if err != nil {
		return res, err
	}
	n, _ = r.RowsAffected()
	res.Removed = int(n)
	return res, nil
}

// ReleaseCleanerLease ends owner's cleaner lease.
func (s *Store) ReleaseCleanerLease(ctx context.Context, owner string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM cleaner_lease WHERE owner = ?`, owner); err != nil {
		return fmt.Errorf("release cleaner lease: %w", err)
	}
	return nil
}
