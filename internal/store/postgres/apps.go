package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const appColumns = `id, env_id, uid, name, rate_limit, metadata, created_at, updated_at`

func scanApp(row pgx.Row) (*hookrelay.Application, error) {
	var a hookrelay.Application
	var metadata []byte
	if err := row.Scan(&a.ID, &a.EnvID, &a.UID, &a.Name, &a.RateLimit, &metadata,
		&a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	if err := decodeJSON(metadata, &a.Metadata, "metadata"); err != nil {
		return nil, err
	}
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
	_, err = s.pool.Exec(ctx,
		`INSERT INTO applications (`+appColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		app.ID, app.EnvID, app.UID, app.Name, app.RateLimit, meta, app.CreatedAt, app.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create application: %w", mapErr(err))
	}
	return nil
}

// GetApplication finds an application of envID by ID, or else by uid;
// the environment's internal application is not found.
func (s *Store) GetApplication(ctx context.Context, envID, idOrUID string) (*hookrelay.Application, error) {
	if !textKeys(envID, idOrUID) {
		return nil, fmt.Errorf("get application: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+appColumns+` FROM applications
		 WHERE env_id = $1 AND (id = $2 OR uid = $2) AND NOT internal
		 ORDER BY id = $2 DESC LIMIT 1`,
		envID, idOrUID)
	app, err := scanApp(row)
	if err != nil {
		return nil, fmt.Errorf("get application: %w", mapErr(err))
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
	err = mustAffect(s.pool.Exec(ctx,
		`UPDATE applications SET uid = $1, name = $2, rate_limit = $3, metadata = $4, updated_at = $5
		 WHERE id = $6 AND env_id = $7 AND NOT internal`,
		app.UID, app.Name, app.RateLimit, meta, app.UpdatedAt, app.ID, app.EnvID))
	if err != nil {
		return fmt.Errorf("update application: %w", mapErr(err))
	}
	return nil
}

// DeleteApplication removes the application with its endpoints, messages,
// deliveries, attempts and portal tokens.
func (s *Store) DeleteApplication(ctx context.Context, envID, id string) error {
	err := mustAffect(s.pool.Exec(ctx,
		`DELETE FROM applications WHERE id = $1 AND env_id = $2 AND NOT internal`, id, envID))
	if err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	return nil
}

// ListApplications lists the applications of envID by ID in page.Order,
// leaving out the internal one.
func (s *Store) ListApplications(ctx context.Context, envID string, page store.Page) ([]hookrelay.Application, error) {
	var q query
	q.add(`SELECT ` + appColumns + ` FROM applications WHERE env_id = ` + q.arg(envID) + ` AND NOT internal`)
	q.page("id", page)
	out, err := queryList(ctx, s.pool, &q, scanApp)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

const eventTypeColumns = `env_id, name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at`

func scanEventType(row pgx.Row) (*hookrelay.EventType, error) {
	var et hookrelay.EventType
	var schemas []byte
	if err := row.Scan(&et.EnvID, &et.Name, &et.Description, &et.Archived, &et.Deprecated,
		&schemas, &et.FeatureFlag, &et.GroupName, &et.CreatedAt, &et.UpdatedAt); err != nil {
		return nil, err
	}
	if schemas != nil {
		et.Schemas = schemas
	}
	return &et, nil
}

// schemasArg is the schemas column value: the JSON text as given, NULL when
// unset.
func schemasArg(et *hookrelay.EventType) any {
	if et.Schemas == nil {
		return nil
	}
	return string(et.Schemas)
}

// CreateEventType stores et, setting its times when unset. A name taken in
// the environment is ErrConflict; a missing environment is ErrNotFound.
func (s *Store) CreateEventType(ctx context.Context, et *hookrelay.EventType) error {
	et.CreatedAt = nowOr(et.CreatedAt)
	if et.UpdatedAt.IsZero() {
		et.UpdatedAt = et.CreatedAt
	}
	et.UpdatedAt = normTime(et.UpdatedAt)
	_, err := s.pool.Exec(ctx,
		`INSERT INTO event_types (`+eventTypeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		et.EnvID, et.Name, et.Description, et.Archived, et.Deprecated, schemasArg(et),
		et.FeatureFlag, et.GroupName, et.CreatedAt, et.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create event type: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetEventType(ctx context.Context, envID, name string) (*hookrelay.EventType, error) {
	if !textKeys(envID, name) {
		return nil, fmt.Errorf("get event type: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+eventTypeColumns+` FROM event_types WHERE env_id = $1 AND name = $2`, envID, name)
	et, err := scanEventType(row)
	if err != nil {
		return nil, fmt.Errorf("get event type: %w", mapErr(err))
	}
	return et, nil
}

// UpdateEventType writes every mutable field of the event type found by
// EnvID and Name. UpdatedAt is set to now when zero.
func (s *Store) UpdateEventType(ctx context.Context, et *hookrelay.EventType) error {
	et.UpdatedAt = nowOr(et.UpdatedAt)
	err := mustAffect(s.pool.Exec(ctx,
		`UPDATE event_types SET description = $1, archived = $2, deprecated = $3, schemas = $4,
		 feature_flag = $5, group_name = $6, updated_at = $7
		 WHERE env_id = $8 AND name = $9`,
		et.Description, et.Archived, et.Deprecated, schemasArg(et),
		et.FeatureFlag, et.GroupName, et.UpdatedAt, et.EnvID, et.Name))
	if err != nil {
		return fmt.Errorf("update event type: %w", mapErr(err))
	}
	return nil
}

func (s *Store) DeleteEventType(ctx context.Context, envID, name string) error {
	err := mustAffect(s.pool.Exec(ctx,
		`DELETE FROM event_types WHERE env_id = $1 AND name = $2`, envID, name))
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	return nil
}

// ListEventTypes lists the event types of envID by name in page.Order,
// leaving out archived ones unless includeArchived.
func (s *Store) ListEventTypes(ctx context.Context, envID string, includeArchived bool, page store.Page) ([]hookrelay.EventType, error) {
	var q query
	q.add(`SELECT ` + eventTypeColumns + ` FROM event_types WHERE env_id = ` + q.arg(envID))
	if !includeArchived {
		q.add(` AND NOT archived`)
	}
	q.page("name", page)
	out, err := queryList(ctx, s.pool, &q, scanEventType)
	if err != nil {
		return nil, fmt.Errorf("list event types: %w", err)
	}
	return out, nil
}
