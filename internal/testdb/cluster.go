package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a PostgreSQL server of the test's own (its data directory,
// port and log in a temporary directory): a primary, or a streaming
// replica of one. Tests of replication and failover start these; the
// store tests use MEALSYNC_TEST_DATABASE_URL's shared server instead.
type Server struct {
	Dir  string // holds data/, the socket and postgres.log
	Port int
	URL  string // postgres://postgres@127.0.0.1:Port/postgres?sslmode=disable

	bin    string // the newest installed PostgreSQL's bin directory
	cred   *syscall.Credential
	proc   *os.Process // the postmaster, while it runs
	exited chan struct{}
}

// StartPrimary initialises and starts a server ready to stream its WAL to
// replicas. settings are lines added to its postgresql.conf (a replica
// copies them).
func StartPrimary(t testing.TB, settings ...string) *Server {
	t.Helper()
	s := newServer(t)
	s.Run(t, filepath.Join(s.bin, "initdb"), "-D", s.DataDir(), "--auth=trust", "--username=postgres", "-E", "UTF8", "--locale=C.UTF-8")
	s.configure(t, append([]string{
		"wal_level = replica", "max_wal_senders = 10", "max_replication_slots = 10", "hot_standby = on",
		"wal_keep_size = 256MB", "max_connections = 200",
	}, settings...)...)
	s.Start(t)
	return s
}

// StartReplica makes a streaming replica of p with pg_basebackup -R and
// starts it: it follows p, read-only, until promoted.
func (p *Server) StartReplica(t testing.TB) *Server {
	t.Helper()
	s := newServer(t)
	s.Run(t, filepath.Join(s.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres",
		"-D", s.DataDir(), "-R", "-X", "stream", "--checkpoint=fast")
	s.configure(t)
	s.Start(t)
	return s
}

func newServer(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		SkipOrFail(t, "no PostgreSQL server binaries (Debian's postgresql package)")
	}
	sort.Slice(bins, func(i, j int) bool { return versionOf(bins[i]) < versionOf(bins[j]) })
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mealsync-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, Port: port, bin: filepath.Dir(bins[len(bins)-1]),
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	if s.cred = serverUser(t); s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		s.Stop(t, "immediate")
		os.RemoveAll(dir)
	})
	return s
}

func versionOf(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// DataDir is the server's data directory.
func (s *Server) DataDir() string { return filepath.Join(s.Dir, "data") }

// configure appends this server's own address and socket, and settings,
// to its postgresql.conf (later lines win over a primary's copied ones).
func (s *Server) configure(t testing.TB, settings ...string) {
	t.Helper()
	lines := append([]string{"", "# --- test server ---", "listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", s.Port), fmt.Sprintf("unix_socket_directories = '%s'", s.Dir)}, settings...)
	f, err := os.OpenFile(filepath.Join(s.DataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server and waits until it accepts connections. The
// postmaster is the test process's child, tied to it: if the test process
// dies, it shuts down at once (SIGQUIT), leaving no server behind.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(s.Dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.DataDir())
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Dir, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.proc, s.exited = cmd.Process, exited
	db := s.DB(t, "postgres")
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("postgres on port %d exited while starting:\n%s", s.Port, s.Log())
		case <-time.After(50 * time.Millisecond): // polling a server: no event to wait on
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres on port %d not ready after a minute: %v\n%s", s.Port, err, s.Log())
		}
	}
}

// Stop stops the server: "fast" (clients disconnected, a clean shutdown)
// or "immediate" (as a crash: no shutdown checkpoint), and waits for it to
// exit. Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB, mode string) {
	t.Helper()
	if s.proc == nil {
		return
	}
	sig := syscall.SIGINT
	if mode == "immediate" {
		sig = syscall.SIGQUIT
	}
	s.proc.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.proc.Kill()
		<-s.exited
	}
	s.proc = nil
}

// PID is the postmaster's process id while the server runs (0 when it
// does not): its children are the server's other processes.
func (s *Server) PID() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

// Promote turns a replica into a primary (pg_promote(), waiting for it).
func (s *Server) Promote(t testing.TB) {
	t.Helper()
	if _, err := s.DB(t, "postgres").ExecContext(context.Background(), "SELECT pg_promote(wait => true)"); err != nil {
		t.Fatalf("promote %s: %v", s.URL, err)
	}
}

// DB opens the server's database name ("postgres" is always there),
// closed when t ends.
func (s *Server) DB(t testing.TB, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	return string(b)
}

// Run runs a program as the server's user (pgbackrest, pg_ctl…), in its
// directory, and returns its output; it fails t if the program does.
func (s *Server) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.SysProcAttr = s.Dir, &syscall.SysProcAttr{Credential: s.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", filepath.Base(name), err, out, s.Log())
	}
	return out
}

// ServerDir returns a new temporary directory the test's servers (and the
// programs Run runs) may write: owned by the postgres user when the test
// runs as root. It is removed when t ends.
func ServerDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mealsync-pgdir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred := serverUser(t); cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serverUser is who runs the test's servers: nil (the test's own user),
// or the postgres user when the test runs as root, which PostgreSQL refuses.
func serverUser(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Getuid() != 0 {
		return nil
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root, and no postgres user to run PostgreSQL as: %v", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
