// Command purgefill pre-fills a migrated hookrelay SQLite database with -n
// delivered messages (each with one successful delivery and one attempt:
// three rows a message) for the retention benchmark (BENCHMARKS.md,
// "Delivery latency during a purge"). With -expired the messages were
// created a year ago and their payloads have expired, so the next cleaner
// run purges them all; without it they are recent and kept, which gives a
// database of the same size with nothing to purge.
//
//	hookrelay migrate --database-url /tmp/p/db
//	go run ./internal/bench/purgefill -db /tmp/p/db -n 1000000 -expired
package main

import (
	"context"
	"database/sql"
	"flag"
	"log"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	path := flag.String("db", "", "the SQLite file, already migrated")
	n := flag.Int("n", 1000000, "messages to insert")
	expired := flag.Bool("expired", false, "make every message due for purging")
	flag.Parse()
	if *path == "" {
		log.Fatal("-db is required")
	}
	db, err := sql.Open("sqlite", *path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	created, expires := now.UnixMicro(), now.Add(90*24*time.Hour).UnixMicro()
	if *expired {
		created, expires = now.Add(-365*24*time.Hour).UnixMicro(), now.Add(-300*24*time.Hour).UnixMicro()
	}
	stmts := []string{
		`INSERT INTO applications (id, env_id, name, created_at, updated_at) VALUES ('app_fill', 'env_default', 'fill', ?1, ?1)`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
			VALUES ('ep_fill', 'app_fill', 'http://127.0.0.1:9/', 'whsec_fill', ?1, ?1)`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q, created); err != nil {
			log.Fatal(err)
		}
	}
	// IDs sort before any ID hookrelay makes now ("msg_0000…" < "msg_00D…"),
	// as old messages' IDs would.
	const series = `WITH RECURSIVE s(value) AS (SELECT ?1 UNION ALL SELECT value + 1 FROM s WHERE value < ?2) `
	const chunk = 100000
	for lo := 1; lo <= *n; lo += chunk {
		hi := min(lo+chunk-1, *n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		for _, q := range []string{
			series + `INSERT INTO messages (id, app_id, event_type, payload, created_at, payload_expires_at)
			SELECT printf('msg_0000%023d', value), 'app_fill', 'fill.event',
				'{"pad":"' || hex(randomblob(90)) || '"}', ?3, ?4 FROM s`,
			series + `INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
			SELECT printf('dlv_0000%023d', value), printf('msg_0000%023d', value), 'ep_fill', 'app_fill', 0, 1, ?3, ?3
			FROM s`,
			series + `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
				response, response_duration_ms, created_at, outcome)
			SELECT printf('atmpt_0000%023d', value), printf('dlv_0000%023d', value), printf('msg_0000%023d', value),
				'ep_fill', 'app_fill', 'http://127.0.0.1:9/', 0, 200, '{"ok":true}', 12, ?3, 1
			FROM s`,
		} {
			if _, err := tx.ExecContext(ctx, q, lo, hi, created, expires); err != nil {
				log.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		log.Fatal(err)
	}
	log.Printf("inserted %d messages, deliveries and attempts", *n)
}
