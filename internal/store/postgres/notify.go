package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Subscribe timing.
const (
	// listenAppName is the application_name of the listening connection.
	listenAppName = "hookrelay-listen"
	pingTimeout   = 10 * time.Second
	notifyTimeout = 5 * time.Second
	// notifyInterval is the least time between two notifications of one
	// store; it delays other nodes' wake-ups at most that much.
	notifyInterval = 5 * time.Millisecond
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// listenIdleCheck is how long the listening connection may stay silent
// before it is pinged, so that a connection that died without a word (a
// vanished network path) is noticed. Tests shorten it.
var listenIdleCheck = 30 * time.Second

// Subscribe calls fn whenever work is committed on any node sharing the
// database: a publish that queued deliveries, a resend, a recovery or a
// release. It holds one connection of its own (outside the pool) that
// LISTENs on the hookrelay_work channel, and returns nil once ctx ends.
//
// When the connection fails (PostgreSQL restarts, the network drops it, a
// ping goes unanswered) Subscribe connects again with capped exponential
// backoff. Notifications sent while it was not listening are lost, so fn
// is also called every time the LISTEN is in place, the first time
// included: after fn's first call no notification is missed.
//
// fn runs on Subscribe's goroutine and should return quickly (the
// dispatcher's Wake only signals). Several notifications may yield one call
// or several.
func (s *Store) Subscribe(ctx context.Context, fn func()) error {
	backoff := minBackoff
	for {
		err := s.listen(ctx, fn, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("postgres: listening for work failed; reconnecting",
			"err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs, calls connected and fn, and then calls fn for
// every notification until the connection fails or ctx ends.
func (s *Store) listen(ctx context.Context, fn, connected func()) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	fn()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdleCheck)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn()
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Silent for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

// wake asks the notifier to send a notification on notifyChannel. Calls
// made while one is being sent are folded into a single next one, so
// publishes never wait for each other on PostgreSQL's notification lock,
// which is held from a notifying transaction's commit until its WAL is
// flushed and so serialises such commits across the whole server.
func (s *Store) wake() {
	select {
	case s.wakeups <- struct{}{}:
	default: // one is pending already and will cover this call
	}
}

// notifier sends the notifications asked for by wake until the store
// closes, at most one per notifyInterval: a notification is a commit of its
// own, and a steady stream of publishes would otherwise cost one per
// publish. A notification lost to a failure, or to a crash after a commit,
// delays other nodes until their next poll; the work itself is safe in the
// database.
func (s *Store) notifier() {
	defer close(s.notifierDone)
	for {
		select {
		case <-s.wakeups:
			s.notify()
			t := time.NewTimer(notifyInterval)
			select {
			case <-t.C:
			case <-s.stopNotifier:
				t.Stop()
			}
		case <-s.stopNotifier:
			select {
			case <-s.wakeups:
				s.notify()
			default:
			}
			return
		}
	}
}

func (s *Store) notify() {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
		s.log.Warn("postgres: notifying other nodes of new work failed", "err", err)
	}
}
