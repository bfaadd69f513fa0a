// Package failover_test proves the database failover of docs/INFRASTRUCTURE.md
// with real processes: a PostgreSQL primary and a streaming replica made
// with pg_basebackup -R, a `mealsync serve` instance given both in one
// multi-host URL (target_session_attrs=read-write), and writers registering
// accounts while the primary is killed and the replica promoted. The
// instance finds the new primary by itself, without a restart.
package failover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// With synchronous replication every write the API acknowledged is on the
// replica when the primary dies; without it, what was not yet streamed is
// lost. Both recover without a restart; only the first may assert no loss.
func TestFailoverToPromotedReplica(t *testing.T) {
	for _, c := range []struct {
		name string
		sync bool
	}{{"synchronous", true}, {"asynchronous", false}} {
		t.Run(c.name, func(t *testing.T) {
			primary := testdb.StartPrimary(t, "synchronous_commit = on")
			admin := primary.DB(t, "postgres")
			if _, err := admin.Exec("CREATE DATABASE mealsync"); err != nil {
				t.Fatal(err)
			}
			replica := primary.StartReplica(t)
			if c.sync {
				// Set once the standby streams (a commit would wait for
				// one forever), on the primary alone (postgresql.auto.conf
				// is not copied now): the promoted replica must not wait
				// for a standby of its own.
				for _, q := range []string{"ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()"} {
					if _, err := admin.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
				testenv.WaitFor(t, time.Minute, "the replica to be a synchronous standby", func() bool {
					var n int
					admin.QueryRow("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'").Scan(&n)
					return n == 1
				})
			}
			url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/mealsync?sslmode=disable&target_session_attrs=read-write",
				primary.Port, replica.Port)
			inst := testenv.StartMealsync(t, testenv.Options{DatabaseURL: url, Env: map[string]string{
				"MEALSYNC_MIGRATE_ON_START": "true", "MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0"}})

			w := startWriters(inst.URL, 4)
			w.waitAcked(t, 20)

			killed := time.Now()
			primary.Stop(t, "immediate") // as a crash
			replica.Promote(t)           // what the operator (or Patroni) does
			promoted := time.Since(killed)
			first := w.firstAckAfter(t, killed, time.Minute)
			ready := waitReady(t, inst.URL, time.Minute)
			w.waitAcked(t, w.acked()+20)
			acked, failed := w.stop()

			lost := missing(t, replica, acked)
			t.Logf("FIGURE failover (%s replication): promoted %.2fs after the kill; first acknowledged write %.2fs after it; "+
				"readiness back %.2fs after it; %d writes acknowledged, %d failed (none acknowledged), %d acknowledged and lost",
				c.name, promoted.Seconds(), first.Sub(killed).Seconds(), ready.Sub(killed).Seconds(), len(acked), failed, len(lost))
			if c.sync && len(lost) > 0 {
				t.Errorf("synchronous replication lost %d acknowledged writes, e.g. %v", len(lost), lost[:min(len(lost), 5)])
			}
		})
	}
}

// writers register accounts as fast as the API answers, and remember each
// acknowledged one with the times its request started and was answered.
type writers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed atomic.Int64

	mu    sync.Mutex
	acks  []ack
	added chan struct{} // closed and replaced on every acknowledgement
}

type ack struct {
	email         string
	started, done time.Time
}

func startWriters(base string, n int) *writers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{cancel: cancel, added: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	var seq atomic.Int64
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for ctx.Err() == nil {
				email := fmt.Sprintf("w%d-%d@example.com", g, seq.Add(1))
				body, _ := json.Marshal(map[string]string{"email": email, "password": "failover pass 1", "name": "W"})
				started := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/users/register", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						w.failed.Add(1)
					}
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					w.failed.Add(1)
					continue
				}
				w.mu.Lock()
				w.acks = append(w.acks, ack{email, started, time.Now()})
				close(w.added)
				w.added = make(chan struct{})
				w.mu.Unlock()
			}
		}()
	}
	return w
}

func (w *writers) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acks)
}

// waitAcked waits until n writes in all were acknowledged.
func (w *writers) waitAcked(t *testing.T, n int) {
	t.Helper()
	w.waitFor(t, time.Minute, fmt.Sprintf("%d acknowledged writes", n), func(acks []ack) bool { return len(acks) >= n })
}

// firstAckAfter waits for the first acknowledgement of a write whose
// request started after since, and returns when it arrived.
func (w *writers) firstAckAfter(t *testing.T, since time.Time, limit time.Duration) time.Time {
	t.Helper()
	var first time.Time
	w.waitFor(t, limit, "a write acknowledged after the kill", func(acks []ack) bool {
		for _, a := range acks {
			if a.started.After(since) && (first.IsZero() || a.done.Before(first)) {
				first = a.done
			}
		}
		return !first.IsZero()
	})
	return first
}

func (w *writers) waitFor(t *testing.T, limit time.Duration, what string, ok func([]ack) bool) {
	t.Helper()
	deadline := time.After(limit)
	for {
		w.mu.Lock()
		done, added := ok(w.acks), w.added
		w.mu.Unlock()
		if done {
			return
		}
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("no %s within %s (%d failed)", what, limit, w.failed.Load())
		}
	}
}

// stop ends the writers and returns the acknowledged emails and the count
// of requests that failed.
func (w *writers) stop() ([]string, int64) {
	w.cancel()
	w.wg.Wait()
	out := make([]string, len(w.acks))
	for i, a := range w.acks {
		out[i] = a.email
	}
	return out, w.failed.Load()
}

// waitReady waits for the instance's readiness to answer 200 and returns
// when it did.
func waitReady(t *testing.T, base string, limit time.Duration) time.Time {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.WaitFor(t, limit, "readiness after the failover", func() bool {
		resp, err := client.Get(base + "/actuator/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return time.Now()
}

// missing returns the acknowledged emails that are not accounts on s.
func missing(t *testing.T, s *testdb.Server, emails []string) []string {
	t.Helper()
	db := s.DB(t, "mealsync")
	var out []string
	for _, e := range emails {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM users WHERE email = $1`, e).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			out = append(out, e)
		}
	}
	return out
}
