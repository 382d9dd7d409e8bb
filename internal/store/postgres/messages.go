package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const messageColumns = `id, app_id, event_id, event_type, payload, channels, tags, created_at, deliver_at`

const messageColumnsOf = `m.id, m.app_id, m.event_id, m.event_type, m.payload, m.channels, m.tags, m.created_at, m.deliver_at`

// messageDest returns the scan destinations for messageColumns.
func messageDest(m *hookrelay.Message) []any {
	return []any{&m.ID, &m.AppID, &m.EventID, &m.EventType, &m.Payload, &m.Channels, &m.Tags, &m.CreatedAt, &m.DeliverAt}
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
	if !textKeys(appID, idOrEventID) {
		return nil, fmt.Errorf("get message: %w", hookrelay.ErrNotFound)
	}
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
