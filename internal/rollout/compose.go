package rollout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compose runs instances as containers of one Docker Compose service, the
// old deployment's model: the service is scaled up by one with the new
// image tag (--no-recreate leaves the running containers alone), readiness
// is the container's health status, the upstream gets the container's IP
// address, and the old container is stopped with a timeout longer than the
// app's shutdown, then removed.
//
// Its end-to-end proof needs a Docker engine; the tests drive it against a
// fake docker program that answers the way Docker does.
type Compose struct {
	Docker      string        // the docker CLI: "docker"
	ComposeFile string        // "docker-compose.prod.yml"
	Service     string        // the app's service: "app"
	AppPort     int           // the port the app listens on inside the container: 8081
	OpsPort     int           // its ops listener's port there (MEALSYNC_OPS_ADDR): 9081
	Network     string        // which network's address to use; empty: the container's first
	StopTimeout time.Duration // docker stop -t; longer than the app's shutdown delay + timeout
	Env         []string      // docker's environment; nil: the CLI's own. MEALSYNC_TAG is added
}

var (
	_ Driver  = (*Compose)(nil)
	_ Adopter = (*Compose)(nil)
)

// composeUpTimeout covers pulling the image.
const composeUpTimeout = 10 * time.Minute

func (d *Compose) docker(ctx context.Context, timeout time.Duration, env []string, args ...string) (string, error) {
	if env == nil {
		env = d.Env
	}
	out, err := runCmd(ctx, timeout, env, d.Docker, args...)
	return strings.TrimSpace(out), err
}

func (d *Compose) compose(args ...string) []string {
	return append([]string{"compose", "-f", d.ComposeFile}, args...)
}

// running lists the ids of the service's running containers.
func (d *Compose) running(ctx context.Context) ([]string, error) {
	out, err := d.docker(ctx, time.Minute, nil, d.compose("ps", "-q", d.Service)...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return strings.Fields(out), nil
}

// Start scales the service up by one container running rel's tag and
// returns that container: the one `ps -q` lists after `up` but not before.
func (d *Compose) Start(ctx context.Context, rel Release, id string) (Instance, error) {
	in := Instance{ID: id, Version: rel.Version, Started: time.Now().UTC()}
	if rel.Tag == "" {
		return in, errors.New("the release names no image tag")
	}
	before, err := d.running(ctx)
	if err != nil {
		return in, err
	}
	base := d.Env
	if base == nil {
		base = os.Environ()
	}
	env := append(slices.Clip(base), "MEALSYNC_TAG="+rel.Tag)
	scale := fmt.Sprintf("%s=%d", d.Service, len(before)+1)
	upOut, upErr := d.docker(ctx, composeUpTimeout, env,
		d.compose("up", "-d", "--no-deps", "--no-recreate", "--scale", scale, d.Service)...)
	after, err := d.running(ctx)
	if err != nil {
		return in, err
	}
	var added []string
	for _, c := range after {
		if !slices.Contains(before, c) {
			added = append(added, c)
		}
	}
	switch {
	case len(added) == 1:
		in.Container = added[0]
	case upErr != nil:
		return in, fmt.Errorf("%w: %s", upErr, lastLine(upOut))
	case len(added) == 0:
		return in, fmt.Errorf("docker compose up --scale %s started no new container (is an exited one in the way? `docker compose rm %s`)", scale, d.Service)
	default:
		in.Container = added[0]
		return in, fmt.Errorf("docker compose up --scale %s started %d containers, want 1: %s", scale, len(added), strings.Join(added, " "))
	}
	if upErr != nil {
		return in, fmt.Errorf("%w: %s", upErr, lastLine(upOut))
	}
	ip, err := d.ip(ctx, in.Container)
	if err != nil {
		return in, err
	}
	in.Addr, in.OpsAddr = d.addrs(ip)
	return in, nil
}

// addrs are a container's API and ops addresses on its network, reachable
// from the other containers there (nginx, Prometheus) and from the host on
// Docker's bridge networks, never published.
func (d *Compose) addrs(ip string) (api, ops string) {
	port, opsPort := d.AppPort, d.OpsPort
	if port == 0 {
		port = 8081
	}
	if opsPort == 0 {
		opsPort = 9081
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), net.JoinHostPort(ip, strconv.Itoa(opsPort))
}

// ip reads the container's address from docker inspect.
func (d *Compose) ip(ctx context.Context, container string) (string, error) {
	format := `{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}`
	if d.Network != "" {
		format = `{{with index .NetworkSettings.Networks "` + d.Network + `"}}{{.IPAddress}}{{end}}`
	}
	out, err := d.docker(ctx, time.Minute, nil, "inspect", "--format", format, container)
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	ips := strings.Fields(out)
	if len(ips) == 0 || net.ParseIP(ips[0]) == nil {
		return "", fmt.Errorf("container %s has no IP address (network %q)", short(container), d.Network)
	}
	return ips[0], nil
}

// Probe reads the container's state and health status.
func (d *Compose) Probe(ctx context.Context, in Instance) Probe {
	if in.Container == "" {
		return Probe{Health: Exited, Detail: "no container was created"}
	}
	out, err := d.docker(ctx, 30*time.Second, nil, "inspect", "--format",
		`{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`, in.Container)
	if err != nil {
		if strings.Contains(strings.ToLower(out), "no such") {
			return Probe{Health: Exited, Detail: "the container is gone"}
		}
		return Probe{Health: NotReady, Detail: err.Error()}
	}
	status, health, _ := strings.Cut(out, " ")
	switch {
	case status != "running":
		return Probe{Health: Exited, Detail: "container " + status}
	case health == "healthy":
		return Probe{Health: Ready}
	case health == "none":
		return Probe{Health: NotReady, Detail: "the container has no health check"}
	}
	return Probe{Health: NotReady, Detail: "health " + health}
}

// Stop is docker stop -t <StopTimeout> (SIGTERM, then SIGKILL), then docker rm.
func (d *Compose) Stop(ctx context.Context, in Instance) error {
	if in.Container == "" {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // a signal to the CLI must not cut a drain short
	t := d.StopTimeout
	if t <= 0 {
		t = DefaultStopTimeout
	}
	// Asked before by a command that died: unless the app still answers
	// ready (so it never got the signal), let it finish, then stop whatever
	// is left at once. docker stop would send a second SIGTERM, which the
	// app takes as "quit now".
	if !in.Stopping.IsZero() && !d.stillReady(ctx, in) {
		t -= time.Since(in.Stopping)
		deadline := time.NewTimer(max(t, time.Second))
		defer deadline.Stop()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
	wait:
		for d.Probe(ctx, in).Health != Exited {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline.C:
				break wait
			case <-tick.C:
			}
		}
		t = 0
	}
	secs := strconv.Itoa(int(t.Round(time.Second).Seconds()))
	if out, err := d.docker(ctx, t+time.Minute, nil, "stop", "-t", secs, in.Container); err != nil && !strings.Contains(strings.ToLower(out), "no such") {
		return fmt.Errorf("%w: %s", err, out)
	}
	if out, err := d.docker(ctx, time.Minute, nil, "rm", in.Container); err != nil && !strings.Contains(strings.ToLower(out), "no such") {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// stillReady asks the app in the container directly (its address is
// reachable from the host on Docker's bridge networks) whether it is ready,
// which it is not from the first moment of its shutdown.
func (d *Compose) stillReady(ctx context.Context, in Instance) bool {
	if in.Addr == "" {
		return false
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return probeHTTP(ctx, c, "http://"+in.Addr+"/actuator/health/readiness").Health == Ready
}

// Logs is docker logs --tail n.
func (d *Compose) Logs(ctx context.Context, in Instance, n int) []string {
	if in.Container == "" {
		return nil
	}
	out, _ := d.docker(ctx, 30*time.Second, nil, "logs", "--tail", strconv.Itoa(n), in.Container)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// Strays stops running containers of the service that are not known: one
// started by a command killed before it recorded the container.
func (d *Compose) Strays(ctx context.Context, known []Instance) ([]string, error) {
	ids, err := d.unknown(ctx, known)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range ids {
		if err := d.Stop(ctx, Instance{Container: c}); err != nil {
			return out, err
		}
		out = append(out, "container "+short(c))
	}
	return out, nil
}

// FindStrays lists the containers Strays would stop.
func (d *Compose) FindStrays(ctx context.Context, known []Instance) ([]string, error) {
	ids, err := d.unknown(ctx, known)
	var out []string
	for _, c := range ids {
		out = append(out, "container "+short(c))
	}
	return out, err
}

// unknown lists the service's running containers that known does not name.
func (d *Compose) unknown(ctx context.Context, known []Instance) ([]string, error) {
	ids, err := d.running(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range ids {
		if !slices.ContainsFunc(known, func(in Instance) bool { return in.Container == c }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Adopt returns the service's running containers as serving instances, for
// the first deploy on a host where `docker compose up` started them; their
// release is the image tag, when they all run the same one.
func (d *Compose) Adopt(ctx context.Context) ([]Instance, *Release, error) {
	ids, err := d.running(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []Instance
	tags := map[string]bool{}
	for i, c := range ids {
		image, err := d.docker(ctx, time.Minute, nil, "inspect", "--format", "{{.Config.Image}}", c)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s", err, image)
		}
		ip, err := d.ip(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		tag := imageTag(image)
		tags[tag] = true
		in := Instance{
			ID: "adopted" + strconv.Itoa(i+1), Version: tag, Role: RoleServing, Container: c, Started: time.Now().UTC(),
		}
		in.Addr, in.OpsAddr = d.addrs(ip)
		out = append(out, in)
	}
	if len(tags) != 1 {
		return out, nil, nil
	}
	rel := &Release{Version: out[0].Version, Tag: out[0].Version}
	return out, rel, nil
}

// imageTag is the tag of an image reference ("latest" when it has none).
func imageTag(image string) string {
	name := image[strings.LastIndexByte(image, '/')+1:]
	if _, tag, ok := strings.Cut(name, ":"); ok {
		tag, _, _ = strings.Cut(tag, "@")
		return tag
	}
	return "latest"
}
