package testdb

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
)

// PgBouncerPooled returns a migrated, empty PostgreSQL database for t, opened
// as production opens it behind PgBouncer in transaction pooling mode: its
// queries go through a real PgBouncer (started once per test process, on
// loopback, in front of MEALSYNC_TEST_DATABASE_URL's server), its migrations
// over the direct connection (MEALSYNC_DIRECT_DATABASE_URL's role).
func PgBouncerPooled(t testing.TB) *sqldb.DB {
	t.Helper()
	direct := PostgresURL(t)
	pooled := PgBouncerURL(t, direct)
	mig, err := postgres.Open(direct, postgres.Pool{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mig.Migrate(context.Background(), time.Now())
	mig.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(pooled, postgres.Pool{MaxOpen: 10, MaxIdle: 10, MaxLifetime: time.Hour, Pooled: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PgBouncerURL returns direct (a URL PostgresURL made) as reached through
// the test process's PgBouncer.
func PgBouncerURL(t testing.TB, direct string) string {
	t.Helper()
	addr, err := bouncer.start(direct)
	if err != nil {
		SkipOrFail(t, "PgBouncer: %v", err)
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// bouncer is the test process's one PgBouncer. It is never stopped by the
// tests: it dies with the test process (Pdeathsig).
var bouncer pgBouncer

type pgBouncer struct {
	once sync.Once
	addr string
	err  error
}

func (b *pgBouncer) start(direct string) (string, error) {
	b.once.Do(func() { b.addr, b.err = startPgBouncer(direct) })
	return b.addr, b.err
}

// startPgBouncer runs pgbouncer in transaction pooling mode, every database
// of direct's server behind it, trusting loopback as the test server does.
func startPgBouncer(direct string) (string, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			return "", fmt.Errorf("not installed (Debian's pgbouncer package): %w", err)
		}
		bin = "/usr/sbin/pgbouncer"
	}
	server, err := url.Parse(direct)
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "mealsync-pgbouncer-")
	if err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 10
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits
`, server.Hostname(), server.Port(), port, filepath.Join(dir, "users.txt"))
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(conf), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"`+server.User.Username()+`" ""`+"\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Getuid() == 0 { // PgBouncer refuses to run as root
		pg, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root, and no postgres user to run PgBouncer as: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	log, err := os.Create(filepath.Join(dir, "pgbouncer.log"))
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, nil
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(log.Name())
			return "", fmt.Errorf("exited (%v): %s", err, out)
		case <-time.After(20 * time.Millisecond): // polling a port: no event to wait on
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("not listening on %s after 30 s", addr)
		}
	}
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
