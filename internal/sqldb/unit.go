package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/mealsync/mealsync"
)

// A unit of work is the transaction of one request sent with an
// idempotency key (CompleteIdempotencyKey): every write the request makes
// through the store joins it, and the record of the request's answer is
// written in it last, so that a crash leaves both or neither.
//
// The store finds the unit in the context it is called with, so the
// domain's store interfaces and the services above them need not know about
// it. It begins at the request's first write: reads before that run on the
// pool, and a request that waits on something slow before writing (a
// recipe generator) holds no transaction meanwhile — on SQLite, no write
// lock. Once it has begun, reads run in it too, so the request reads its
// own writes.
//
// A unit is used by one goroutine, the request's, like a *sql.Tx.
//
// Statements that bypass the unit (login attempts, see logins.go) must come
// before the request's first write: SQLite allows one writer at a time, so
// once the unit's transaction holds the write lock, a statement on another
// connection of the same request would wait for it until busy_timeout.
// The throttles check first and act second, which keeps that order.
type unit struct {
	db    *DB
	ctx   context.Context // bounds the transaction: the request's
	hooks *mealsync.CommitHooks

	mu   sync.Mutex
	tx   *sql.Tx
	done bool // committed or rolled back: no further step may begin it again
}

type unitKey struct{}

var errUnitDone = errors.New("the request's unit of work has ended")

// withUnit returns ctx carrying a new unit of work of db.
// Work that must wait for the unit's commit (mealsync.AfterCommit) waits
// for it, and is dropped if the unit rolls back.
func (db *DB) withUnit(ctx context.Context) (context.Context, *unit) {
	u := &unit{db: db, ctx: ctx}
	ctx, u.hooks = mealsync.WithCommitHooks(ctx)
	return context.WithValue(ctx, unitKey{}, u), u
}

// unitOf returns the unit of work ctx carries for db, or nil.
func (db *DB) unitOf(ctx context.Context) *unit {
	if u, ok := ctx.Value(unitKey{}).(*unit); ok && u.db == db {
		return u
	}
	return nil
}

// current returns the unit's transaction, nil before its first write.
func (u *unit) current() *sql.Tx {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tx
}

// begin returns the unit's transaction, beginning it at the first call.
func (u *unit) begin() (*sql.Tx, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil, errUnitDone
	}
	if u.tx == nil {
		tx, err := u.db.sql.BeginTx(u.ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", u.db.mapErr(err))
		}
		u.tx = tx
	}
	return u.tx, nil
}

// step runs fn inside a savepoint of the unit's transaction. A step that
// fails is undone alone and the transaction stays usable — PostgreSQL
// refuses every further statement of a transaction after a failed one — so
// a write that fails inside a unit leaves nothing behind, as it would
// outside one, and the request can still answer and record its answer.
func (u *unit) step(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := u.begin()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT unit_step`); err != nil {
		return fmt.Errorf("savepoint: %w", u.db.mapErr(err))
	}
	if err := fn(tx); err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT unit_step`); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rerr))
		}
		if _, rerr := tx.ExecContext(ctx, `RELEASE SAVEPOINT unit_step`); rerr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint: %w", rerr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT unit_step`); err != nil {
		return fmt.Errorf("release savepoint: %w", u.db.mapErr(err))
	}
	return nil
}

// commit commits the unit's transaction (beginning it if the request wrote
// nothing: the record of its answer still has to be written in it).
func (u *unit) commit() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done || u.tx == nil {
		return errUnitDone
	}
	u.done = true
	if err := u.tx.Commit(); err != nil {
		u.hooks.RolledBack()
		return fmt.Errorf("commit: %w", u.db.mapErr(err))
	}
	u.hooks.Committed()
	return nil
}

// InTransaction runs fn in a unit of work of its own, committed when fn
// succeeds (mealsync.Transactor); inside a unit already, fn joins it.
func (db *DB) InTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.unitOf(ctx) != nil {
		return fn(ctx)
	}
	uctx, u := db.withUnit(ctx)
	defer u.end()
	if err := fn(uctx); err != nil {
		return err
	}
	if u.current() == nil { // nothing was written
		u.mu.Lock()
		u.done = true
		u.mu.Unlock()
		u.hooks.Committed()
		return nil
	}
	return u.commit()
}

// end rolls the unit back unless it was committed. It is deferred by the
// unit's owner, so that an error or a panic never leaves it open.
func (u *unit) end() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.done && u.tx != nil {
		_ = u.tx.Rollback() // nothing was promised: the request is answered as failed
	}
	if !u.done {
		u.hooks.RolledBack()
	}
	u.done = true
}
