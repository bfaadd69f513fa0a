package postgres

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener holds one connection per instance LISTENing on a channel and
// hands each notification's payload to a callback. A broken connection is
// reopened with backoff; after every (re)connection onConnect runs, so that
// whoever relies on the notifications catches up on what was said while
// nobody listened (a missed notification only delays, never loses).
//
// LISTEN needs a session of its own: behind PgBouncer in transaction mode,
// give it a direct URL (MEALSYNC_LISTEN_DATABASE_URL).
type Listener struct {
	url, channel string
	onNotify     func(payload string)
	onConnect    func()
	log          *slog.Logger
	up           atomic.Bool
}

// NewListener returns a listener; Run starts it.
func NewListener(url, channel string, onNotify func(string), onConnect func(), log *slog.Logger) *Listener {
	return &Listener{url: url, channel: channel, onNotify: onNotify, onConnect: onConnect, log: log}
}

// Up reports whether the listener is connected now (for metrics and alerts).
func (l *Listener) Up() bool { return l.up.Load() }

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if l.up.Swap(false) {
			backoff = 100 * time.Millisecond // it was up: start the backoff over
		}
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("database listener lost; reconnecting", "channel", l.channel, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff): // the backoff itself, not synchronisation
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listen connects, LISTENs and delivers notifications until an error.
func (l *Listener) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, l.url)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return err
	}
	l.up.Store(true)
	l.log.Info("database listener connected", "channel", l.channel)
	l.onConnect()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.onNotify(n.Payload)
	}
}
