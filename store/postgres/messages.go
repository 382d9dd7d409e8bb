package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/store"
)

// maxPublishTries bounds how often CreateMessage starts over when an
// endpoint it chose was deleted before the insert.
const maxPublishTries = 3

// publishSQL inserts one message and its deliveries in one statement
// (hence one transaction). The message insert does nothing on a taken
// eventId; the deliveries hang off its RETURNING, so then nothing is stored
// and the counts are 0.
//
// $1..$8 are the message columns; $9 and $10 the delivery and endpoint IDs;
// $11 the deliveries' creation time.
const publishSQL = `WITH msg AS (
	INSERT INTO messages (id, app_id, event_id, event_type, payload, channels, tags, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT DO NOTHING
	RETURNING id, app_id, created_at
), dl AS (
	INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, next_attempt, manual,
		created_at, updated_at)
	SELECT t.id, msg.id, t.endpoint_id, msg.app_id, 1, 0, msg.created_at, false, $11, $11
	FROM msg, unnest($9::text[], $10::text[]) AS t (id, endpoint_id)
	RETURNING 1
)
SELECT (SELECT count(*) FROM msg), (SELECT count(*) FROM dl)`

// CreateMessage stores the message and its deliveries in one statement and,
// once that has committed, wakes every subscribed node when it queued a
// delivery. The endpoints are
// read first, outside the insert: an endpoint created meanwhile does not
// receive the message, as if it had been created after the publish, and if
// a chosen endpoint is deleted meanwhile the call starts over. ID and
// CreatedAt of p.Message are set when unset. A missing application (or
// p.OnlyEndpointID) is ErrNotFound.
func (s *Store) CreateMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	m := p.Message
	if m == nil {
		return store.CreateMessageResult{}, errors.New("create message: nil message")
	}
	if m.ID == "" {
		m.ID = hookrelay.NewID(hookrelay.PrefixMessage)
	}
	m.CreatedAt = nowOr(m.CreatedAt)
	for try := 1; ; try++ {
		res, err := s.createMessage(ctx, p)
		if err != nil && try < maxPublishTries && constraint(err) == "deliveries_endpoint_id_fkey" {
			continue
		}
		if err != nil {
			return store.CreateMessageResult{}, fmt.Errorf("create message: %w", mapErr(err))
		}
		return res, nil
	}
}

func (s *Store) createMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	m := p.Message
	targets, err := s.publishTargets(ctx, p)
	if err != nil {
		return store.CreateMessageResult{}, err
	}
	ids := make([]string, len(targets))
	for i := range ids {
		ids[i] = hookrelay.NewID(hookrelay.PrefixDelivery)
	}
	var stored, queued int
	err = s.pool.QueryRow(ctx, publishSQL,
		m.ID, m.AppID, m.EventID, m.EventType, m.Payload, m.Channels, m.Tags, m.CreatedAt,
		ids, targets, normTime(time.Now())).Scan(&stored, &queued)
	if err != nil {
		return store.CreateMessageResult{}, err
	}
	if stored == 0 {
		return store.CreateMessageResult{}, hookrelay.ErrConflict
	}
	if queued > 0 {
		s.wake()
	}
	return store.CreateMessageResult{Deliveries: queued}, nil
}

// publishTargets returns the IDs of the endpoints that receive p.Message.
func (s *Store) publishTargets(ctx context.Context, p store.CreateMessageParams) ([]string, error) {
	m := p.Message
	if p.OnlyEndpointID != "" {
		var id string
		err := s.pool.QueryRow(ctx, `SELECT id FROM endpoints WHERE id = $1 AND app_id = $2`,
			p.OnlyEndpointID, m.AppID).Scan(&id)
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT id, filter_types, channels, disabled FROM endpoints WHERE app_id = $1`, m.AppID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	targets := []string{}
	var ep hookrelay.Endpoint
	for rows.Next() {
		ep = hookrelay.Endpoint{}
		if err := rows.Scan(&ep.ID, &ep.FilterTypes, &ep.Channels, &ep.Disabled); err != nil {
			return nil, err
		}
		if ep.Receives(m.EventType, m.Channels) {
			targets = append(targets, ep.ID)
		}
	}
	return targets, rows.Err()
}

const messageColumns = `id, app_id, event_id, event_type, payload, channels, tags, created_at`

const messageColumnsOf = `m.id, m.app_id, m.event_id, m.event_type, m.payload, m.channels, m.tags, m.created_at`

// messageDest returns the scan destinations for messageColumns.
func messageDest(m *hookrelay.Message) []any {
	return []any{&m.ID, &m.AppID, &m.EventID, &m.EventType, &m.Payload, &m.Channels, &m.Tags, &m.CreatedAt}
}

func scanMessage(row pgx.Row) (*hookrelay.Message, error) {
	var m hookrelay.Message
	if err := row.Scan(messageDest(&m)...); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetMessage finds a message of appID by ID, or else by eventId.
func (s *Store) GetMessage(ctx context.Context, appID, idOrEventID string) (*hookrelay.Message, error) {
	row := s.pool.QueryRow(ctx,
		`SELECT `+messageColumns+` FROM messages
		 WHERE app_id = $1 AND (id = $2 OR event_id = $2)
		 ORDER BY id = $2 DESC LIMIT 1`,
		appID, idOrEventID)
	m, err := scanMessage(row)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", mapErr(err))
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

// where appends the conditions, each starting with " AND ". Before and
// After bound the message's creation time exclusively.
func (f msgFilter) where(q *query) {
	if f.Channel != "" {
		q.add(` AND ` + q.arg(f.Channel) + `::text = ANY (m.channels)`)
	}
	if f.Tag != "" {
		q.add(` AND ` + q.arg(f.Tag) + `::text = ANY (m.tags)`)
	}
	if len(f.EventTypes) > 0 {
		q.add(` AND m.event_type = ANY (` + q.arg(f.EventTypes) + `::text[])`)
	}
	if f.Before != nil {
		q.add(` AND m.created_at < ` + q.arg(*f.Before))
	}
	if f.After != nil {
		q.add(` AND m.created_at > ` + q.arg(*f.After))
	}
}

// ListMessages lists the messages of p.AppID newest first.
func (s *Store) ListMessages(ctx context.Context, p store.ListMessagesParams) ([]hookrelay.Message, error) {
	var q query
	q.add(`SELECT ` + messageColumnsOf + ` FROM messages m WHERE m.app_id = ` + q.arg(p.AppID))
	msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes, Before: p.Before, After: p.After}.where(&q)
	q.newestFirst("m.id", p.Page)
	out, err := queryList(ctx, s.pool, &q, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// ExpungeMessageContent sets the payload of the message to NULL.
func (s *Store) ExpungeMessageContent(ctx context.Context, appID, msgID string) error {
	err := mustAffect(s.pool.Exec(ctx,
		`UPDATE messages SET payload = NULL WHERE id = $1 AND app_id = $2`, msgID, appID))
	if err != nil {
		return fmt.Errorf("expunge message content: %w", err)
	}
	return nil
}
