package rollout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Labels every instance carries in its environment, for people reading
// ps(1) and for tests. Nothing identifies an instance by them: a user's
// shell may carry the same variables (see identity.go). The app ignores them.
const (
	envStateDir = "MEALSYNCCTL_STATE_DIR"
	envInstance = "MEALSYNCCTL_INSTANCE"
)

// Process runs instances as `mealsync serve` processes on loopback ports,
// for a VPS without Docker and for the tests. Each gets two ports of
// BindHost: the API's, which goes into the upstream, and its ops
// listener's, where the engine probes it and monitoring reads metrics and
// build info. The API's socket is created here and passed to the instance
// (socket activation: LISTEN_FDS, sd_listen_fds(3)); the instance that
// replaces it later gets the same socket (StartBeside), so an upstream
// address, once written, stays the same across deploys. Each instance is
// detached from the CLI (its own session, stdin from /dev/null, stdout and
// stderr appended to <state-dir>/logs/<id>.log), so it outlives the command
// that started it.
type Process struct {
	Store       *Store
	BindHost    string        // address the instances listen on; "127.0.0.1"
	BaseEnv     []string      // variables passed through from the CLI (PATH, HOME, …)
	StopTimeout time.Duration // SIGTERM → SIGKILL; longer than the app's shutdown delay + timeout
	Client      *http.Client  // readiness probes; nil: 2 s timeout, no keep-alive

	mu       sync.Mutex
	exited   map[int]string      // children of this CLI that exited, and how
	envFiles map[string][]string // env files read, by path: each is read once
}

var (
	_ Driver       = (*Process)(nil)
	_ SocketSharer = (*Process)(nil)
)

// DefaultStopTimeout outlasts the app's default shutdown (5 s delay + 30 s).
const DefaultStopTimeout = 45 * time.Second

// Start launches `BINARY serve` with the release's environment file, a new
// listening socket on a free port of BindHost for its API, and
// MEALSYNC_OPS_ADDR set to another free port.
func (d *Process) Start(ctx context.Context, rel Release, id string) (Instance, error) {
	in := Instance{ID: id, Version: rel.Version, Started: time.Now().UTC(), Log: d.Store.LogPath(id)}
	if rel.Binary == "" {
		return in, errors.New("the release names no binary")
	}
	sock, addr, inode, err := listenSlot(net.JoinHostPort(d.host(), "0"))
	if err != nil {
		return in, fmt.Errorf("creating the instance's socket: %w", err)
	}
	return d.launch(rel, in, addr, sock, inode)
}

// StartBeside launches an instance of rel on old's API socket: the driver
// takes a duplicate of it out of the running old process (pidfd_getfd) and
// passes it on, so both accept on old.Addr until old stops. When old has
// died, its address is bound again for the new instance (nothing else
// holds it), so the upstream still needs no change.
func (d *Process) StartBeside(ctx context.Context, rel Release, id string, old Instance) (Instance, error) {
	in := Instance{ID: id, Version: rel.Version, Started: time.Now().UTC(), Log: d.Store.LogPath(id)}
	if rel.Binary == "" {
		return in, errors.New("the release names no binary")
	}
	if old.SocketInode == 0 || old.Addr == "" {
		return in, fmt.Errorf("%w: %s bound its own port", ErrCannotShare, old.ID)
	}
	var (
		sock  *os.File
		inode = old.SocketInode
		err   error
	)
	if processAlive(old.PID, old.StartTicks) {
		sock, err = shareSocket(old.PID, old.StartTicks, old.SocketInode)
	} else {
		sock, inode, err = rebindSlot(ctx, old.Addr)
		if err != nil {
			err = fmt.Errorf("%w: %s has exited and its address %s cannot be bound again: %v", ErrCannotShare, old.ID, old.Addr, err)
		}
	}
	if err != nil {
		return in, err
	}
	return d.launch(rel, in, old.Addr, sock, inode)
}

// rebindSlot binds the address of an instance that died. Its process can
// show as exited (its main thread a zombie) while its other threads still
// hold the socket for a moment, so "address in use" is tried again for a
// few seconds before it counts.
func rebindSlot(ctx context.Context, addr string) (*os.File, uint64, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		sock, _, inode, err := listenSlot(addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return sock, inode, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (d *Process) host() string {
	if d.BindHost == "" {
		return "127.0.0.1"
	}
	return d.BindHost
}

// listenPIDShim runs the binary with LISTEN_PID set to its own pid, which
// sd_listen_fds(3) requires and which only the child can know: the shell
// exports its $$ and execs the binary in its place, keeping the pid.
const listenPIDShim = `export LISTEN_PID=$$; exec "$0" "$@"`

// launch starts the instance with sock (closed here once the child has
// it) as file descriptor 3 and addr as its API address.
func (d *Process) launch(rel Release, in Instance, addr string, sock *os.File, inode uint64) (Instance, error) {
	if sock != nil {
		defer sock.Close() // the child has its own copy
	}
	ports, err := freePorts(d.host(), 1)
	if err != nil {
		return in, fmt.Errorf("finding a free port: %w", err)
	}
	in.Addr = addr
	in.OpsAddr = net.JoinHostPort(d.host(), strconv.Itoa(ports[0]))
	env, err := d.environment(rel, in, in.ID)
	if err != nil {
		return in, err
	}
	logf, err := os.OpenFile(in.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return in, err
	}
	defer logf.Close() // the child has its own copy
	// Not CommandContext: the instance must outlive this command.
	cmd := exec.Command(rel.Binary, "serve")
	if sock != nil {
		cmd = exec.Command("/bin/sh", "-c", listenPIDShim, rel.Binary, "serve")
		cmd.ExtraFiles = []*os.File{sock} // file descriptor 3
		env = append(env, "LISTEN_FDS=1", "LISTEN_FDNAMES=api")
		in.SocketInode = inode
	}
	cmd.Dir = rel.Dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf // stdin: the gate's pipe, then /dev/null (identity.go)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The process runs the app only once the state directory records it.
	if in.PID, in.StartTicks, err = startRecorded(cmd, d.Store, in.ID); err != nil {
		return in, fmt.Errorf("starting %s: %w", rel.Binary, err)
	}
	// Reap it if it exits while this command runs, so it never lingers as
	// a zombie that looks alive; remember how it ended for the failure report.
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.exited == nil {
			d.exited = map[int]string{}
		}
		if err != nil {
			d.exited[in.PID] = err.Error()
		} else {
			d.exited[in.PID] = "exit status 0"
		}
	}()
	return in, nil
}

// environment is BaseEnv, then the release's env file, then the addresses
// and the labels, later entries winning.
func (d *Process) environment(rel Release, in Instance, id string) ([]string, error) {
	env := append([]string{}, d.BaseEnv...)
	if rel.EnvFile != "" {
		vars, err := d.envFile(rel.EnvFile)
		if err != nil {
			return nil, err
		}
		env = append(env, vars...)
	}
	return append(env,
		"MEALSYNC_ADDR="+in.Addr,
		"MEALSYNC_OPS_ADDR="+in.OpsAddr,
		envStateDir+"="+d.Store.Dir,
		envInstance+"="+id,
	), nil
}

// Probe: gone (or a different process under the same pid) is Exited;
// otherwise GET /actuator/health/readiness on its ops listener must answer
// 200 (on its API address it could be another instance sharing the
// socket), and its request counters are read there too.
func (d *Process) Probe(ctx context.Context, in Instance) Probe {
	if !processAlive(in.PID, in.StartTicks) {
		d.mu.Lock()
		how := d.exited[in.PID]
		d.mu.Unlock()
		if how == "" {
			how = processGone(in.PID, in.StartTicks)
		}
		return Probe{Health: Exited, Detail: how}
	}
	p := probeHTTP(ctx, d.client(), readinessURL(in))
	if in.OpsAddr != "" {
		if c, err := scrapeCounters(ctx, d.client(), "http://"+in.OpsAddr+"/actuator/prometheus"); err == nil {
			p.Counted, p.Answered, p.Failed = true, c.answered, c.failed
		}
	}
	return p
}

// readinessURL is the instance's readiness probe on its ops listener (on
// its API address it could be another instance sharing the socket), or on
// the API address for an instance recorded without one.
func readinessURL(in Instance) string {
	if in.OpsAddr != "" {
		return "http://" + in.OpsAddr + "/actuator/health/readiness"
	}
	return "http://" + in.Addr + "/actuator/health/readiness"
}

func (d *Process) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
}

// probeHTTP is one readiness request.
func probeHTTP(ctx context.Context, c *http.Client, url string) Probe {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Probe{Health: NotReady, Detail: err.Error()}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Probe{Health: NotReady, Detail: err.Error()}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return Probe{Health: NotReady, Detail: "readiness answered " + resp.Status}
	}
	return Probe{Health: Ready}
}

// Stop sends SIGTERM to the instance's process group, waits for it to exit
// (the app serves through its shutdown delay, then drains), and sends
// SIGKILL after StopTimeout.
func (d *Process) Stop(ctx context.Context, in Instance) error {
	// A signal to the CLI must not cut a drain short: the wait is bounded
	// by the stop timeout instead.
	ctx = context.WithoutCancel(ctx)
	in = d.Store.withRecordedProcess(in)
	var err error
	if !in.Stopping.IsZero() && !d.stillReady(ctx, in) {
		err = awaitPID(ctx, in.PID, in.StartTicks, d.stopTimeout()-time.Since(in.Stopping))
	} else {
		err = stopPID(ctx, in.PID, in.StartTicks, d.stopTimeout())
	}
	if !processAlive(in.PID, in.StartTicks) {
		if ferr := d.Store.forgetProcess(in.ID); ferr != nil && err == nil {
			err = ferr
		}
	}
	return err
}

// stillReady tells, for an instance an earlier command was about to stop,
// whether it never got the SIGTERM: the app reports not-ready from the
// first moment of its shutdown, so an instance that still answers ready
// was not signalled (the command died first) and may be, once.
func (d *Process) stillReady(ctx context.Context, in Instance) bool {
	return processAlive(in.PID, in.StartTicks) &&
		probeHTTP(ctx, d.client(), readinessURL(in)).Health == Ready
}

// awaitPID waits up to timeout for a process that was already sent SIGTERM,
// then kills it.
func awaitPID(ctx context.Context, pid int, ticks uint64, timeout time.Duration) error {
	if timeout < time.Second {
		timeout = time.Second
	}
	if waitGone(ctx, pid, ticks, timeout) {
		return nil
	}
	signalGroup(pid, syscall.SIGKILL)
	if waitGone(ctx, pid, ticks, 10*time.Second) {
		return fmt.Errorf("pid %d had not exited within the stop timeout and was killed", pid)
	}
	return fmt.Errorf("pid %d survived SIGKILL", pid)
}

func (d *Process) stopTimeout() time.Duration {
	if d.StopTimeout <= 0 {
		return DefaultStopTimeout
	}
	return d.StopTimeout
}

func stopPID(ctx context.Context, pid int, ticks uint64, timeout time.Duration) error {
	if !processAlive(pid, ticks) {
		return nil
	}
	signalGroup(pid, syscall.SIGTERM)
	if waitGone(ctx, pid, ticks, timeout) {
		return nil
	}
	signalGroup(pid, syscall.SIGKILL)
	if waitGone(ctx, pid, ticks, 10*time.Second) {
		return fmt.Errorf("pid %d did not exit within %s of SIGTERM and was killed", pid, timeout)
	}
	return fmt.Errorf("pid %d survived SIGKILL", pid)
}

// signalGroup signals the process group the instance leads (it was started
// in its own session), so a wrapper and its children get it too.
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		syscall.Kill(pid, sig)
	}
}

// waitGone polls until the process has exited or the timeout passes.
func waitGone(ctx context.Context, pid int, ticks uint64, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for processAlive(pid, ticks) {
		select {
		case <-ctx.Done():
			return !processAlive(pid, ticks)
		case <-deadline.C:
			return !processAlive(pid, ticks)
		case <-tick.C:
		}
	}
	return true
}

// Logs returns the last n lines of the instance's log file.
func (d *Process) Logs(ctx context.Context, in Instance, n int) []string {
	return tailFile(in.Log, n)
}

// Strays stops the processes the state directory's pids/ records for
// instances not among known (a command was killed after starting them and
// before saving them in state.json), recognising each by its pid and start
// time only, and forgets the records of processes already gone.
func (d *Process) Strays(ctx context.Context, known []Instance) ([]string, error) {
	alive, gone, err := d.recordedStrays(known)
	if err != nil {
		return nil, err
	}
	for _, p := range gone {
		d.Store.forgetProcess(p.ID)
	}
	var out []string
	ctx = context.WithoutCancel(ctx)
	for _, p := range alive {
		if err := stopPID(ctx, p.PID, p.Ticks, d.stopTimeout()); err != nil {
			return out, err
		}
		d.Store.forgetProcess(p.ID)
		out = append(out, p.name())
	}
	return out, nil
}

// envFile returns the variables of the env file at path, reading it the
// first time only: every instance a command starts, and the version check
// before them, get the same configuration, even if the file is edited
// meanwhile.
func (d *Process) envFile(path string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if vars, ok := d.envFiles[path]; ok {
		return vars, nil
	}
	vars, err := ReadEnvFile(path)
	if err != nil {
		return nil, err
	}
	if d.envFiles == nil {
		d.envFiles = map[string][]string{}
	}
	d.envFiles[path] = vars
	return vars, nil
}

// ReadEnvFile reads KEY=VALUE lines: blank lines and # comments are
// skipped, an `export ` prefix is allowed, and one pair of matching quotes
// around the value is removed. No other shell syntax is interpreted.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("env file %s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, k+"="+v)
	}
	return out, sc.Err()
}

// freePorts asks the kernel for n distinct free TCP ports on host: all are
// held until every one is found, so the kernel cannot hand out one twice.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
