package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/fanout"
	"github.com/hookrelay/hookrelay/internal/store"
)

// writeStmts are the statements of the publish path, prepared once on the
// write connection.
type writeStmts struct {
	savepoint, release, rollbackTo *sql.Stmt
	dataVersion                    *sql.Stmt
	// insertMsgs[i] inserts deliverySizes[i] messages.
	insertMsgs           [len(deliverySizes)]*sql.Stmt
	fanout, onlyEndpoint *sql.Stmt
	// insertDeliveries[i] queues a message for deliverySizes[i] endpoints.
	insertDeliveries [len(deliverySizes)]*sql.Stmt
	// insertAttempts[i] and completeDeliveries[i] take completeSizes[i]
	// results at once.
	insertAttempts, completeDeliveries [len(completeSizes)]*sql.Stmt
	// endpointStatus merges a completion into an endpoint's status.
	endpointStatus *sql.Stmt
	// upsertHealth adds to one health rollup; deliveryOf finds a
	// delivery's endpoint and application.
	upsertHealth, deliveryOf *sql.Stmt
}

// deliverySizes are the numbers of deliveries one insert takes, largest
// first: a fan-out to ten endpoints is two statements.
var deliverySizes = [...]int{32, 8, 2, 1}

// insertDeliveriesSQL queues n deliveries. Each row binds id, msg_id,
// endpoint_id, app_id, next_attempt, lease_owner, lease_until, created_at
// and updated_at.
func insertDeliveriesSQL(n int) string {
	return `INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, next_attempt, lease_owner, lease_until,
		   created_at, updated_at, status, attempts, manual)
		 SELECT *, 1, 0, 0 FROM (VALUES ` + rows(n, 9) + `)`
}

// insertMessagesSQL stores n messages, each binding messageColumns and
// payload_expires_at.
func insertMessagesSQL(n int) string {
	return `INSERT INTO messages (` + messageColumns + `, payload_expires_at) VALUES ` + rows(n, msgWidth)
}

// msgWidth is the number of values one message row of insertMessagesSQL
// binds.
const msgWidth = 10

// sizeFor returns the index in sizes (largest first, ending with 1) of the
// largest size not above n.
func sizeFor(sizes []int, n int) int {
	for i, size := range sizes {
		if size <= n {
			return i
		}
	}
	return len(sizes) - 1
}

// completeSizes are the numbers of attempt results one completion
// statement takes, largest first; a group of results is cut into them.
// One statement for many rows saves most of SQLite's work per statement.
var completeSizes = [...]int{64, 16, 4, 1}

// insertAttemptsSQL records n attempts, each whose delivery exists, taking
// its message, endpoint and application from the delivery. Each row binds
// id, url, status, response status code, response, duration, trigger,
// created_at, delivery id and outcome.
func insertAttemptsSQL(n int) string {
	return `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
		   response_status_code, response, response_duration_ms, trigger_type, created_at, outcome)
		 SELECT v.column1, d.id, d.msg_id, d.endpoint_id, d.app_id, v.column2, v.column3,
		   v.column4, v.column5, v.column6, v.column7, v.column8, v.column10
		 FROM (VALUES ` + rows(n, 10) + `) AS v JOIN deliveries d ON d.id = v.column9`
}

// completeDeliveriesSQL moves n deliveries, each while the given owner
// holds its lease. It binds updated_at, then per row the delivery id,
// status, attempts, next attempt and owner.
func completeDeliveriesSQL(n int) string {
	return `UPDATE deliveries SET status = v.column2, attempts = v.column3, next_attempt = v.column4,
		   manual = 0, lease_owner = NULL, lease_until = NULL, updated_at = ?
		 FROM (VALUES ` + rows(n, 5) + `) AS v
		 WHERE deliveries.id = v.column1 AND deliveries.lease_owner = v.column5`
}

// rows returns n rows of width placeholders each: "(?, ?), (?, ?)".
func rows(n, width int) string {
	row := "(" + placeholders(width) + ")"
	return strings.Repeat(row+", ", n-1) + row
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst *(*sql.Stmt)
		q   string
	}{
		{&w.savepoint, `SAVEPOINT publish`},
		{&w.release, `RELEASE publish`},
		{&w.rollbackTo, `ROLLBACK TO publish`},
		{&w.dataVersion, `PRAGMA data_version`},
		{&w.fanout, `SELECT ` + endpointColumns + ` FROM endpoints WHERE app_id = ?`},
		{&w.onlyEndpoint, `SELECT ` + endpointColumns + ` FROM endpoints WHERE id = ? AND app_id = ?`},
		{&w.endpointStatus, endpointStatusSQL},
		{&w.upsertHealth, upsertHealthSQL},
		{&w.deliveryOf, `SELECT endpoint_id, app_id FROM deliveries WHERE id = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
		*p.dst = st
	}
	for i, n := range deliverySizes {
		var err error
		if w.insertDeliveries[i], err = db.PrepareContext(ctx, insertDeliveriesSQL(n)); err != nil {
			return fmt.Errorf("prepare insert deliveries: %w", err)
		}
		if w.insertMsgs[i], err = db.PrepareContext(ctx, insertMessagesSQL(n)); err != nil {
			return fmt.Errorf("prepare insert messages: %w", err)
		}
	}
	for i, n := range completeSizes {
		var err error
		if w.insertAttempts[i], err = db.PrepareContext(ctx, insertAttemptsSQL(n)); err != nil {
			return fmt.Errorf("prepare insert attempts: %w", err)
		}
		if w.completeDeliveries[i], err = db.PrepareContext(ctx, completeDeliveriesSQL(n)); err != nil {
			return fmt.Errorf("prepare complete deliveries: %w", err)
		}
	}
	return nil
}

func (w *writeStmts) close() {
	all := []*sql.Stmt{w.savepoint, w.release, w.rollbackTo, w.dataVersion, w.fanout, w.onlyEndpoint,
		w.endpointStatus}
	all = append(append(all, w.insertDeliveries[:]...), w.insertMsgs[:]...)
	all = append(append(all, w.insertAttempts[:]...), w.completeDeliveries[:]...)
	all = append(all, w.upsertHealth, w.deliveryOf)
	for _, st := range all {
		if st != nil {
			st.Close()
		}
	}
}

// writeReq is one write waiting for the writer goroutine, which runs fn
// inside the batch's transaction, in a savepoint of its own, then sets err
// and closes done.
type writeReq struct {
	ctx context.Context
	fn  func(ctx context.Context, t *writeTx) error
	// patient writes (attempt results) may wait up to patience for an
	// impatient one (a publish) to share its commit.
	patient bool
	err     error
	done    chan struct{}
}

// patience is the longest a batch of patient writes alone waits for a
// publish to join it. At low rates every publish and every batch of
// results would otherwise be a commit (and an fsync) of its own: waiting
// lets the results of one message ride along with the next message.
const patience = 10 * time.Millisecond

// write hands fn to the writer goroutine and waits for its outcome: fn's
// changes are committed, together with every other write waiting at that
// moment (one fsync for all), or none of them is kept and the error says
// why. A write not yet taken when ctx ends is dropped with ctx's error.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, t *writeTx) error) error {
	return s.submit(ctx, &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})})
}

// writePatient is write for writes that may wait up to patience for a
// publish to commit with.
func (s *Store) writePatient(ctx context.Context, fn func(ctx context.Context, t *writeTx) error) error {
	return s.submit(ctx, &writeReq{ctx: ctx, fn: fn, patient: true, done: make(chan struct{})})
}

func (s *Store) submit(ctx context.Context, r *writeReq) error {
	select {
	case s.creates <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errClosed
	}
	// Once taken, the call is answered whatever happens to ctx: the caller
	// must learn whether the write was committed.
	<-r.done
	return r.err
}

// CreateMessage stores the message and its deliveries. The call is handed
// to the store's writer goroutine, which commits it together with every
// other write waiting at that moment (see commitBatch); one call's failure
// (a taken eventId) leaves the others alone. ID and CreatedAt of p.Message
// are set when unset.
func (s *Store) CreateMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	m := p.Message
	if m == nil {
		return store.CreateMessageResult{}, errors.New("create message: nil message")
	}
	if m.ID == "" {
		m.ID = hookrelay.NewID(hookrelay.PrefixMessage)
	}
	m.CreatedAt = nowOr(m.CreatedAt)
	var res store.CreateMessageResult
	err := s.write(ctx, func(ctx context.Context, t *writeTx) error {
		var err error
		res, err = t.create(ctx, p)
		return err
	})
	if err != nil {
		return store.CreateMessageResult{}, fmt.Errorf("create message: %w", err)
	}
	return res, nil
}

// writer takes publishes off s.creates and commits them in batches until the
// store closes.
func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-s.closing:
			return
		case r := <-s.creates:
			batch = s.gather(append(batch[:0], r))
			if allPatient(batch) {
				batch = s.await(batch)
			}
			s.commitBatch(batch)
			for _, r := range batch {
				close(r.done)
			}
			clear(batch)
		}
	}
}

// gather adds to batch every publish waiting to be taken. Publishers whose
// previous call was just answered are runnable but may not be waiting yet,
// so gather yields the processor and looks again for as long as that brings
// more: a batch of one would cost a whole fsync.
func (s *Store) gather(batch []*writeReq) []*writeReq {
	for len(batch) < maxBatch {
		before := len(batch)
		runtime.Gosched()
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-s.creates:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == before {
			break
		}
	}
	return batch
}

func allPatient(batch []*writeReq) bool {
	for _, r := range batch {
		if !r.patient {
			return false
		}
	}
	return true
}

// await waits up to patience for an impatient write to join batch, and
// then gathers whatever else came with it.
func (s *Store) await(batch []*writeReq) []*writeReq {
	timer := time.NewTimer(patience)
	defer timer.Stop()
	for len(batch) < maxBatch {
		select {
		case r := <-s.creates:
			batch = append(batch, r)
			if !r.patient {
				return s.gather(batch)
			}
		case <-timer.C:
			return batch
		case <-s.closing:
			return batch
		}
	}
	return batch
}

// commitBatch runs every request of batch in one transaction and records
// each request's outcome in it. A request that fails leaves no trace and
// the others are still committed.
//
// The batch is first run with no savepoints, because a savepoint makes
// SQLite copy every page it changes to the sub-journal, and a statement
// inside it truncates that journal by walking it; for group commits that is
// a fifth of the writer's time. Should a request fail, that pass is rolled
// back and the batch runs again with each request in a savepoint of its
// own. Requests must therefore be safe to run twice: everything they keep
// outside the database is set afresh on every run.
func (s *Store) commitBatch(batch []*writeReq) {
	if s.runBatch(batch, false) {
		return
	}
	for _, r := range batch {
		r.err = nil
	}
	s.runBatch(batch, true)
}

// runBatch runs batch in one transaction, each request in a savepoint of
// its own when isolate is set, and reports whether every outcome is final.
// Without isolate, the first failing request of a batch of several rolls
// the whole transaction back and runBatch returns false.
func (s *Store) runBatch(batch []*writeReq, isolate bool) bool {
	ctx := context.Background()
	fail := func(err error) bool {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
		return true
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	st := writeTx{
		tx:    tx,
		stmts: &s.stmts,
		bound: make(map[*sql.Stmt]*sql.Stmt),
		now:   normTime(time.Now()),
	}
	s.fanout.refresh(ctx, &st, s.endpointWrites.Load())
	st.fanout = &s.fanout
	var savepoint, release, rollbackTo *sql.Stmt
	if isolate {
		savepoint = tx.StmtContext(ctx, s.stmts.savepoint)
		release = tx.StmtContext(ctx, s.stmts.release)
		rollbackTo = tx.StmtContext(ctx, s.stmts.rollbackTo)
	}
	// Without savepoints, publishes leave their inserts to one flush at
	// the end; should it fail, the batch runs again isolated, where each
	// publish inserts its own rows and learns its own error.
	st.deferInserts = !isolate
	stored := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if !isolate {
			if r.err = r.fn(ctx, &st); r.err != nil {
				_ = tx.Rollback()
				return len(batch) == 1
			}
			stored++
			continue
		}
		if _, err := savepoint.ExecContext(ctx); err != nil {
			r.err = err
			continue
		}
		r.err = r.fn(ctx, &st)
		if r.err != nil {
			_, rbErr := rollbackTo.ExecContext(ctx)
			_, relErr := release.ExecContext(ctx)
			if err := errors.Join(rbErr, relErr); err != nil {
				_ = tx.Rollback()
				return fail(fmt.Errorf("roll back publish: %w", err))
			}
			continue
		}
		if _, err := release.ExecContext(ctx); err != nil {
			_ = tx.Rollback()
			return fail(err)
		}
		stored++
	}
	if stored == 0 {
		_ = tx.Rollback()
		return true
	}
	if err := st.flush(ctx); err != nil {
		_ = tx.Rollback()
		return false
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return true
}

// writeTx is the state of one group commit.
type writeTx struct {
	tx     *sql.Tx
	stmts  *writeStmts
	bound  map[*sql.Stmt]*sql.Stmt // stmts bound to tx, on first use
	fanout *fanoutCache            // each app's endpoints, loaded once
	now    time.Time
	// deferInserts makes create leave its rows in msgRows and dlvRows for
	// flush, which inserts those of the whole batch with few statements.
	deferInserts     bool
	msgRows, dlvRows []any
	// health gathers the health rollups of the batch's attempts, upserted
	// by flush when deferInserts is set.
	health healthBatch
}

// stmt returns st, one of t.stmts, bound to the batch's transaction.
func (t *writeTx) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	b := t.bound[st]
	if b == nil {
		b = t.tx.StmtContext(ctx, st)
		t.bound[st] = b
	}
	return b
}

// create inserts one message and its deliveries, leasing some of them
// when p.Lease asks.
func (t *writeTx) create(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	m := p.Message
	var candidates []hookrelay.Endpoint
	if p.OnlyEndpointID != "" {
		ep, err := scanEndpoint(t.stmt(ctx, t.stmts.onlyEndpoint).QueryRowContext(ctx, p.OnlyEndpointID, m.AppID))
		if err != nil {
			return store.CreateMessageResult{}, notFound(err)
		}
		candidates = []hookrelay.Endpoint{*ep}
	} else {
		eps, err := t.appEndpoints(ctx, m.AppID)
		if err != nil {
			return store.CreateMessageResult{}, err
		}
		candidates = eps
	}
	plan, err := fanout.Plan(p, candidates, t.now)
	if err != nil {
		return store.CreateMessageResult{}, err
	}

	channels, err := jsonSlice(m.Channels)
	if err != nil {
		return store.CreateMessageResult{}, err
	}
	tags, err := jsonSlice(m.Tags)
	if err != nil {
		return store.CreateMessageResult{}, err
	}
	msgRow := []any{m.ID, m.AppID, nullString(m.EventID), m.EventType, m.Payload, channels, tags, micros(m.CreatedAt),
		nullMicros(m.DeliverAt), nullMicros(m.PayloadExpiresAt)}
	if !t.deferInserts {
		if err := t.insertRows(ctx, &t.stmts.insertMsgs, msgWidth, msgRow); err != nil {
			return store.CreateMessageResult{}, mapInsertErr(err)
		}
	}
	due, at := micros(m.CreatedAt), micros(t.now)
	if m.DeliverAt != nil {
		due = micros(*m.DeliverAt)
	}
	args := make([]any, 0, 9*len(plan.Deliveries))
	for _, d := range plan.Deliveries {
		var owner, until any
		if d.Leased {
			owner, until = p.Lease.Owner, micros(p.Lease.Until)
		}
		args = append(args, d.ID, m.ID, d.Endpoint.ID, m.AppID, due, owner, until, at, at)
	}
	res := store.CreateMessageResult{Deliveries: len(plan.Deliveries), Tasks: plan.Tasks}
	if t.deferInserts {
		t.msgRows = append(t.msgRows, msgRow...)
		t.dlvRows = append(t.dlvRows, args...)
		return res, nil
	}
	if err := t.insertRows(ctx, &t.stmts.insertDeliveries, 9, args); err != nil {
		return store.CreateMessageResult{}, err
	}
	return res, nil
}

// insertRows runs the statements of sts (one per size of deliverySizes) on
// rows, width values each, as few statements as the sizes allow.
func (t *writeTx) insertRows(ctx context.Context, sts *[len(deliverySizes)]*sql.Stmt, width int, rows []any) error {
	for len(rows) > 0 {
		k := sizeFor(deliverySizes[:], len(rows)/width)
		n := width * deliverySizes[k]
		if _, err := t.stmt(ctx, sts[k]).ExecContext(ctx, rows[:n]...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// flush inserts the messages and deliveries that create deferred. An
// error does not say which publish it came from.
func (t *writeTx) flush(ctx context.Context) error {
	if err := t.insertRows(ctx, &t.stmts.insertMsgs, msgWidth, t.msgRows); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	if err := t.insertRows(ctx, &t.stmts.insertDeliveries, 9, t.dlvRows); err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	t.msgRows, t.dlvRows = t.msgRows[:0], t.dlvRows[:0]
	if err := t.upsertHealth(ctx, t.health); err != nil {
		return err
	}
	t.health = nil
	return nil
}

// fanoutCache keeps each application's endpoints, as publishes load them,
// from one group commit to the next. It is owned by the writer goroutine.
// It holds while no write through this store could have changed endpoints
// (Store.endpointWrites is unchanged) and no other process has committed
// to the file (its data_version is unchanged); otherwise it starts empty.
//
// Endpoint writes run on the one write connection, so none commits while a
// group commit runs; each counts itself after it commits and before it
// returns, so a publish that starts after an endpoint write has returned
// always sees it.
type fanoutCache struct {
	writes, dataVersion int64
	byApp               map[string][]hookrelay.Endpoint
	held                int // endpoints in byApp
}

// maxFanoutEndpoints bounds the endpoints kept between group commits.
const maxFanoutEndpoints = 4096

// refresh readies the cache for the group commit t: emptied when stale or
// past its bound.
func (c *fanoutCache) refresh(ctx context.Context, t *writeTx, writes int64) {
	var version int64
	if err := t.stmt(ctx, t.stmts.dataVersion).QueryRowContext(ctx).Scan(&version); err != nil {
		version = -1 // unknown: never matches
	}
	if c.byApp == nil || writes != c.writes || version != c.dataVersion || version < 0 || c.held > maxFanoutEndpoints {
		c.byApp, c.held = make(map[string][]hookrelay.Endpoint), 0
		c.writes, c.dataVersion = writes, version
	}
}

// appEndpoints returns the endpoints of appID.
func (t *writeTx) appEndpoints(ctx context.Context, appID string) ([]hookrelay.Endpoint, error) {
	if eps, ok := t.fanout.byApp[appID]; ok {
		return eps, nil
	}
	rows, err := t.stmt(ctx, t.stmts.fanout).QueryContext(ctx, appID)
	if err != nil {
		return nil, err
	}
	eps, err := scanAll(rows, scanEndpoint)
	if err != nil {
		return nil, err
	}
	t.fanout.byApp[appID] = eps
	t.fanout.held += len(eps)
	return eps, nil
}

const messageColumns = `id, app_id, event_id, event_type, payload, channels, tags, created_at, deliver_at`

const messageColumnsOf = `m.id, m.app_id, m.event_id, m.event_type, m.payload, m.channels, m.tags, m.created_at, m.deliver_at`

// messageDest returns the scan destinations for messageColumns and a
// function that finishes m once the row is scanned.
func messageDest(m *hookrelay.Message) ([]any, func() error) {
	var eventID, channels, tags sql.NullString
	var created int64
	var deliverAt sql.NullInt64
	dest := []any{&m.ID, &m.AppID, &eventID, &m.EventType, &m.Payload, &channels, &tags, &created, &deliverAt}
	return dest, func() error {
		m.DeliverAt = nil
		if deliverAt.Valid {
			at := fromMicros(deliverAt.Int64)
			m.DeliverAt = &at
		}
		m.EventID = fromNullString(eventID)
		if err := decodeJSON(channels, &m.Channels, "channels"); err != nil {
			return err
		}
		if err := decodeJSON(tags, &m.Tags, "tags"); err != nil {
			return err
		}
		m.CreatedAt = fromMicros(created)
		return nil
	}
}

func scanMessage(sc scanner) (*hookrelay.Message, error) {
	var m hookrelay.Message
	dest, finish := messageDest(&m)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetMessage finds a message of appID by ID, or else by eventId.
func (s *Store) GetMessage(ctx context.Context, appID, idOrEventID string) (*hookrelay.Message, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+messageColumns+` FROM messages
		 WHERE app_id = ? AND (id = ? OR event_id = ?)
		 ORDER BY id = ? DESC LIMIT 1`,
		appID, idOrEventID, idOrEventID, idOrEventID)
	m, err := scanMessage(row)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", notFound(err))
	}
	return m, nil
}

// msgFilter narrows a listing by properties of the message (alias m).
type msgFilter struct {
	Channel    string
	Tag        string
	EventTypes []string
	Before     *time.Time
	After      *time.Time
}

func (f msgFilter) empty() bool {
	return f.Channel == "" && f.Tag == "" && len(f.EventTypes) == 0 && f.Before == nil && f.After == nil
}

// where returns the conditions, each starting with " AND ". Before and
// After bound the message's creation time exclusively.
func (f msgFilter) where(args []any) (string, []any) {
	q := ""
	if f.Channel != "" {
		q += ` AND EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?)`
		args = append(args, f.Channel)
	}
	if f.Tag != "" {
		q += ` AND EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)`
		args = append(args, f.Tag)
	}
	if len(f.EventTypes) > 0 {
		q += ` AND m.event_type IN (SELECT value FROM json_each(?))`
		args = append(args, textList(f.EventTypes))
	}
	if f.Before != nil {
		q += ` AND m.created_at < ?`
		args = append(args, micros(*f.Before))
	}
	if f.After != nil {
		q += ` AND m.created_at > ?`
		args = append(args, micros(*f.After))
	}
	return q, args
}

// ListMessages lists the messages of p.AppID newest first.
func (s *Store) ListMessages(ctx context.Context, p store.ListMessagesParams) ([]hookrelay.Message, error) {
	f := msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes, Before: p.Before, After: p.After}
	cond, args := f.where([]any{p.AppID})
	page, order, args := newestFirst("m.id", p.Page, args)
	out, err := queryList(ctx, s.rdb,
		`SELECT `+messageColumnsOf+` FROM messages m WHERE m.app_id = ?`+cond+page+order+` LIMIT ?`,
		append(args, limitArg(p.Page)), scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// ExpungeMessageContent sets the payload of the message to NULL.
func (s *Store) ExpungeMessageContent(ctx context.Context, appID, msgID string) error {
	err := mustAffect(s.wdb.ExecContext(ctx,
		`UPDATE messages SET payload = NULL WHERE id = ? AND app_id = ?`, msgID, appID))
	if err != nil {
		return fmt.Errorf("expunge message content: %w", err)
	}
	return nil
}
