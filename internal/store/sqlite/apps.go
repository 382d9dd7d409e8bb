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

// troubledAppsSQL is one page of ListAppsTroubledFirst. Parameters: the
// environment, the cursor (its group, 1 for healthy, and its ID; the empty
// ID is before every one) and the page size.
//
// troubled counts the disabled and failing endpoints per application,
// read from the partial indexes endpoints_disabled and
// endpoint_status_failing (a failing status finds its endpoint by primary
// key; a disabled one gives NULL), so it costs the number of endpoints in
// trouble, not of applications. The troubled branch sorts those
// applications; the healthy branch walks applications_env in ID order,
// leaves the troubled ones out, and stops at the page size (its start is one
// range bound, so that the index seeks to it).
const troubledAppsSQL = `WITH troubled AS (
		SELECT app_id, sum(disabled) AS disabled, sum(failing) AS failing FROM (
			SELECT app_id, 1 AS disabled, 0 AS failing FROM endpoints WHERE disabled = 1
			UNION ALL
			SELECT (SELECT e.app_id FROM endpoints e WHERE e.id = s.endpoint_id AND e.disabled = 0), 0, 1
			FROM endpoint_status s WHERE s.failing_since IS NOT NULL
		)
		GROUP BY app_id
	), page AS (
		SELECT * FROM (SELECT 0 AS healthy, a.id AS id, t.disabled AS disabled, t.failing AS failing
			FROM troubled t JOIN applications a ON a.id = t.app_id
			WHERE a.env_id = ?1 AND a.internal = 0 AND ?2 = 0 AND a.id > ?3
			ORDER BY a.id LIMIT ?4)
		UNION ALL
		SELECT * FROM (SELECT 1, a.id, 0, 0 FROM applications a
			WHERE a.env_id = ?1 AND a.internal = 0 AND a.id > CASE WHEN ?2 = 1 THEN ?3 ELSE '' END
				AND a.id NOT IN (SELECT app_id FROM troubled WHERE app_id IS NOT NULL)
			ORDER BY a.id LIMIT ?4)
	)
	SELECT a.id, a.env_id, a.uid, a.name, a.rate_limit, a.metadata, a.created_at, a.updated_at,
		p.disabled, p.failing
	FROM page p JOIN applications a ON a.id = p.id
	ORDER BY p.healthy, a.id
	LIMIT ?4`

// ListAppsTroubledFirst lists a page of p.EnvID's applications, those with
// disabled or failing endpoints first, in one query (troubledAppsSQL).
func (s *Store) ListAppsTroubledFirst(ctx context.Context, p store.TroubledParams) ([]store.TroubledApp, error) {
	out, err := queryList(ctx, s.rdb, troubledAppsSQL,
		[]any{p.EnvID, boolInt(p.After.Healthy), p.After.ID, p.Limit},
		func(sc scanner) (*store.TroubledApp, error) {
			var ta store.TroubledApp
			app, err := scanApp(withExtra{sc, []any{&ta.Disabled, &ta.Failing}})
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
	sc    scanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.extra...)...) }

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
