// Command purgefill pre-fills a migrated hookrelay database with -n
// delivered messages (each with one successful delivery and one attempt:
// three rows a message) for the retention benchmark (BENCHMARKS.md,
// "Delivery latency during a purge"). With -expired the messages were
// created a year ago and their payloads have expired, so the next cleaner
// run purges them all; without it they are recent and kept, which gives a
// database of the same size with nothing to purge. With -payload-gone as
// well, the payloads are already dropped, so the cleaner starts at its
// second phase: deleting the rows.
//
// -db is a SQLite file or a postgres:// URL:
//
//	hookrelay migrate --database-url /tmp/p/db
//	go run ./internal/bench/purgefill -db /tmp/p/db -n 1000000 -expired
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// chunk is the most messages inserted in one transaction.
const chunk = 100000

func main() {
	path := flag.String("db", "", "the SQLite file or postgres:// URL, already migrated")
	n := flag.Int("n", 1000000, "messages to insert")
	expired := flag.Bool("expired", false, "make every message due for purging")
	gone := flag.Bool("payload-gone", false, "with -expired: the payloads are already dropped, so only rows are left to purge")
	flag.Parse()
	if *path == "" {
		log.Fatal("-db is required")
	}
	ctx := context.Background()
	now := time.Now()
	created, expires := now, now.Add(90*24*time.Hour)
	if *expired {
		created, expires = now.Add(-365*24*time.Hour), now.Add(-300*24*time.Hour)
	}
	var err error
	if strings.HasPrefix(*path, "postgres://") || strings.HasPrefix(*path, "postgresql://") {
		err = fillPostgres(ctx, *path, *n, created, expires, *gone)
	} else {
		err = fillSQLite(ctx, *path, *n, created, expires, *gone)
	}
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("inserted %d messages, deliveries and attempts", *n)
}

// IDs sort before any ID hookrelay makes now ("msg_0000…" < "msg_00D…"),
// as old messages' IDs would.

func fillSQLite(ctx context.Context, path string, n int, created, expires time.Time, gone bool) error {
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	c, e := created.UnixMicro(), expires.UnixMicro()
	for _, q := range []string{
		`INSERT INTO applications (id, env_id, name, created_at, updated_at) VALUES ('app_fill', 'env_default', 'fill', ?1, ?1)`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
			VALUES ('ep_fill', 'app_fill', 'http://127.0.0.1:9/', 'whsec_fill', ?1, ?1)`,
	} {
		if _, err := db.ExecContext(ctx, q, c); err != nil {
			return err
		}
	}
	payload, response := `'{"pad":"' || hex(randomblob(90)) || '"}'`, `'{"ok":true}'`
	if gone {
		payload, response = "NULL", "''"
	}
	const series = `WITH RECURSIVE s(value) AS (SELECT ?1 UNION ALL SELECT value + 1 FROM s WHERE value < ?2) `
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, q := range []string{
			series + `INSERT INTO messages (id, app_id, event_type, payload, created_at, payload_expires_at)
			SELECT printf('msg_0000%023d', value), 'app_fill', 'fill.event', ` + payload + `, ?3, ?4 FROM s`,
			series + `INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
			SELECT printf('dlv_0000%023d', value), printf('msg_0000%023d', value), 'ep_fill', 'app_fill', 0, 1, ?3, ?3
			FROM s`,
			series + `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
				response, response_duration_ms, created_at, outcome)
			SELECT printf('atmpt_0000%023d', value), printf('dlv_0000%023d', value), printf('msg_0000%023d', value),
				'ep_fill', 'app_fill', 'http://127.0.0.1:9/', 0, 200, ` + response + `, 12, ?3, 1
			FROM s`,
		} {
			if _, err := tx.ExecContext(ctx, q, lo, hi, c, e); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func fillPostgres(ctx context.Context, url string, n int, created, expires time.Time, gone bool) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO applications (id, env_id, name, created_at, updated_at) VALUES ('app_fill', 'env_default', 'fill', $1, $1)`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
			VALUES ('ep_fill', 'app_fill', 'http://127.0.0.1:9/', 'whsec_fill', $1, $1)`,
	} {
		if _, err := conn.Exec(ctx, q, created); err != nil {
			return err
		}
	}
	payload, response := `convert_to('{"pad":"' || md5(random()::text) || md5(random()::text) || md5(random()::text) || '"}', 'UTF8')`, `'{"ok":true}'::bytea`
	if gone {
		payload, response = "NULL", "''::bytea"
	}
	id := func(prefix string) string { return fmt.Sprintf(`'%s_0000' || lpad(g::text, 23, '0')`, prefix) }
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			msgs := `INSERT INTO messages (id, app_id, event_type, payload, created_at, payload_expires_at)
				SELECT ` + id("msg") + `, 'app_fill', 'fill.event', ` + payload + `, $3, $4 FROM generate_series($1::int, $2::int) g`
			if _, err := tx.Exec(ctx, msgs, lo, hi, created, expires); err != nil {
				return err
			}
			for _, q := range []string{
				`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
				SELECT ` + id("dlv") + `, ` + id("msg") + `, 'ep_fill', 'app_fill', 0, 1, $3, $3
				FROM generate_series($1::int, $2::int) g`,
				`INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
					response, response_duration_ms, created_at, outcome)
				SELECT ` + id("atmpt") + `, ` + id("dlv") + `, ` + id("msg") + `,
					'ep_fill', 'app_fill', 'http://127.0.0.1:9/', 0, 200, ` + response + `, 12, $3, 1
				FROM generate_series($1::int, $2::int) g`,
			} {
				if _, err := tx.Exec(ctx, q, lo, hi, created); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, `VACUUM ANALYZE`)
	return err
}
