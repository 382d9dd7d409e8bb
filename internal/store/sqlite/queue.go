package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// ClaimDeliveries leases up to p.Limit due deliveries to p.Owner in one
// statement, earliest due first, then loads their messages and endpoints.
// A claimed delivery whose message or endpoint has meanwhile been deleted
// is left out (its row is gone with it).
//
// With exclusions, the candidates come from walking the endpoints that have
// pending deliveries (one index probe each) rather than from the head of
// the due index, which an excluded endpoint's backlog may fill: a claim
// never reads a backlog row by row.
func (s *Store) ClaimDeliveries(ctx context.Context, p store.ClaimParams) ([]store.Task, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	now := micros(p.Now)
	q := `UPDATE deliveries SET lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE id IN (`
	args := []any{p.Owner, micros(p.LeaseUntil), now}
	// Deliveries nobody holds come from the due indexes, those whose lease
	// has run out from deliveries_leased (see migration 00006).
	expired := `SELECT * FROM (SELECT id, next_attempt FROM deliveries
		WHERE lease_until IS NOT NULL AND lease_until <= ? AND status = 1 AND next_attempt <= ?`
	if len(p.ExcludeEndpoints) == 0 {
		q += `SELECT id FROM (
			SELECT * FROM (SELECT id, next_attempt FROM deliveries
				WHERE status = 1 AND lease_until IS NULL AND next_attempt <= ?
				ORDER BY next_attempt LIMIT ?)
			UNION ALL ` + expired + ` ORDER BY lease_until LIMIT ?)
			) ORDER BY next_attempt LIMIT ?`
		args = append(args, now, p.Limit, now, now, p.Limit, p.Limit)
	} else {
		eps, err := s.pendingEndpoints(ctx, p.ExcludeEndpoints)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		parts := make([]string, 0, len(eps)+1)
		for _, ep := range eps {
			parts = append(parts, `SELECT * FROM (SELECT id, next_attempt FROM deliveries
				WHERE endpoint_id = ? AND status = 1 AND lease_until IS NULL AND next_attempt <= ?
				ORDER BY next_attempt LIMIT ?)`)
			args = append(args, ep, now, p.Limit)
		}
		parts = append(parts, expired+` AND endpoint_id NOT IN (`+
			placeholders(len(p.ExcludeEndpoints))+`) ORDER BY lease_until LIMIT ?)`)
		args = append(args, now, now)
		args = append(args, strArgs(p.ExcludeEndpoints)...)
		args = append(args, p.Limit)
		q += `SELECT id FROM (` + strings.Join(parts, " UNION ALL ") + `) ORDER BY next_attempt LIMIT ?`
		args = append(args, p.Limit)
	}
	q += `) RETURNING ` + deliveryColumns

	var ds []hookrelay.Delivery
	err := s.write(ctx, func(ctx context.Context, t *writeTx) error {
		var err error
		ds, err = queryList(ctx, t.tx, q, args, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	slices.SortFunc(ds, func(a, b hookrelay.Delivery) int {
		if c := a.NextAttempt.Compare(*b.NextAttempt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	msgIDs := make([]string, 0, len(ds))
	epIDs := make([]string, 0, len(ds))
	for _, d := range ds {
		msgIDs = append(msgIDs, d.MsgID)
		epIDs = append(epIDs, d.EndpointID)
	}
	msgIDs, epIDs = uniq(msgIDs), uniq(epIDs)
	msgs, err := queryList(ctx, s.rdb,
		`SELECT `+messageColumns+` FROM messages WHERE id IN (`+placeholders(len(msgIDs))+`)`,
		strArgs(msgIDs), scanMessage)
	if err != nil {
		return nil, s.unlease(ctx, p.Owner, ds, fmt.Errorf("claim deliveries: load messages: %w", err))
	}
	eps, err := queryList(ctx, s.rdb,
		`SELECT `+endpointColumnsOf+`, a.rate_limit FROM endpoints e JOIN applications a ON a.id = e.app_id
		WHERE e.id IN (`+placeholders(len(epIDs))+`)`,
		strArgs(epIDs), scanClaimedEndpoint)
	if err != nil {
		return nil, s.unlease(ctx, p.Owner, ds, fmt.Errorf("claim deliveries: load endpoints: %w", err))
	}
	msgByID := make(map[string]*hookrelay.Message, len(msgs))
	for i := range msgs {
		msgByID[msgs[i].ID] = &msgs[i]
	}
	epByID := make(map[string]*claimedEndpoint, len(eps))
	for i := range eps {
		epByID[eps[i].ep.ID] = &eps[i]
	}
	tasks := make([]store.Task, 0, len(ds))
	var off []string // deliveries of disabled endpoints
	for _, d := range ds {
		m, ep := msgByID[d.MsgID], epByID[d.EndpointID]
		if m == nil || ep == nil {
			continue
		}
		if ep.ep.Disabled {
			off = append(off, d.ID)
			continue
		}
		tasks = append(tasks, store.Task{Delivery: d, Message: *m, Endpoint: ep.ep, AppRateLimit: ep.appRate})
	}
	if len(off) > 0 {
		// Should this fail, they stay leased, and come back when the
		// lease runs out.
		_ = s.park(ctx, p.Owner, off, p.ParkUntil)
	}
	return tasks, nil
}

// claimedEndpoint is an endpoint with its application's rate limit.
type claimedEndpoint struct {
	ep      hookrelay.Endpoint
	appRate *int
}

func scanClaimedEndpoint(sc scanner) (*claimedEndpoint, error) {
	var c claimedEndpoint
	var rate sql.NullInt64
	dest, finish := endpointDest(&c.ep)
	if err := sc.Scan(append(dest, &rate)...); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	c.appRate = fromNullInt(rate)
	return &c, nil
}

// unlease gives back the leases of a claim that cannot report its
// deliveries (cause says why), so that they do not wait for their lease to
// run out; it returns cause, joined with the release's own failure.
func (s *Store) unlease(ctx context.Context, owner string, ds []hookrelay.Delivery, cause error) error {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(cause, s.ReleaseDeliveries(rctx, owner, ids))
}

// maxWalk is the most endpoints one claim looks at when it walks
// endpoints (SQLite caps the terms of a compound select at 500).
const maxWalk = 400

// pendingEndpoints returns up to maxWalk endpoints that have pending
// deliveries nobody holds, leaving out excluded ones, by a loose scan of
// deliveries_endpoint_due: one probe per endpoint however long its queue.
func (s *Store) pendingEndpoints(ctx context.Context, excluded []string) ([]string, error) {
	skip := make(map[string]bool, len(excluded))
	for _, id := range excluded {
		skip[id] = true
	}
	rows, err := s.rdb.QueryContext(ctx, `WITH RECURSIVE eps (eid) AS (
			SELECT (SELECT endpoint_id FROM deliveries WHERE status = 1 AND lease_until IS NULL
			        ORDER BY endpoint_id LIMIT 1)
			UNION ALL
			SELECT (SELECT endpoint_id FROM deliveries WHERE status = 1 AND lease_until IS NULL
			        AND endpoint_id > eps.eid
			        ORDER BY endpoint_id LIMIT 1)
			FROM eps WHERE eps.eid IS NOT NULL
		) SELECT eid FROM eps WHERE eid IS NOT NULL LIMIT ?`, maxWalk+len(excluded))
	if err != nil {
		return nil, fmt.Errorf("walk endpoints: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() && len(out) < maxWalk {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("walk endpoints: %w", err)
		}
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// uniq returns ss sorted without duplicates.
func uniq(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// patientResults is the size of a group of results from which it is
// committed without waiting for a publish to share the commit.
const patientResults = 16

// CompleteAttempts records every attempt and moves its delivery in one
// transaction; fewer than patientResults results may wait up to 10 ms for
// a publish to share its commit. An attempt's message, endpoint and application are taken from
// its delivery; an attempt whose delivery no longer exists is dropped. The
// delivery moves only while the result's owner holds its lease: to
// r.Status with r.Attempts, due at r.NextAttempt (now if nil) when pending,
// with no next attempt when terminal; Manual and the lease are cleared.
// Attempt IDs and times are set in results when unset.
func (s *Store) CompleteAttempts(ctx context.Context, results []store.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	for i := range results {
		switch results[i].Status {
		case hookrelay.StatusSuccess, hookrelay.StatusPending, hookrelay.StatusFail:
		default:
			return fmt.Errorf("complete attempts: invalid delivery status %d", results[i].Status)
		}
	}
	at := normTime(time.Now())
	// A few results alone are worth less than their commit: they may wait
	// for a publish to commit with. Many are committed at once.
	write := s.write
	if len(results) < patientResults {
		write = s.writePatient
	}
	err := write(ctx, func(ctx context.Context, t *writeTx) error {
		return t.complete(ctx, results, at)
	})
	if err != nil {
		return fmt.Errorf("complete attempts: %w", err)
	}
	return nil
}

// ExtendLeases sets to until the lease of every pending delivery owner
// holds whose lease ends before before. Held deliveries are found through
// deliveries_leased: every lease has an end, and only held deliveries have
// one.
func (s *Store) ExtendLeases(ctx context.Context, owner string, before, until time.Time) error {
	_, err := s.wdb.ExecContext(ctx,
		`UPDATE deliveries SET lease_until = ?
		 WHERE lease_until IS NOT NULL AND lease_until < ? AND lease_owner = ? AND status = 1`,
		micros(until), micros(before), owner)
	if err != nil {
		return fmt.Errorf("extend leases: %w", err)
	}
	return nil
}

// ReleaseDeliveries clears owner's lease on the given deliveries; leases of
// other owners are left alone.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, deliveryIDs []string) error {
	if len(deliveryIDs) == 0 {
		return nil
	}
	args := append([]any{owner}, strArgs(deliveryIDs)...)
	_, err := s.wdb.ExecContext(ctx,
		`UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
		 WHERE lease_owner = ? AND id IN (`+placeholders(len(deliveryIDs))+`)`, args...)
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}

// NextDue returns the earliest max(next_attempt, lease_until) over pending
// deliveries: from the due index for those nobody holds, from
// deliveries_leased for held ones (whose lease ends after they were due).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var due, leased sql.NullInt64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT next_attempt FROM deliveries
		 WHERE status = 1 AND lease_until IS NULL
		 ORDER BY next_attempt LIMIT 1`).Scan(&due)
	if err != nil && err != sql.ErrNoRows {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	err = s.rdb.QueryRowContext(ctx,
		`SELECT max(lease_until, next_attempt) FROM deliveries
		 WHERE lease_until IS NOT NULL AND status = 1
		 ORDER BY lease_until LIMIT 1`).Scan(&leased)
	if err != nil && err != sql.ErrNoRows {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	switch {
	case due.Valid && leased.Valid:
		return fromMicros(min(due.Int64, leased.Int64)), true, nil
	case due.Valid:
		return fromMicros(due.Int64), true, nil
	case leased.Valid:
		return fromMicros(leased.Int64), true, nil
	}
	return time.Time{}, false, nil
}

// complete records attempts and moves their deliveries (CompleteAttempts),
// many results per statement. Results for the same delivery twice go one
// statement each, in order, as one multi-row update would apply just one.
func (t *writeTx) complete(ctx context.Context, results []store.AttemptResult, at time.Time) error {
	seen := make(map[string]bool, len(results))
	oneByOne := false
	for i := range results {
		a := &results[i].Attempt
		if a.ID == "" {
			a.ID = hookrelay.NewID(hookrelay.PrefixAttempt)
		}
		if a.Outcome == hookrelay.OutcomeUnknown {
			a.Outcome = hookrelay.DeriveOutcome(a.Status, a.ResponseStatusCode)
		}
		a.CreatedAt = nowOr(a.CreatedAt)
		oneByOne = oneByOne || seen[a.DeliveryID]
		seen[a.DeliveryID] = true
	}
	if err := t.fillEndpoints(ctx, results); err != nil {
		return err
	}
	if err := t.updateStatus(ctx, results); err != nil {
		return err
	}
	// The rollups of a whole group commit are upserted once, at its flush;
	// when each write is isolated, each upserts its own.
	health := healthBatch{}
	if t.deferInserts {
		if t.health == nil {
			t.health = healthBatch{}
		}
		health = t.health
	}
	for len(results) > 0 {
		k := len(completeSizes) - 1 // one result
		if !oneByOne {
			k = sizeFor(completeSizes[:], len(results))
		}
		n := completeSizes[k]
		if err := t.completeRows(ctx, k, results[:n], at, health); err != nil {
			return err
		}
		results = results[n:]
	}
	if t.deferInserts {
		return nil
	}
	return t.upsertHealth(ctx, health)
}

// responseArg binds a response body as a blob, so that its bytes are kept
// as they are whatever they hold; an empty body binds as empty text, since
// the driver may bind an empty blob as NULL.
func responseArg(body string) any {
	if body == "" {
		return ""
	}
	return []byte(body)
}

// completeRows records len(rs) == completeSizes[k] results with the k-th
// completion statements, and adds the attempts recorded to health.
func (t *writeTx) completeRows(ctx context.Context, k int, rs []store.AttemptResult, at time.Time, health healthBatch) error {
	args := make([]any, 0, 10*len(rs))
	for i := range rs {
		a := &rs[i].Attempt
		args = append(args, a.ID, hookrelay.CleanText(a.URL), int(a.Status), a.ResponseStatusCode, responseArg(a.Response),
			a.ResponseDurationMs, int(a.TriggerType), micros(a.CreatedAt), a.DeliveryID, int(a.Outcome))
	}
	if _, err := t.stmt(ctx, t.stmts.insertAttempts[k]).ExecContext(ctx, args...); err != nil {
		return mapInsertErr(err)
	}
	t.addHealth(rs, health)
	args = append(args[:0], micros(at))
	for i := range rs {
		r := &rs[i]
		var next any
		if r.Status == hookrelay.StatusPending {
			if r.NextAttempt != nil {
				next = micros(*r.NextAttempt)
			} else {
				next = micros(at)
			}
		}
		args = append(args, r.Attempt.DeliveryID, int(r.Status), r.Attempts, next, r.Owner)
	}
	_, err := t.stmt(ctx, t.stmts.completeDeliveries[k]).ExecContext(ctx, args...)
	return err
}
