package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const appColumns = `id, env_id, uid, name, rate_limit, metadata, created_at, updated_at`

func scanApp(sc scanner) (*hookrelay.Application, error) {
	var a hookrelay.Application
	var uid, metadata sql.NullString
	var rate sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.EnvID, &uid, &a.Name, &rate, &metadata, &created, &updated); err != nil {
		return nil, err
	}
	a.UID = fromNullString(uid)
	a.RateLimit = fromNullInt(rate)
	if err := decodeJSON(metadata, &a.Metadata, "metadata"); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	a.UpdatedAt = fromMicros(updated)
	return &a, nil
}

// CreateApplication stores app, giving it an ID and times when they are
// unset. A uid taken in the environment is ErrConflict; a missing
// environment is ErrNotFound.
func (s *Store) CreateApplication(ctx context.Context, app *hookrelay.Application) error {
	if app.ID == "" {
		app.ID = hookrelay.NewID(hookrelay.PrefixApp)
	}
	app.CreatedAt = nowOr(app.CreatedAt)
	if app.UpdatedAt.IsZero() {
		app.UpdatedAt = app.CreatedAt
	}
	app.UpdatedAt = normTime(app.UpdatedAt)
	meta, err := jsonMap(app.Metadata)
	if err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	_, err = s.wdb.ExecContext(ctx,
		`INSERT INTO applications (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		app.ID, app.EnvID, nullString(app.UID), app.Name, nullInt(app.RateLimit), meta,
		micros(app.CreatedAt), micros(app.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create application: %w", mapInsertErr(err))
	}
	return nil
}

// GetApplication finds an application of envID by ID, or else by uid;
// the environment's internal application is not found.
func (s *Store) GetApplication(ctx context.Context, envID, idOrUID string) (*hookrelay.Application, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+appColumns+` FROM applications
		 WHERE env_id = ? AND (id = ? OR uid = ?) AND internal = 0
		 ORDER BY id = ? DESC LIMIT 1`,
		envID, idOrUID, idOrUID, idOrUID)
	app, err := scanApp(row)
	if err != nil {
		return nil, fmt.Errorf("get application: %w", notFound(err))
	}
	return app, nil
}

// UpdateApplication writes uid, name, rate limit and metadata of the
// application with app.ID in app.EnvID. UpdatedAt is set to now when zero.
func (s *Store) UpdateApplication(ctx context.Context, app *hookrelay.Application) error {
	app.UpdatedAt = nowOr(app.UpdatedAt)
	meta, err := jsonMap(app.Metadata)
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	err = mustAffect(s.wdb.ExecContext(ctx,
		`UPDATE applications SET uid = ?, name = ?, rate_limit = ?, metadata = ?, updated_at = ?
		 WHERE id = ? AND env_id = ? AND internal = 0`,
		nullString(app.UID), app.Name, nullInt(app.RateLimit), meta, micros(app.UpdatedAt),
		app.ID, app.EnvID))
	if err != nil {
		return fmt.Errorf("update application: %w", mapInsertErr(err))
	}
	return nil
}

// DeleteApplication removes the application with its endpoints, messages,
// deliveries, attempts and portal tokens.
func (s *Store) DeleteApplication(ctx context.Context, envID, id string) error {
	// Its endpoints go with it.
	err := mustAffect(s.writeEndpoints(ctx,
		`DELETE FROM applications WHERE id = ? AND env_id = ? AND internal = 0`, id, envID))
	if err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	return nil
}

// ListApplications lists the applications of envID by ID in page.Order,
// leaving out the internal one.
func (s *Store) ListApplications(ctx context.Context, envID string, page store.Page) ([]hookrelay.Application, error) {
	cond, order, args := pageClause("id", page, []any{envID})
	out, err := queryList(ctx, s.rdb,
		`SELECT `+appColumns+` FROM applications WHERE env_id = ? AND internal = 0`+cond+order+` LIMIT ?`,
		append(args, limitArg(page)), scanApp)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

const eventTypeColumns = `env_id, name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at`

func scanEventType(sc scanner) (*hookrelay.EventType, error) {
	var et hookrelay.EventType
	var archived, deprecated int
	var schemas, flag, group sql.NullString
	var created, updated int64
	if err := sc.Scan(&et.EnvID, &et.Name, &et.Description, &archived, &deprecated,
		&schemas, &flag, &group, &created, &updated); err != nil {
		return nil, err
	}
	et.Archived = archived != 0
	et.Deprecated = deprecated != 0
	if schemas.Valid {
		et.Schemas = []byte(schemas.String)
	}
	et.FeatureFlag = fromNullString(flag)
	et.GroupName = fromNullString(group)
	et.CreatedAt = fromMicros(created)
	et.UpdatedAt = fromMicros(updated)
	return &et, nil
}

func schemasArg(et *hookrelay.EventType) any {
	if et.Schemas == nil {
		return nil
	}
	return string(et.Schemas)
}

// CreateEventType stores et, setting its times when unset. A name taken in
// the environment is ErrConflict.
func (s *Store) CreateEventType(ctx context.Context, et *hookrelay.EventType) error {
	et.CreatedAt = nowOr(et.CreatedAt)
	if et.UpdatedAt.IsZero() {
		et.UpdatedAt = et.CreatedAt
	}
	et.UpdatedAt = normTime(et.UpdatedAt)
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO event_types (`+eventTypeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		et.EnvID, et.Name, et.Description, boolInt(et.Archived), boolInt(et.Deprecated),
		schemasArg(et), nullString(et.FeatureFlag), nullString(et.GroupName),
		micros(et.CreatedAt), micros(et.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create event type: %w", mapInsertErr(err))
	}
	return nil
}

func (s *Store) GetEventType(ctx context.Context, envID, name string) (*hookrelay.EventType, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+eventTypeColumns+` FROM event_types WHERE env_id = ? AND name = ?`, envID, name)
	et, err := scanEventType(row)
	if err != nil {
		return nil, fmt.Errorf("get event type: %w", notFound(err))
	}
	return et, nil
}

// UpdateEventType writes every mutable field of the event type found by
// EnvID and Name. UpdatedAt is set to now when zero.
func (s *Store) UpdateEventType(ctx context.Context, et *hookrelay.EventType) error {
	et.UpdatedAt = nowOr(et.UpdatedAt)
	err := mustAffect(s.wdb.ExecContext(ctx,
		`UPDATE event_types SET description = ?, archived = ?, deprecated = ?, schemas = ?,
		 feature_flag = ?, group_name = ?, updated_at = ?
		 WHERE env_id = ? AND name = ?`,
		et.Description, boolInt(et.Archived), boolInt(et.Deprecated), schemasArg(et),
		nullString(et.FeatureFlag), nullString(et.GroupName), micros(et.UpdatedAt),
		et.EnvID, et.Name))
	if err != nil {
		return fmt.Errorf("update event type: %w", err)
	}
	return nil
}

func (s *Store) DeleteEventType(ctx context.Context, envID, name string) error {
	err := mustAffect(s.wdb.ExecContext(ctx,
		`DELETE FROM event_types WHERE env_id = ? AND name = ?`, envID, name))
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	return nil
}

// ListEventTypes lists the event types of envID by name in page.Order,
// leaving out archived ones unless includeArchived.
func (s *Store) ListEventTypes(ctx context.Context, envID string, includeArchived bool, page store.Page) ([]hookrelay.EventType, error) {
	q := `SELECT ` + eventTypeColumns + ` FROM event_types WHERE env_id = ?`
	if !includeArchived {
		q += ` AND archived = 0`
	}
	cond, order, args := pageClause("name", page, []any{envID})
	out, err := queryList(ctx, s.rdb, q+cond+order+` LIMIT ?`, append(args, limitArg(page)), scanEventType)
	if err != nil {
		return nil, fmt.Errorf("list event types: %w", err)
	}
	return out, nil
}
