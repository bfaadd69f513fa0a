package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// Replicas are streaming replicas of the primary that take the reads which
// tolerate a little lag: the shared catalogue's feed, from which every
// instance's in-memory index answers lists, recipes, recommendations and
// today's picks. Per-user reads and every write stay on the primary.
//
// Lag is measured against the primary: every interval the primary's WAL
// position is sampled, and a replica's lag is how long ago the primary was
// at the first position the replica has not replayed yet (0 when it has
// replayed everything sampled). A replica that lags more than maxLag, or
// does not answer, leaves the rotation until it is back under it; with no
// replica in rotation the reads go to the primary — the instance stays
// ready. A read may also ask for a WAL position (an instance's own write):
// only a replica that has replayed it may answer, else the primary does.
type Replicas struct {
	primary  *sql.DB
	members  []*replica
	maxLag   time.Duration
	interval time.Duration
	log      *slog.Logger

	samples []lsnSample // the primary's recent positions, oldest first (Run's own)
	next    atomic.Uint64

	// Fallbacks counts the reads that went to the primary: no replica in
	// rotation had replayed what was asked, or the one chosen failed.
	Fallbacks atomic.Uint64
}

type replica struct {
	Name    string // host:port, no credentials
	db      *sqldb.DB
	replay  atomic.Uint64 // last WAL position it reported replayed
	lagNs   atomic.Int64
	healthy atomic.Bool
	reads   atomic.Uint64
}

type lsnSample struct {
	at  time.Time
	lsn uint64
}

// OpenReplicas opens a pool per replica URL (each sized by pool). They are
// out of rotation until Run has measured them.
func OpenReplicas(primary *sqldb.DB, urls []string, pool Pool, maxLag time.Duration, log *slog.Logger) (*Replicas, error) {
	r := &Replicas{primary: primary.SQL(), maxLag: maxLag, interval: 250 * time.Millisecond, log: log}
	for _, u := range urls {
		cfg, err := pgconnConfig(u)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica: %w", err)
		}
		db, err := Open(u, pool)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.members = append(r.members, &replica{Name: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), db: db})
	}
	return r, nil
}

// Close closes the replicas' pools.
func (r *Replicas) Close() {
	for _, m := range r.members {
		m.db.Close()
	}
}

// Run measures the replicas until ctx ends.
func (r *Replicas) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.measure(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// measure samples the primary's position, then each replica's.
func (r *Replicas) measure(ctx context.Context) {
	now := time.Now()
	if lsn, err := walPosition(ctx, r.primary, "pg_current_wal_lsn()"); err == nil {
		r.samples = append(r.samples, lsnSample{now, lsn})
	}
	// Keep what can still name a lag up to maxLag, and one sample older.
	for len(r.samples) > 1 && now.Sub(r.samples[1].at) > r.maxLag+r.interval {
		r.samples = r.samples[1:]
	}
	for _, m := range r.members {
		qctx, cancel := context.WithTimeout(ctx, max(r.interval, time.Second))
		replay, err := walPosition(qctx, m.db.SQL(), "pg_last_wal_replay_lsn()")
		cancel()
		if err != nil {
			m.setHealthy(r, false, fmt.Sprintf("does not answer: %v", err))
			continue
		}
		m.replay.Store(replay)
		lag := r.lagOf(replay, now)
		m.lagNs.Store(int64(lag))
		m.setHealthy(r, lag <= r.maxLag, fmt.Sprintf("lags %s (limit %s)", lag.Round(time.Millisecond), r.maxLag))
	}
}

// lagOf is how long ago the primary was at the first sampled position
// after replay; a replica behind every sample kept lags at least the
// oldest one's age.
func (r *Replicas) lagOf(replay uint64, now time.Time) time.Duration {
	for _, s := range r.samples {
		if s.lsn > replay {
			return now.Sub(s.at)
		}
	}
	return 0
}

func (m *replica) setHealthy(r *Replicas, ok bool, why string) {
	if m.healthy.Swap(ok) != ok {
		if ok {
			r.log.Info("replica back in rotation", "replica", m.Name)
		} else {
			r.log.Warn("replica out of rotation", "replica", m.Name, "why", why)
		}
	}
}

// reader returns a replica in rotation that has replayed minLSN, in turn,
// or nil: the primary must answer.
func (r *Replicas) reader(minLSN uint64) *replica {
	n := len(r.members)
	start := int(r.next.Add(1))
	for i := range n {
		m := r.members[(start+i)%n]
		if m.healthy.Load() && m.replay.Load() >= minLSN {
			return m
		}
	}
	return nil
}

// Status describes each replica: name, whether it is in rotation, lag, reads
// it answered.
func (r *Replicas) Status() []ReplicaStatus {
	out := make([]ReplicaStatus, len(r.members))
	for i, m := range r.members {
		out[i] = ReplicaStatus{Name: m.Name, InRotation: m.healthy.Load(),
			Lag: time.Duration(m.lagNs.Load()), Reads: m.reads.Load()}
	}
	return out
}

// ReplicaStatus is one replica as Status reports it.
type ReplicaStatus struct {
	Name       string
	InRotation bool
	Lag        time.Duration
	Reads      uint64
}

// walPosition reads a pg_lsn expression as a number.
func walPosition(ctx context.Context, db *sql.DB, expr string) (uint64, error) {
	var lsn pgtype.Text
	if err := db.QueryRowContext(ctx, "SELECT "+expr+"::text").Scan(&lsn); err != nil {
		return 0, err
	}
	if !lsn.Valid { // not a replica, or nothing replayed yet
		return 0, fmt.Errorf("no WAL position from %s", expr)
	}
	var hi, lo uint64
	if _, err := fmt.Sscanf(lsn.String, "%X/%X", &hi, &lo); err != nil {
		return 0, fmt.Errorf("WAL position %q: %w", lsn.String, err)
	}
	return hi<<32 | lo, nil
}

// CatalogueFeed is the catalogue feed read from the replicas: primary's
// Catalogue and RecipeChangesSince, answered by a replica in rotation when
// one has replayed every catalogue write made through this instance
// (Wrote), else by the primary.
type CatalogueFeed struct {
	primary  *sqldb.DB
	replicas *Replicas

	mu     sync.Mutex
	minLSN uint64 // the primary's position after this instance's last catalogue write
}

var _ mealsync.CatalogueFeed = (*CatalogueFeed)(nil)

// NewCatalogueFeed routes primary's catalogue feed to replicas.
func NewCatalogueFeed(primary *sqldb.DB, replicas *Replicas) *CatalogueFeed {
	return &CatalogueFeed{primary: primary, replicas: replicas}
}

// Wrote records that this instance has just committed a catalogue write:
// no replica that has not replayed it answers the feed from now on. It
// reads the primary's WAL position, which is past the write's commit.
func (f *CatalogueFeed) Wrote(ctx context.Context) {
	lsn, err := walPosition(ctx, f.primary.SQL(), "pg_current_wal_lsn()")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.minLSN = unknownLSN // no replica answers until a later write is placed
	case f.minLSN == unknownLSN || lsn > f.minLSN:
		f.minLSN = lsn
	}
}

// unknownLSN is past every WAL position: no replica has replayed it.
const unknownLSN = ^uint64(0)

// read runs fn on a replica in rotation that has replayed this instance's
// catalogue writes, else on the primary — and on the primary again when
// the replica fails it (it may have died since it was last measured).
func (f *CatalogueFeed) read(fn func(db *sqldb.DB) error) error {
	f.mu.Lock()
	minLSN := f.minLSN
	f.mu.Unlock()
	if m := f.replicas.reader(minLSN); m != nil {
		if err := fn(m.db); err == nil {
			m.reads.Add(1)
			return nil
		}
	}
	f.replicas.Fallbacks.Add(1)
	return fn(f.primary)
}

// Catalogue implements mealsync.CatalogueFeed.
func (f *CatalogueFeed) Catalogue(ctx context.Context) (rs []*mealsync.Recipe, version int64, err error) {
	err = f.read(func(db *sqldb.DB) error {
		rs, version, err = db.Catalogue(ctx)
		return err
	})
	return rs, version, err
}

// RecipeChangesSince implements mealsync.CatalogueFeed.
func (f *CatalogueFeed) RecipeChangesSince(ctx context.Context, after int64) (ids []string, latest int64, complete bool, err error) {
	err = f.read(func(db *sqldb.DB) error {
		ids, latest, complete, err = db.RecipeChangesSince(ctx, after)
		return err
	})
	return ids, latest, complete, err
}
