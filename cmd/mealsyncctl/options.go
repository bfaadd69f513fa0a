package main

import (
	"flag"
	"path/filepath"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

// stateDirFlag adds --state-dir, defaulting to $MEALSYNCCTL_STATE_DIR.
func stateDirFlag(e *env, fs *flag.FlagSet) *string {
	def := e.getenv("MEALSYNCCTL_STATE_DIR")
	if def == "" {
		def = ".mealsyncctl"
	}
	return fs.String("state-dir", def, "the state `directory` (the default is $MEALSYNCCTL_STATE_DIR when set)")
}

// driverFlags are where the instances run and how nginx is reached. The
// first mutating command saves them in the state directory, so later
// commands need only the flags that change.
type driverFlags struct {
	fs       *flag.FlagSet
	settings rollout.Settings
	stopWait time.Duration
}

func addDriverFlags(fs *flag.FlagSet) *driverFlags {
	d := &driverFlags{fs: fs}
	s := &d.settings
	fs.StringVar(&s.Driver, "driver", "process", "where instances run: process (mealsync serve processes on loopback ports) or compose (containers of a Docker Compose service)")
	fs.StringVar(&s.UpstreamFile, "upstream-file", "nginx/upstream.conf", "the nginx upstream `file` this tool rewrites")
	fs.StringVar(&s.UpstreamName, "upstream-name", rollout.DefaultUpstreamName, "the upstream block's `name`")
	fs.StringVar(&s.NginxConf, "nginx-conf", "", "process driver: the nginx.conf `file` that includes the upstream file, passed as -c to nginx -t and nginx -s reload (empty: nginx's compiled-in default)")
	fs.StringVar(&s.NginxPrefix, "nginx-prefix", "", "process driver: nginx's -p `DIR`, if it runs with one")
	fs.StringVar(&s.NginxBin, "nginx", "nginx", "process driver: the nginx `program`")
	fs.StringVar(&s.BindHost, "bind-host", "127.0.0.1", "process driver: the `address` instances listen on (a free port each)")
	fs.StringVar(&s.ComposeFile, "compose-file", "docker-compose.prod.yml", "compose driver: the compose `file`")
	fs.StringVar(&s.Service, "service", "app", "compose driver: the app's `service`")
	fs.StringVar(&s.NginxService, "nginx-service", "nginx", "compose driver: nginx's `service`, where nginx -t and -s reload run")
	fs.IntVar(&s.AppPort, "app-port", 8081, "compose driver: the `port` the app listens on inside its container")
	fs.IntVar(&s.OpsPort, "ops-port", 9081, "compose driver: the `port` of the app's ops listener inside its container (MEALSYNC_OPS_ADDR), where monitor reads metrics")
	fs.DurationVar(&d.stopWait, "stop-timeout", rollout.DefaultStopTimeout, "how long a stopping instance may take before SIGKILL; longer than the app's MEALSYNC_SHUTDOWN_DELAY + MEALSYNC_SHUTDOWN_TIMEOUT")
	return d
}

// merge returns the effective settings: a flag given on this command line
// wins, then what the state directory recorded, then the flag's default.
// Paths are made absolute, so they mean the same from any directory.
func (d *driverFlags) merge(saved rollout.Settings) (rollout.Settings, error) {
	set := map[string]bool{}
	d.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	out := d.settings
	pick := func(name string, dst *string, savedVal string) {
		if !set[name] && savedVal != "" {
			*dst = savedVal
		}
	}
	pick("driver", &out.Driver, saved.Driver)
	pick("upstream-file", &out.UpstreamFile, saved.UpstreamFile)
	pick("upstream-name", &out.UpstreamName, saved.UpstreamName)
	pick("nginx-conf", &out.NginxConf, saved.NginxConf)
	pick("nginx-prefix", &out.NginxPrefix, saved.NginxPrefix)
	pick("nginx", &out.NginxBin, saved.NginxBin)
	pick("bind-host", &out.BindHost, saved.BindHost)
	pick("compose-file", &out.ComposeFile, saved.ComposeFile)
	pick("service", &out.Service, saved.Service)
	pick("nginx-service", &out.NginxService, saved.NginxService)
	if !set["app-port"] && saved.AppPort != 0 {
		out.AppPort = saved.AppPort
	}
	if !set["ops-port"] && saved.OpsPort != 0 {
		out.OpsPort = saved.OpsPort
	}
	if out.Driver != "process" && out.Driver != "compose" {
		return out, usagef("--driver must be process or compose, not %q", out.Driver)
	}
	for _, p := range []*string{&out.UpstreamFile, &out.NginxConf, &out.ComposeFile} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return out, err
		}
		*p = abs
	}
	return out, nil
}

// gateFlags tune the gate of every new instance.
func addGateFlags(fs *flag.FlagSet) *rollout.Options {
	o := &rollout.Options{}
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", rollout.DefaultReadyTimeout, "how long a new instance may take to report ready")
	fs.DurationVar(&o.Verify, "verify", rollout.DefaultVerify, "the verification window: how long a new instance must stay ready in the upstream before the old one goes")
	fs.DurationVar(&o.Poll, "poll", rollout.DefaultPoll, "how often instances are probed")
	fs.IntVar(&o.FailureThreshold, "failure-threshold", rollout.DefaultFailureThreshold, "failed readiness probes in a row, while the old instances pass theirs, that fail the verification window (an exit fails it at once)")
	fs.IntVar(&o.MaxErrors, "max-errors", rollout.DefaultMaxErrors, "5xx answers of a new instance that fail the verification window, once its 5xx rate is over 5% and three times the old instances'")
	fs.DurationVar(&o.TroubleTimeout, "trouble-timeout", rollout.DefaultTroubleTimeout, "how long verification waits while the old instances fail too (the machine or the database, not the release) before it aborts without blaming the release")
	return o
}

// setup is how the command reaches the state directory and the instances:
// its flags over what the state directory recorded.
func (d *driverFlags) setup(e *env, dir string, gate *rollout.Options) rollout.Setup {
	s := rollout.Setup{Dir: dir, Settings: d.merge, StopTimeout: d.stopWait, BaseEnv: rollout.PassEnv(e.getenv), Out: e.stdout}
	if gate != nil {
		s.Gate = *gate
	}
	return s
}
