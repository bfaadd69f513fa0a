package compose_test

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/mealsync/mealsync/internal/config"
)

func prodProject(t *testing.T) *types.Project {
	t.Helper()
	return loadProject(t, prodFile, exampleEnv(t))
}

// TestProdHasNoDatabaseContainer: production runs on a managed PostgreSQL
// unless the database profile is chosen (the monitoring profile's
// postgres-exporter only reads its statistics).
func TestProdHasNoDatabaseContainer(t *testing.T) {
	for name, s := range loadProjectProfiles(t, prodFile, exampleEnv(t), "monitoring").Services {
		image := strings.ToLower(s.Image)
		if strings.HasSuffix(name, "-exporter") && strings.Contains(image, "exporter") {
			continue
		}
		if name == "db" || strings.Contains(name, "postgres") || strings.Contains(image, "postgres") ||
			strings.Contains(image, "mysql") || strings.Contains(image, "mariadb") {
			t.Errorf("service %s (%s) is a database container", name, s.Image)
		}
	}
	cfg := appConfig(t, service(t, prodProject(t), "app"))
	if !cfg.Postgres() {
		t.Errorf("the prod app's database URL is not PostgreSQL: %s", config.RedactURL(cfg.DatabaseURL))
	}
}

func TestProdOnlyNginxIsPublished(t *testing.T) {
	p := prodProject(t)
	nginx := service(t, p, "nginx")
	for _, port := range []uint32{80, 443} {
		published := strconv.FormatUint(uint64(port), 10)
		if !slices.ContainsFunc(nginx.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Target == port && pc.Published == published
		}) {
			t.Errorf("nginx does not publish %d: %+v", port, nginx.Ports)
		}
	}
	app := service(t, p, "app")
	if len(app.Ports) != 0 {
		t.Errorf("app publishes %+v on the host; only nginx may", app.Ports)
	}
	if !slices.Contains(app.Expose, "8081") {
		t.Errorf("app expose = %v, want 8081 for nginx", app.Expose)
	}
	// The deploy tool scales app to N replicas: a fixed name would allow one.
	if app.ContainerName != "" {
		t.Errorf("app has container_name %q: `--scale app=2` would fail", app.ContainerName)
	}
}

// TestProdNginxConfig: the ./nginx folder (not single files) at /etc/nginx,
// read-only; the deploy tool rewrites nginx/upstream.conf on the host by
// rename, which only a directory mount sees.
func TestProdNginxConfig(t *testing.T) {
	p := prodProject(t)
	nginx := service(t, p, "nginx")
	var dirMounted bool
	for _, v := range nginx.Volumes {
		if v.Type == types.VolumeTypeBind && filepath.Base(v.Source) == "upstream.conf" {
			t.Errorf("upstream.conf is bind-mounted as a file (%s): the deploy tool's rewrite would not be seen", v.Source)
		}
		if v.Target == "/etc/nginx" {
			dirMounted = v.Type == types.VolumeTypeBind && v.Source == filepath.Join(p.WorkingDir, "nginx") && v.ReadOnly
		}
	}
	if !dirMounted {
		t.Errorf("./nginx is not bind-mounted read-only at /etc/nginx: %+v", nginx.Volumes)
	}
	for _, target := range []string{"/etc/letsencrypt", "/var/www/certbot"} {
		if !slices.ContainsFunc(nginx.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target && v.ReadOnly }) {
			t.Errorf("nothing is mounted read-only at %s (HTTPS certificates and the ACME webroot)", target)
		}
	}
	if hc := nginx.HealthCheck; hc == nil || !strings.Contains(strings.Join(hc.Test, " "), "/nginx-health") {
		t.Errorf("nginx healthcheck does not ask /nginx-health: %+v", nginx.HealthCheck)
	}
	if got := nginx.DependsOn["app"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("nginx depends_on app: condition %q, want %q", got, types.ServiceConditionHealthy)
	}
}

func TestProdAppResourceLimits(t *testing.T) {
	app := service(t, prodProject(t), "app")
	if app.Deploy == nil || app.Deploy.Resources.Limits == nil {
		t.Fatal("app has no deploy.resources.limits")
	}
	lim := app.Deploy.Resources.Limits
	if lim.NanoCPUs != 2 {
		t.Errorf("cpu limit = %v, want 2", lim.NanoCPUs)
	}
	if lim.MemoryBytes != 2<<30 {
		t.Errorf("memory limit = %d bytes, want 2 GiB", lim.MemoryBytes)
	}
	res := app.Deploy.Resources.Reservations
	if res == nil || res.NanoCPUs <= 0 || res.MemoryBytes <= 0 || res.MemoryBytes > lim.MemoryBytes || res.NanoCPUs > lim.NanoCPUs {
		t.Errorf("reservations = %+v, want some CPU and memory within the limits", res)
	}
}

// TestProdRestartsOnFailure: unless-stopped on every service restarts a
// crashed or killed container and comes back after a reboot; a restart_policy
// under deploy would override it, so there must be none.
func TestProdRestartsOnFailure(t *testing.T) {
	for name, s := range prodProject(t).Services {
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("service %s: restart = %q, want unless-stopped", name, s.Restart)
		}
		if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
			t.Errorf("service %s: deploy.restart_policy would override restart: %+v", name, s.Deploy.RestartPolicy)
		}
	}
}

// TestProdSecretsComeFromTheEnvFile: the app reads .env (not in git); the
// secrets are not written into the compose file.
func TestProdSecretsComeFromTheEnvFile(t *testing.T) {
	p := prodProject(t)
	app := service(t, p, "app")
	if !slices.ContainsFunc(app.EnvFiles, func(f types.EnvFile) bool { return f.Path == filepath.Join(p.WorkingDir, ".env") }) {
		t.Errorf("app env_file = %+v, want .env", app.EnvFiles)
	}
	raw := readRepoFile(t, prodFile)
	for _, secret := range []string{"MEALSYNC_JWT_SECRET", "MEALSYNC_DATABASE_URL", "MEALSYNC_OPENAI_API_KEY", "MEALSYNC_S3_SECRET_KEY"} {
		for _, line := range strings.Split(raw, "\n") {
			if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, secret+":") || strings.HasPrefix(trimmed, "- "+secret+"=") {
				t.Errorf("%s is set in %s; it belongs in .env", secret, prodFile)
			}
		}
	}
	// The JWT secret arrives through the env_file: .env.example's placeholder
	// is refused, so a copied .env cannot go live unchanged …
	cfg := appConfig(t, app)
	if err := cfg.ValidateSecrets(); err == nil {
		t.Error("the server accepts .env.example's JWT secret placeholder")
	}
	// … and a real one is taken.
	secret := "'" + strings.Repeat("k7Qx", 12) + "'"
	cfg = appConfig(t, service(t, loadProject(t, prodFile, withValue(exampleEnv(t), "MEALSYNC_JWT_SECRET", &secret)), "app"))
	if err := cfg.ValidateSecrets(); err != nil {
		t.Errorf("a generated secret in .env does not reach the app: %v", err)
	}
}

// TestProdStopGracePeriodCoversShutdown: after SIGTERM the app keeps serving
// for the shutdown delay, then drains for the shutdown timeout; the engine
// must not SIGKILL it before that is over.
func TestProdStopGracePeriodCoversShutdown(t *testing.T) {
	app := service(t, prodProject(t), "app")
	grace := duration(app.StopGracePeriod)
	if grace < 40*time.Second {
		t.Errorf("stop_grace_period = %v, want at least 40s", grace)
	}
	cfg := appConfig(t, app)
	if need := cfg.ShutdownDelay + cfg.ShutdownTimeout + 5*time.Second; grace < need {
		t.Errorf("stop_grace_period %v < shutdown delay %v + timeout %v + 5s margin", grace, cfg.ShutdownDelay, cfg.ShutdownTimeout)
	}
}

// TestProdTrustsNginxForwardedFor: the app believes X-Forwarded-For from the
// compose network nginx is on, so login throttling sees real clients.
func TestProdTrustsNginxForwardedFor(t *testing.T) {
	p := prodProject(t)
	net, ok := p.Networks["default"]
	if !ok || len(net.Ipam.Config) == 0 {
		t.Fatal("the default network has no fixed subnet to trust")
	}
	subnet, err := netip.ParsePrefix(net.Ipam.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	if !subnet.Addr().IsPrivate() {
		t.Errorf("subnet %v is not private", subnet)
	}
	cfg := appConfig(t, service(t, p, "app"))
	if !slices.Contains(cfg.TrustedProxies, subnet.Masked()) {
		t.Errorf("trusted proxies %v do not include the network %v", cfg.TrustedProxies, subnet)
	}
	for name, s := range p.Services {
		if len(s.Networks) > 0 {
			if _, onDefault := s.Networks["default"]; !onDefault {
				t.Errorf("service %s is not on the default network", name)
			}
		}
	}
}

func TestProdAppIsHardened(t *testing.T) {
	app := service(t, prodProject(t), "app")
	if !app.ReadOnly {
		t.Error("app root filesystem is writable")
	}
	if !hasTmpfs(app, "/tmp") {
		t.Error("app has no tmpfs at /tmp (multipart uploads spill there)")
	}
	if !slices.ContainsFunc(app.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == "/data" && v.Type == types.VolumeTypeVolume }) {
		t.Error("app has no volume at /data, MEALSYNC_DATA_DIR (the image store must be writable)")
	}
	if cfg := appConfig(t, app); cfg.DataDir != "/data" {
		t.Errorf("MEALSYNC_DATA_DIR = %q, want /data (the volume)", cfg.DataDir)
	}
	if uid := strings.SplitN(app.User, ":", 2)[0]; uid == "" || uid == "0" || uid == "root" {
		t.Errorf("app user = %q, want a non-root uid", app.User)
	}
	if !slices.Equal(app.CapDrop, []string{"ALL"}) || len(app.CapAdd) != 0 {
		t.Errorf("cap_drop = %v, cap_add = %v; want all dropped, none added", app.CapDrop, app.CapAdd)
	}
	for name, s := range prodProject(t).Services {
		if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("service %s: security_opt lacks no-new-privileges:true", name)
		}
	}
}

func TestProdAppIsProductionWithJSONLogs(t *testing.T) {
	cfg := appConfig(t, service(t, prodProject(t), "app"))
	if cfg.Env != config.EnvProduction {
		t.Errorf("MEALSYNC_ENV = %q, want production", cfg.Env)
	}
	if cfg.LogFormat != "json" {
		t.Errorf("log format = %q, want json", cfg.LogFormat)
	}
	if cfg.Addr != ":8081" {
		t.Errorf("MEALSYNC_ADDR = %q, want :8081 (what nginx and the healthcheck use)", cfg.Addr)
	}
}

// The monitoring profile's programs run on the repository's configuration,
// mounted read-only where their command line says, not on an image's
// default (the blackbox image's has none of MealSync's probe modules).
func TestProdMonitoringUsesTheRepositoryConfigs(t *testing.T) {
	p := prodProject(t)
	for _, c := range []struct{ service, flag, source string }{
		{"blackbox-exporter", "--config.file=", "deploy/blackbox/blackbox.yml"},
		{"alertmanager", "--config.file=", "deploy/alertmanager/alertmanager.yml"},
	} {
		s := service(t, p, c.service)
		if !slices.Contains(s.Profiles, "monitoring") {
			t.Errorf("%s is not in the monitoring profile: %v", c.service, s.Profiles)
		}
		var target string
		for _, arg := range s.Command {
			if v, ok := strings.CutPrefix(arg, c.flag); ok {
				target = v
			}
		}
		if target == "" {
			t.Errorf("%s: command %v has no %s", c.service, s.Command, c.flag)
			continue
		}
		// The project is loaded from a copy: the source ends in the file's path.
		i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target })
		if i < 0 || !strings.HasSuffix(filepath.ToSlash(s.Volumes[i].Source), "/"+c.source) || !s.Volumes[i].ReadOnly {
			t.Errorf("%s: %s is not %s mounted read-only (volumes %+v)", c.service, target, c.source, s.Volumes)
		}
	}
}

// The logs profile: vlagent ships every container's json-file log to the
// victorialogs service, keeping each line whole in the message field (the
// documented request-ID query searches it there), and only VictoriaLogs'
// query port is published, on loopback.
func TestProdLogsProfileShipsContainerLogs(t *testing.T) {
	p := prodProject(t)
	agent := service(t, p, "vlagent")
	store := service(t, p, "victorialogs")
	for _, s := range []types.ServiceConfig{agent, store} {
		if !slices.Equal(s.Profiles, []string{"logs"}) {
			t.Errorf("%s: profiles %v, want [logs]", s.Name, s.Profiles)
		}
	}
	for _, want := range []string{
		"-remoteWrite.url=http://victorialogs:9428/insert/native",
		"-fileCollector.glob=/var/lib/docker/containers/*/*-json.log",
		"-fileCollector.msgField=log",
	} {
		if !slices.Contains(agent.Command, want) {
			t.Errorf("vlagent command %v lacks %s", agent.Command, want)
		}
	}
	i := slices.IndexFunc(agent.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == "/var/lib/docker/containers" })
	if i < 0 || !agent.Volumes[i].ReadOnly {
		t.Errorf("vlagent does not mount Docker's container logs read-only: %+v", agent.Volumes)
	}
	if len(agent.Ports) != 0 {
		t.Errorf("vlagent publishes %v", agent.Ports)
	}
	if len(store.Ports) != 1 || store.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("victorialogs ports %+v, want its one port on the host's loopback", store.Ports)
	}
}
