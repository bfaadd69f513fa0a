package rollout

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// nginxTimeout bounds one `nginx -t` or `nginx -s reload`.
const nginxTimeout = 30 * time.Second

// LocalNginx is an nginx running on this machine, driven by its binary:
// `nginx -t -c CONF [-p PREFIX]` and `nginx -s reload -c CONF [-p PREFIX]`.
type LocalNginx struct {
	Bin    string // "nginx" or a path
	Conf   string // the nginx.conf that includes the upstream file
	Prefix string // optional -p prefix
}

var _ NginxControl = LocalNginx{}

func (n LocalNginx) args(extra ...string) []string {
	a := append([]string{}, extra...)
	if n.Conf != "" {
		a = append(a, "-c", n.Conf)
	}
	if n.Prefix != "" {
		a = append(a, "-p", n.Prefix)
	}
	return a
}

func (n LocalNginx) bin() string {
	if n.Bin == "" {
		return "nginx"
	}
	return n.Bin
}

// Test runs nginx -t; the output explains a failure.
func (n LocalNginx) Test(ctx context.Context) (string, error) {
	return runCmd(ctx, nginxTimeout, nil, n.bin(), n.args("-t", "-q")...)
}

// Reload sends the master process SIGHUP through nginx -s reload, then
// waits until every worker that ran the old configuration has stopped
// accepting connections (old workers retitle themselves "worker process is
// shutting down" and only finish the requests they hold). `nginx -s reload`
// itself returns before that, so without the wait an instance could get
// SIGTERM while a worker still sends it new requests. When the master cannot
// be found on this machine (its command line does not name Conf and it is not
// the only nginx), the wait is skipped and the app's shutdown delay covers it.
func (n LocalNginx) Reload(ctx context.Context) error {
	master := nginxMaster(n.Conf)
	var old map[int]bool
	if master != 0 {
		old = nginxWorkers(master)
	}
	out, err := runCmd(ctx, nginxTimeout, nil, n.bin(), n.args("-s", "reload")...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	if master == 0 {
		return nil
	}
	deadline := time.NewTimer(nginxTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		cur := nginxWorkers(master)
		replaced := len(cur) > 0
		for pid := range old {
			replaced = replaced && !cur[pid]
		}
		if replaced {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("nginx (master pid %d) still runs workers of the old configuration %s after the reload", master, nginxTimeout)
		case <-tick.C:
		}
	}
}

// ComposeNginx is nginx in a Docker Compose service, driven inside its
// container: `docker compose -f FILE exec -T SERVICE nginx -t`.
type ComposeNginx struct {
	Docker      string // "docker"
	ComposeFile string
	Service     string // "nginx"
}

var _ NginxControl = ComposeNginx{}

func (n ComposeNginx) args(cmd ...string) []string {
	return append([]string{"compose", "-f", n.ComposeFile, "exec", "-T", n.Service, "nginx"}, cmd...)
}

// Test runs nginx -t in the container.
func (n ComposeNginx) Test(ctx context.Context) (string, error) {
	return runCmd(ctx, nginxTimeout, nil, n.Docker, n.args("-t", "-q")...)
}

// Reload runs nginx -s reload in the container.
func (n ComposeNginx) Reload(ctx context.Context) error {
	out, err := runCmd(ctx, nginxTimeout, nil, n.Docker, n.args("-s", "reload")...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	return nil
}

// runCmd runs a command with a timeout and returns its combined output.
func runCmd(ctx context.Context, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
