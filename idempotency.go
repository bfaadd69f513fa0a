package mealsync

import (
	"context"
	"time"
)

// Idempotency keys make a write safe to retry. A client names one logical
// request with a key of its choosing and sends it again, unchanged, when it
// does not know whether the first attempt was applied (its instance died,
// the connection dropped). The first attempt runs; its answer is stored with
// the key in the same transaction as its writes; every later attempt gets
// that answer back instead of running again.
//
// A key belongs to the user who sent it: another user's identical key is a
// different key.
const (
	// MaxIdempotencyKeyLen bounds a key, in bytes (Stripe's limit).
	MaxIdempotencyKeyLen = 255
	// IdempotencyTTL is how long an answer is kept and replayed.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyLease is how long an attempt holds its key without
	// renewing it. A live attempt renews it while it runs; the key of an
	// attempt whose instance died is free again this long after its last
	// renewal, so the client's retry can run.
	IdempotencyLease = 10 * time.Second
)

// ValidIdempotencyKey reports whether key may be used: 1 to
// MaxIdempotencyKeyLen printable ASCII characters (space to tilde), so that
// it can never forge a log line or hold text a database refuses.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// IdempotentResponse is the answer recorded for a key, replayed as it was.
type IdempotentResponse struct {
	Status int
	Header map[string][]string // the headers the answer set itself (Content-Type, …)
	Body   []byte
}

// IdempotencyRecord is a key, the request it names and, once an attempt
// finished, its answer.
type IdempotencyRecord struct {
	UserID string
	Key    string
	// Fingerprint identifies the request (method, path, body): a key sent
	// again with a different request is refused, not replayed.
	Fingerprint string
	// Attempt names the attempt that holds the key while it runs; only it
	// may complete or release the key, and only until LeaseUntil, unless it
	// renews.
	Attempt    string
	LeaseUntil time.Time
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Response   *IdempotentResponse // nil while an attempt runs
}

// InProgress reports whether an attempt still runs (or ran and died, until
// its lease ends).
func (r *IdempotencyRecord) InProgress() bool { return r.Response == nil }

// IdempotencyStore keeps idempotency keys and runs an attempt's writes
// together with the record of its answer.
type IdempotencyStore interface {
	// ReserveIdempotencyKey stores rec as the key's running attempt and
	// returns nil, when the key is new, when its record has expired, or when
	// it names the same request (Fingerprint) and its attempt's lease ended
	// before now (that attempt died). Otherwise it writes nothing and
	// returns the key's record as stored.
	ReserveIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, now time.Time) (held *IdempotencyRecord, err error)
	// RenewIdempotencyLease moves the lease of rec's attempt to
	// rec.LeaseUntil, only while the attempt still holds the key and its
	// lease has not ended at now; ErrNotFound otherwise.
	RenewIdempotencyLease(ctx context.Context, rec *IdempotencyRecord, now time.Time) error
	// CompleteIdempotencyKey runs run as one unit of work: every write run
	// makes through this store with the context it is given joins one
	// transaction, and the answer run returns is stored as rec's response in
	// that same transaction, which commits only if rec's attempt still
	// holds the key. Either the writes and the record are committed
	// together, or neither is. When run returns an error, nothing is
	// committed and the error is returned. An attempt that lost its key
	// gets an EINPROGRESS error. rec.ExpiresAt is stored with the answer.
	CompleteIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, run func(ctx context.Context) (*IdempotentResponse, error)) error
	// ReleaseIdempotencyKey forgets a key whose attempt ended without an
	// answer worth keeping (its writes were rolled back), so that a retry
	// runs at once; only while rec's attempt holds it.
	ReleaseIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) error
	// PruneIdempotencyKeys deletes records that expired at or before now.
	PruneIdempotencyKeys(ctx context.Context, now time.Time) (int64, error)
}
