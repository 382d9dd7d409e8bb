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

// troubledAppsSQL is one page of ListAppsTroubledFirst. Parameters: the
// environment, the cursor (its group, true for healthy, and its ID; the
// empty ID is before every one) and the page size.
//
// troubled counts the disabled and failing endpoints per application,
// read from the partial indexes endpoints_disabled and
// endpoint_status_failing (a failing status finds its endpoint by primary
// key; a disabled one gives NULL, a group that matches no application),
// so it costs the number of endpoints in trouble, not of applications.
// The troubled branch sorts those applications; the healthy branch walks
// the applications in ID order, leaves the troubled ones out, and stops at
// the page size (its start is one range bound, so that an index seeks to
// it, in a generic plan too).
const troubledAppsSQL = `WITH troubled AS (
		SELECT app_id, sum(disabled) AS disabled, sum(failing) AS failing FROM (
			SELECT app_id, 1 AS disabled, 0 AS failing FROM endpoints WHERE disabled
			UNION ALL
			SELECT (SELECT e.app_id FROM endpoints e WHERE e.id = s.endpoint_id AND NOT e.disabled), 0, 1
			FROM endpoint_status s WHERE s.failing_since IS NOT NULL
		) x
		GROUP BY app_id
	), page AS (
		(SELECT false AS healthy, a.id, t.disabled, t.failing FROM applications a JOIN troubled t ON t.app_id = a.id
		 WHERE a.env_id = $1 AND NOT a.internal AND NOT $2 AND a.id > $3
		 ORDER BY a.id LIMIT $4)
		UNION ALL
		(SELECT true, a.id, 0, 0 FROM applications a
		 WHERE a.env_id = $1 AND NOT a.internal AND a.id > CASE WHEN $2 THEN $3 ELSE '' END
			AND NOT EXISTS (SELECT 1 FROM troubled t WHERE t.app_id = a.id)
		 ORDER BY a.id LIMIT $4)
	)
	SELECT a.id, a.env_id, a.uid, a.name, a.rate_limit, a.metadata, a.created_at, a.updated_at,
		p.disabled, p.failing
	FROM page p JOIN applications a ON a.id = p.id
	ORDER BY p.healthy, a.id
	LIMIT $4`

// ListAppsTroubledFirst lists a page of p.EnvID's applications, those with
// disabled or failing endpoints first, in one query (troubledAppsSQL).
func (s *Store) ListAppsTroubledFirst(ctx context.Context, p store.TroubledParams) ([]store.TroubledApp, error) {
	if !textKeys(p.EnvID, p.After.ID) {
		return nil, nil // no application has such a key, nor comes after one
	}
	rows, err := s.pool.Query(ctx, troubledAppsSQL, p.EnvID, p.After.Healthy, p.After.ID, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list troubled applications: %w", err)
	}
	out, err := collectList(rows, func(row pgx.Row) (*store.TroubledApp, error) {
		var ta store.TroubledApp
		app, err := scanApp(withExtra{row, []any{&ta.Disabled, &ta.Failing}})
		if err != nil {
			return nil, err
		}
		ta.App = *app
		return &ta, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list troubled applications: %w", err)
	}
	return out, nil
}

// withExtra scans a row's leading columns into the destinations a scan
// function names and the columns after them into extra.
type withExtra struct {
	row   pgx.Row
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }
