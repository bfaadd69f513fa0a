package deploy_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowDB stands between the instances and PostgreSQL and can hold every
// answer from the database back by a delay: the database, or the machine,
// slow for every instance at once. Each answer waits its own delay before
// it is passed on, as it would on a slow server.
type slowDB struct {
	target string
	ln     net.Listener
	delay  atomic.Int64 // nanoseconds
	wg     sync.WaitGroup
}

func startSlowDB(t *testing.T, dbURL string) *slowDB {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowDB{target: u.Host, ln: ln}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

// url is dbURL through the proxy.
func (p *slowDB) url(dbURL string) string {
	u, _ := url.Parse(dbURL)
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *slowDB) set(d time.Duration) { p.delay.Store(int64(d)) }

func (p *slowDB) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *slowDB) pipe(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { io.Copy(s, c); s.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				wait := time.NewTimer(d) // the slow database itself, not synchronisation
				<-wait.C
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forbiddenRoleURL returns dbURL logged in as a new role that may connect
// and read the schema version, and nothing else: a release configured with
// it and forbiddenEnv starts and reports ready (readiness only pings the
// database), then answers every request that reads data with 500 — a
// release that is bad while ready, as one whose credentials or grants were
// got wrong.
//
// forbiddenEnv turns the catalogue index off: it reads the whole catalogue
// at start, so with it the release would fail to start instead (a case
// TestBadReleaseRolledBack has already).
const forbiddenEnv = "MEALSYNC_CATALOGUE_INDEX=false"

func forbiddenRoleURL(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbURL)
	dbName := u.Path[1:]
	role := "mealsync_forbidden_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT CONNECT ON DATABASE " + dbName + " TO " + role,
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT ON schema_migrations TO " + role,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Logf("%s: %v", q, err)
			}
		}
	})
	u.User = url.User(role)
	return u.String()
}

// pidOf is the pid the state records for instance id.
func (r *rig) pidOf(id string) int {
	r.t.Helper()
	for _, in := range r.state().Instances {
		if in.ID == id {
			return in.PID
		}
	}
	r.t.Fatalf("no instance %s in the state", id)
	return 0
}
