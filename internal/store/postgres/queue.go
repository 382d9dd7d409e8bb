package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// A pending delivery nobody holds is in the due indexes; one a node holds
// (or held, until its lease ran out) is in deliveries_leased instead (see
// migration 00004). freshCond and expiredCond are the two ways of alias d
// to be due; $1 is the claim's clock.
const (
	freshCond   = `d.status = 1 AND d.lease_until IS NULL AND d.next_attempt <= $1`
	expiredCond = `d.lease_until IS NOT NULL AND d.lease_until <= $1 AND d.status = 1 AND d.next_attempt <= $1`
)

// lockFresh is a subquery, run once per row picked by a claim (as the
// right side of a lateral join, so that it runs in the order of the picked
// rows, and no more often than the claim's LIMIT needs), that locks the
// delivery with ID id when it is still fresh and nobody else holds it.
//
// Its plan must not depend on statistics. Those of deliveries describe the
// table when autovacuum last looked, and after any quiet spell they say
// that no delivery is due; then the planner, given the choice, would join
// the picked rows to a sequential scan of deliveries, or scan the whole
// due index once per picked row (0.5-1.5 s a claim at 20,000 due rows, on
// this project's benchmark machine). A lateral subquery holding FOR UPDATE
// cannot be turned into a join the planner may reorder, and its test of
// status is a range, which does not imply the predicate of deliveries_due
// and deliveries_endpoint_due ("status = 1 AND lease_until IS NULL"): so
// the only index it can use for "d.id = id" is the primary key, which is
// also the cheapest with any statistics.
func lockFresh(id string) string {
	return `SELECT d.id FROM deliveries d
			WHERE d.id = ` + id + ` AND d.status >= 1 AND d.status <= 1
				AND d.lease_until IS NULL AND d.next_attempt <= $1
			FOR UPDATE SKIP LOCKED`
}

// claimTail ends a claim statement whose CTE "due" (left open) has picked
// and locked rows: it leases them to $2 until $3 and returns them with
// their messages, endpoints and the rate limits of the endpoints'
// applications, followed by the columns in extra.
func claimTail(extra string) string {
	return `), claimed AS (
		UPDATE deliveries d SET lease_owner = $2, lease_until = $3, updated_at = $1
		FROM due WHERE d.id = due.id
		RETURNING ` + deliveryColumnsOf + `
	)
	SELECT ` + deliveryColumnsOf + `, ` + messageColumnsOf + `, ` + endpointColumnsOf + `, a.rate_limit` + extra + `
	FROM claimed d JOIN messages m ON m.id = d.msg_id JOIN endpoints e ON e.id = d.endpoint_id
		JOIN applications a ON a.id = e.app_id`
}

// expiredCTE picks and locks up to $4 deliveries whose lease ran out,
// leaving out the endpoints in the array notIn (or none when it is empty).
func expiredCTE(notIn string) string {
	cond := expiredCond
	if notIn != "" {
		cond += ` AND NOT (d.endpoint_id = ANY (` + notIn + `))`
	}
	return `expired AS (
		SELECT d.id, d.next_attempt FROM deliveries d WHERE ` + cond + `
		ORDER BY d.lease_until LIMIT $4
		FOR UPDATE SKIP LOCKED
	)`
}

// dueCTE takes the earliest due $4 of the rows picked by the CTEs fresh
// and expired.
const dueCTE = `due AS (
		SELECT id FROM (SELECT * FROM fresh UNION ALL SELECT * FROM expired) AS c
		ORDER BY next_attempt LIMIT $4
	`

// The claim statements. Each locks the rows it picks FOR UPDATE SKIP
// LOCKED, so that claims running at once on several nodes take disjoint
// rows; a row that another claim leased after this statement's snapshot is
// checked again against its new lease before it is locked. Rows locked but
// not taken (beyond the limit) are unlocked at the statement's end. $4 is
// the claim's limit, $5 the excluded endpoints, $6 the window size.
var (
	// claimHeadSQL takes the head of the due index and expired leases.
	claimHeadSQL = `WITH fresh AS (
		SELECT d.id, d.next_attempt FROM deliveries d WHERE ` + freshCond + `
		ORDER BY d.next_attempt LIMIT $4
		FOR UPDATE SKIP LOCKED
	), ` + expiredCTE("") + `, ` + dueCTE + claimTail("")

	// claimWindowSQL takes the due rows of endpoints not excluded from
	// the first $6 rows of the due index, and expired leases of endpoints
	// not excluded, and returns with every row how many rows that window
	// held.
	claimWindowSQL = `WITH win AS (
		SELECT d.id, d.endpoint_id, d.next_attempt FROM deliveries d WHERE ` + freshCond + `
		ORDER BY d.next_attempt LIMIT $6
	), fresh AS (
		SELECT l.id, w.next_attempt FROM (
			SELECT id, next_attempt FROM win WHERE NOT (endpoint_id = ANY ($5::text[]))
			ORDER BY next_attempt
		) AS w CROSS JOIN LATERAL (` + lockFresh("w.id") + `) AS l
		LIMIT $4
	), ` + expiredCTE("$5::text[]") + `, ` + dueCTE + claimTail(", (SELECT count(*) FROM win)")

	// windowFullSQL tells whether the window of claimWindowSQL, here of
	// size $2, is full.
	windowFullSQL = `SELECT count(*) = $2 FROM (
		SELECT 1 FROM deliveries d WHERE ` + freshCond + ` ORDER BY d.next_attempt LIMIT $2) AS win`

	// claimByEndpointSQL walks the endpoints that have pending deliveries
	// nobody holds (a loose index scan: one probe per endpoint, however
	// long its queue), leaves out the excluded ones, and takes the
	// earliest due rows of the others.
	claimByEndpointSQL = `WITH RECURSIVE eps (endpoint_id) AS (
		(SELECT endpoint_id FROM deliveries WHERE status = 1 AND lease_until IS NULL
		 ORDER BY endpoint_id LIMIT 1)
		UNION ALL
		SELECT (SELECT d.endpoint_id FROM deliveries d
			WHERE d.status = 1 AND d.lease_until IS NULL AND d.endpoint_id > eps.endpoint_id
			ORDER BY d.endpoint_id LIMIT 1)
		FROM eps WHERE eps.endpoint_id IS NOT NULL
	), cand AS (
		SELECT c.id, c.next_attempt FROM eps CROSS JOIN LATERAL (
			SELECT d.id, d.next_attempt FROM deliveries d
			-- A range rather than "=": the planner then cannot drop
			-- endpoint_id from the ORDER BY, and reads this endpoint's part
			-- of deliveries_endpoint_due in order instead of filtering the
			-- due index (through the backlog) for it.
			WHERE d.endpoint_id >= eps.endpoint_id AND d.endpoint_id <= eps.endpoint_id AND ` + freshCond + `
			ORDER BY d.endpoint_id, d.next_attempt LIMIT $4
		) AS c
		WHERE NOT (eps.endpoint_id = ANY ($5::text[]))
		ORDER BY c.next_attempt LIMIT $4
	), due AS (
		SELECT l.id FROM cand CROSS JOIN LATERAL (` + lockFresh("cand.id") + `) AS l
	` + claimTail("")
)

// ClaimDeliveries leases up to p.Limit due deliveries to p.Owner, earliest
// due first, and returns them with their messages and endpoints. A
// delivery is never leased to two owners at once, whichever nodes claim.
//
// Without exclusions one statement takes the head of the due index. With
// exclusions it looks at a window of the head first; only when the window
// is full of rows it may not take (an excluded endpoint with a long
// backlog, the case where a slow endpoint must not delay the others) does
// it go endpoint by endpoint, so a claim never reads a backlog row by row.
func (s *Store) ClaimDeliveries(ctx context.Context, p store.ClaimParams) ([]store.Task, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	tasks, err := s.claimDue(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.parkDisabled(ctx, p, tasks), nil
}

// parkDisabled takes the tasks of disabled endpoints out of tasks and
// parks their deliveries (see park). Should that fail, they stay leased
// and come back when the lease runs out.
func (s *Store) parkDisabled(ctx context.Context, p store.ClaimParams, tasks []store.Task) []store.Task {
	var ids, eps []string
	kept := tasks[:0]
	for _, t := range tasks {
		if t.Endpoint.Disabled {
			ids = append(ids, t.Delivery.ID)
			eps = append(eps, t.Endpoint.ID)
			continue
		}
		kept = append(kept, t)
	}
	if len(ids) > 0 {
		slices.Sort(eps)
		_ = s.park(ctx, p.Owner, ids, slices.Compact(eps), p.ParkUntil)
	}
	return kept
}

// claimDue is ClaimDeliveries but for the parking of disabled endpoints'
// deliveries.
func (s *Store) claimDue(ctx context.Context, p store.ClaimParams) ([]store.Task, error) {
	now, until := normTime(p.Now), normTime(p.LeaseUntil)
	if len(p.ExcludeEndpoints) == 0 {
		tasks, _, err := s.claim(ctx, indexJoinsOnly, claimHeadSQL, false, now, p.Owner, until, p.Limit)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		return sortTasks(tasks), nil
	}
	window := max(4*p.Limit, 256)
	tasks, scanned, err := s.claim(ctx, indexJoinsOnly, claimWindowSQL, true, now, p.Owner, until, p.Limit,
		p.ExcludeEndpoints, window)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(tasks) == p.Limit {
		return sortTasks(tasks), nil
	}
	full := scanned == window
	if len(tasks) == 0 {
		// No row came back to tell the window's size.
		err := s.pool.QueryRow(ctx, windowFullSQL, now, window).Scan(&full)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	if !full {
		return sortTasks(tasks), nil
	}
	// Rows claimed above are leased now and no longer due.
	more, _, err := s.claim(ctx, walkEndpoints, claimByEndpointSQL, false, now, p.Owner, until, p.Limit-len(tasks),
		p.ExcludeEndpoints)
	if err != nil {
		if len(tasks) > 0 {
			// The rows leased above must reach the caller, or they would
			// wait for their lease to run out; the next claim meets the
			// error again if it lasts.
			return sortTasks(tasks), nil
		}
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return sortTasks(append(tasks, more...)), nil
}

// walkEndpoints plans claimByEndpointSQL as written: it walks the
// pending deliveries endpoint by endpoint in deliveries_endpoint_due, with
// no sort but the last one, whatever the statistics say. After a quiet
// spell they say that hardly any delivery is due, and the planner would
// rather read the whole of deliveries_due for every endpoint it steps to
// and sort what it found (50 endpoints with 12,500 due deliveries: 110 ms
// a claim against 20 ms). With sorts disabled, the one sort left, which
// nothing can replace, costs as much as a disabled plan does; JIT is off
// so that this cost does not also buy a compilation of the statement
// (another 350 ms) when the server or connection has it on.
const walkEndpoints = indexJoinsOnly + `; SET LOCAL enable_sort = off; SET LOCAL jit = off`

// claim runs one claim statement after the planner settings in settings
// (each SET LOCAL), and scans its tasks, and the window count after them
// when counted. Like completions, claims join by index only (see
// indexJoinsOnly): their picked rows are few, the table may be huge.
func (s *Store) claim(ctx context.Context, settings, sql string, counted bool, args ...any) ([]store.Task, int, error) {
	var tasks []store.Task
	var scanned int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, settings); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		tasks, err = collectList(rows, func(row pgx.Row) (*store.Task, error) {
			var t store.Task
			ddest, dfinish := deliveryDest(&t.Delivery)
			edest, efinish := endpointDest(&t.Endpoint)
			dest := append(append(ddest, messageDest(&t.Message)...), edest...)
			dest = append(dest, &t.AppRateLimit)
			if counted {
				dest = append(dest, &scanned)
			}
			if err := row.Scan(dest...); err != nil {
				return nil, err
			}
			dfinish()
			if err := efinish(); err != nil {
				return nil, err
			}
			return &t, nil
		})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return tasks, scanned, nil
}

// sortTasks orders tasks earliest due first.
func sortTasks(tasks []store.Task) []store.Task {
	slices.SortFunc(tasks, func(a, b store.Task) int {
		if c := a.Delivery.NextAttempt.Compare(*b.Delivery.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.Delivery.ID, b.Delivery.ID)
	})
	return tasks
}

// completeSQL records attempts and moves their deliveries in one statement.
// The attempt takes its message, endpoint and application from its
// delivery, so an attempt whose delivery no longer exists is dropped; the
// delivery moves only while the result's owner holds its lease.
const completeSQL = `WITH r AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::bytea[],
		$7::bigint[], $8::int[], $9::timestamptz[], $10::text[], $11::int[], $12::int[], $13::timestamptz[],
		$15::int[])
	AS r (attempt_id, delivery_id, url, attempt_status, code, response, duration_ms, trigger_type,
		attempted_at, owner, status, attempts, next_attempt, outcome)
), ins AS (
	INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
		response_status_code, response, response_duration_ms, trigger_type, created_at, outcome)
	SELECT r.attempt_id, d.id, d.msg_id, d.endpoint_id, d.app_id, r.url, r.attempt_status,
		r.code, r.response, r.duration_ms, r.trigger_type, r.attempted_at, r.outcome
	FROM r JOIN deliveries d ON d.id = r.delivery_id
	RETURNING 1
), up AS (
	UPDATE deliveries d SET status = r.status, attempts = r.attempts, next_attempt = r.next_attempt,
		manual = false, lease_owner = NULL, lease_until = NULL, updated_at = $14
	FROM r WHERE d.id = r.delivery_id AND d.lease_owner = r.owner
	RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM up)`

// indexJoinsOnly makes the rest of a transaction join by index lookups:
// completeSQL joins a few given deliveries by primary key, which is
// always cheapest, but a plan cached while the table was small (a fresh
// database, or statistics that autovacuum has not refreshed) hashes a
// sequential scan of the whole table instead, and keeps doing so as the
// table grows: every completion then reads every delivery.
const indexJoinsOnly = `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`

// CompleteAttempts records every attempt and moves its delivery in one
// statement (one transaction). A moved delivery takes r.Status and
// r.Attempts, is due at r.NextAttempt (now if nil) when pending and has no
// next attempt when terminal; Manual and the lease are cleared. Attempt IDs
// and times are set in results when unset.
func (s *Store) CompleteAttempts(ctx context.Context, results []store.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	now := normTime(time.Now())
	for i := range results {
		r := &results[i]
		switch r.Status {
		case hookrelay.StatusSuccess, hookrelay.StatusPending, hookrelay.StatusFail:
		default:
			return fmt.Errorf("complete attempts: invalid delivery status %d", r.Status)
		}
		if r.Attempt.ID == "" {
			r.Attempt.ID = hookrelay.NewID(hookrelay.PrefixAttempt)
		}
		if r.Attempt.Outcome == hookrelay.OutcomeUnknown {
			r.Attempt.Outcome = hookrelay.DeriveOutcome(r.Attempt.Status, r.Attempt.ResponseStatusCode)
		}
		r.Attempt.CreatedAt = nowOr(r.Attempt.CreatedAt)
	}
	if err := s.fillEndpoints(ctx, results); err != nil {
		return fmt.Errorf("complete attempts: %w", err)
	}
	// Rows are locked in delivery ID order, so that two statements that
	// move the same deliveries wait for each other instead of deadlocking.
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(results[a].Attempt.DeliveryID, results[b].Attempt.DeliveryID)
	})
	var c completeColumns
	for _, i := range order {
		c.add(&results[i], now)
	}

	var err error
	for try := 0; try < 3; try++ {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, indexJoinsOnly); err != nil {
				return err
			}
			// One round trip: the completion, then the health rollups and the
			// endpoints' status rows.
			b := &pgx.Batch{}
			b.Queue(completeSQL, c.attemptIDs, c.deliveryIDs, c.urls, c.attemptStatus, c.codes,
				c.responses, c.durations, c.triggers, c.attemptedAt, c.owners, c.statuses, c.counts, c.nextAttempts, now,
				c.outcomes)
			queueHealth(b, results)
			queueStatus(b, results)
			return tx.SendBatch(ctx, b).Close()
		})
		// A delivery deleted (with its endpoint) between the join and the
		// attempt's foreign key check fails the statement; run again, the
		// join no longer sees it. A deadlock with such a delete is also
		// worth another try.
		if c := constraint(err); c != "attempts_msg_id_fkey" && c != "attempts_endpoint_id_fkey" &&
			c != "endpoint_status_endpoint_id_fkey" && c != "endpoint_health_endpoint_id_fkey" && pgCode(err) != codeDeadlockDetected {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("complete attempts: %w", mapErr(err))
	}
	return nil
}

// completeColumns are the parameters of completeSQL, a column each.
type completeColumns struct {
	attemptIDs, deliveryIDs, urls, owners            []string
	responses                                        [][]byte
	attemptStatus, codes, triggers, statuses, counts []int
	outcomes                                         []int
	durations                                        []int64
	attemptedAt                                      []time.Time
	nextAttempts                                     []*time.Time
}

// add appends r; a pending delivery without a next attempt is due at now.
func (c *completeColumns) add(r *store.AttemptResult, now time.Time) {
	a := &r.Attempt
	c.attemptIDs = append(c.attemptIDs, a.ID)
	c.deliveryIDs = append(c.deliveryIDs, a.DeliveryID)
	c.urls = append(c.urls, hookrelay.CleanText(a.URL))
	c.attemptStatus = append(c.attemptStatus, int(a.Status))
	c.codes = append(c.codes, a.ResponseStatusCode)
	// Exact bytes, never NULL: an empty body is an empty bytea.
	c.responses = append(c.responses, append([]byte{}, a.Response...))
	c.durations = append(c.durations, a.ResponseDurationMs)
	c.triggers = append(c.triggers, int(a.TriggerType))
	c.outcomes = append(c.outcomes, int(a.Outcome))
	c.attemptedAt = append(c.attemptedAt, a.CreatedAt)
	c.owners = append(c.owners, r.Owner)
	c.statuses = append(c.statuses, int(r.Status))
	c.counts = append(c.counts, r.Attempts)
	var next *time.Time
	if r.Status == hookrelay.StatusPending {
		t := now
		if r.NextAttempt != nil {
			t = normTime(*r.NextAttempt)
		}
		next = &t
	}
	c.nextAttempts = append(c.nextAttempts, next)
}

// ExtendLeases sets to until the lease of every pending delivery owner
// holds whose lease ends before before, found through deliveries_leased.
// It skips rows another statement has locked: those are being
// completed, released or resent right now, and the next extension, well
// within the lease, catches any still leased. So it never waits, and never
// deadlocks with CompleteAttempts.
func (s *Store) ExtendLeases(ctx context.Context, owner string, before, until time.Time) error {
	_, err := s.pool.Exec(ctx,
		`UPDATE deliveries d SET lease_until = $1
		 FROM (SELECT id FROM deliveries
		       WHERE lease_until IS NOT NULL AND lease_until < $3 AND lease_owner = $2 AND status = 1
		       ORDER BY id FOR UPDATE SKIP LOCKED) AS mine
		 WHERE d.id = mine.id`,
		normTime(until), owner, normTime(before))
	if err != nil {
		return fmt.Errorf("extend leases: %w", err)
	}
	return nil
}

// ReleaseDeliveries clears owner's lease on the given deliveries, leaving
// leases of other owners alone, and then wakes every subscribed node when
// it released any: the work is due again.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, deliveryIDs []string) error {
	if len(deliveryIDs) == 0 {
		return nil
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
		 WHERE lease_owner = $1 AND id = ANY ($2::text[])`,
		owner, deliveryIDs)
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	if tag.RowsAffected() > 0 {
		s.wake()
	}
	return nil
}

// NextDue returns the earliest greatest(next_attempt, lease_until) over
// pending deliveries, from two short index scans: the due index for rows
// nobody holds, deliveries_leased for held ones.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next *time.Time
	err := s.pool.QueryRow(ctx,
		`SELECT least(
			(SELECT next_attempt FROM deliveries
			 WHERE status = 1 AND lease_until IS NULL
			 ORDER BY next_attempt LIMIT 1),
			(SELECT greatest(lease_until, next_attempt) FROM deliveries
			 WHERE lease_until IS NOT NULL AND status = 1
			 ORDER BY lease_until LIMIT 1))`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return *next, true, nil
}

// fillEndpoints sets the EndpointID and AppID of every attempt of results
// that lacks them to its delivery's, in one query. The dispatcher sets them
// from the claimed task; other callers may leave them out.
func (s *Store) fillEndpoints(ctx context.Context, results []store.AttemptResult) error {
	var missing []string
	for i := range results {
		if a := &results[i].Attempt; a.EndpointID == "" || a.AppID == "" {
			missing = append(missing, a.DeliveryID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, endpoint_id, app_id FROM deliveries WHERE id = ANY ($1::text[])`, missing)
	if err != nil {
		return err
	}
	type owner struct{ endpoint, app string }
	of := make(map[string]owner, len(missing))
	var id string
	var o owner
	_, err = pgx.ForEachRow(rows, []any{&id, &o.endpoint, &o.app}, func() error {
		of[id] = o
		return nil
	})
	if err != nil {
		return err
	}
	for i := range results {
		a := &results[i].Attempt
		if o, ok := of[a.DeliveryID]; ok && (a.EndpointID == "" || a.AppID == "") {
			a.EndpointID, a.AppID = o.endpoint, o.app
		}
	}
	return nil
}
