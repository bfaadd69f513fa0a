// Package idempotency runs a write sent with an idempotency key at most
// once per key and hands the first attempt's answer to every retry. It
// reserves the key, keeps the reservation's lease alive while the write
// runs, has the store commit the write together with its answer, and gives
// the key back when the attempt failed without writing anything.
//
// It imports the domain package only, never net/http or database/sql: the
// HTTP layer turns requests and answers into Requests and
// IdempotentResponses.
package idempotency

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mealsync/mealsync"
)

// Service runs idempotent requests.
type Service struct {
	store mealsync.IdempotencyStore
	now   mealsync.Clock
	log   *slog.Logger
	// renewEvery is how often a running attempt renews its lease: often
	// enough that two renewals can be late before it runs out.
	renewEvery time.Duration
}

// New returns a service keeping keys in store.
func New(store mealsync.IdempotencyStore, now mealsync.Clock, log *slog.Logger) *Service {
	return &Service{store: store, now: now, log: log, renewEvery: mealsync.IdempotencyLease / 3}
}

// Request is one write sent with a key.
type Request struct {
	UserID string // the key's owner: keys of different users never meet
	Key    string
	// Fingerprint identifies the request (method, path, body): the same key
	// with another fingerprint is refused with EKEYREUSED.
	Fingerprint string
}

// Run executes the request. Every write it makes through the store with
// ctx joins the transaction that records its answer. keep says whether the
// answer is final: an answer that is not (a server error, a throttled
// request) is rolled back with the request's writes, and the key is given
// back so that a retry runs again.
type Run func(ctx context.Context) (resp *mealsync.IdempotentResponse, keep bool)

// Errors of Do, in the words clients see.
var (
	errBadKey = &mealsync.Error{Code: mealsync.EINVALID, Message: "validation failed",
		Fields: []mealsync.FieldError{{Field: "Idempotency-Key",
			Message: "Idempotency-Key must be 1 to 255 printable ASCII characters"}}}
	errInProgress = &mealsync.Error{Code: mealsync.EINPROGRESS, RetryAfter: time.Second,
		Message: "A request with this Idempotency-Key is still being processed; retry after Retry-After seconds"}
	errKeyReused = mealsync.Errorf(mealsync.EKEYREUSED,
		"This Idempotency-Key was already used for a different request; use a new key for a new request")
)

// Do runs req at most once per key. The first attempt runs run, and its
// answer is returned. Later attempts get that answer back (replayed true)
// without running anything, while it is kept (mealsync.IdempotencyTTL); an
// attempt that arrives while another runs gets EINPROGRESS, and one whose
// request differs from the key's first gets EKEYREUSED.
func (s *Service) Do(ctx context.Context, req Request, run Run) (resp *mealsync.IdempotentResponse, replayed bool, err error) {
	if !mealsync.ValidIdempotencyKey(req.Key) {
		return nil, false, errBadKey
	}
	now := s.now()
	rec := &mealsync.IdempotencyRecord{
		UserID: req.UserID, Key: req.Key, Fingerprint: req.Fingerprint, Attempt: rand.Text(),
		LeaseUntil: now.Add(mealsync.IdempotencyLease), CreatedAt: now, ExpiresAt: now.Add(mealsync.IdempotencyTTL),
	}
	held, err := s.store.ReserveIdempotencyKey(ctx, rec, now)
	switch {
	case err != nil:
		return nil, false, err
	case held == nil: // reserved: this attempt runs
	case held.Fingerprint != req.Fingerprint:
		return nil, false, errKeyReused
	case held.InProgress():
		return nil, false, errInProgress
	default:
		return held.Response, true, nil
	}

	stopRenewing := s.keepLease(ctx, *rec)
	completed := false
	defer func() {
		stopRenewing()
		if !completed { // failed, discarded, or a panic on its way up
			s.release(ctx, rec)
		}
	}()
	var kept, discarded *mealsync.IdempotentResponse
	err = s.store.CompleteIdempotencyKey(ctx, rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
		answer, keep := run(ctx)
		// Renewing stops before the answer is recorded: the record's row
		// is written last, and a renewal must not wait for it.
		stopRenewing()
		if !keep {
			discarded = answer
			return nil, errDiscarded
		}
		rec.ExpiresAt = s.now().Add(mealsync.IdempotencyTTL)
		kept = answer
		return answer, nil
	})
	switch {
	case errors.Is(err, errDiscarded):
		return discarded, false, nil
	case err != nil:
		return nil, false, err
	}
	completed = true
	return kept, false, nil
}

// errDiscarded rolls back an attempt whose answer is not kept.
var errDiscarded = mealsync.Errorf(mealsync.EINTERNAL, "answer not kept")

// release gives the key of an attempt that ended without a kept answer
// back, so that a retry runs at once instead of waiting for the lease. It
// runs even when the request's context has ended (the client went away).
func (s *Service) release(ctx context.Context, rec *mealsync.IdempotencyRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.ReleaseIdempotencyKey(ctx, rec); err != nil {
		// The key stays held until its lease ends; then a retry runs.
		s.log.WarnContext(ctx, "idempotency key not released", "user_id", rec.UserID, "err", err)
	}
}

// keepLease renews rec's lease every renewEvery until stop is called or
// ctx ends. stop does not wait for a renewal under way: on SQLite it may be
// waiting for the request's own write lock, which is released only once the
// request goes on.
func (s *Service) keepLease(ctx context.Context, rec mealsync.IdempotencyRecord) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.renewEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := s.now()
			rec.LeaseUntil = now.Add(mealsync.IdempotencyLease)
			if err := s.store.RenewIdempotencyLease(ctx, &rec, now); err != nil {
				select {
				case <-done: // finished meanwhile: nothing was lost
				default:
					if ctx.Err() == nil {
						// The lease ran out (the database was too slow to
						// renew it) and another attempt may take the key
						// over; the store refuses this attempt's answer then.
						s.log.WarnContext(ctx, "idempotency key lease not renewed", "user_id", rec.UserID, "err", err)
					}
				}
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}
