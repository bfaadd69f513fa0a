package scripts_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const initialSetup = "initial-setup.sh"

// The dry run on a fresh server plans a change in every category, and makes none.
func TestInitialSetupDryRunPlansEveryChange(t *testing.T) {
	t.Parallel()
	folders := []string{
		"would: create directory /opt/mealsync (owner mealsync, mode 0755)",
		"would: create directory /var/lib/mealsyncctl (owner mealsync, mode 0750)",
		"would: create directory /var/log/mealsync (owner mealsync, mode 0750)",
		"would: create directory /etc/mealsync (owner mealsync, mode 0750)",
		"would: create /etc/mealsync/env (owner mealsync, mode 0640)",
		"would: create directory /var/www/certbot (owner root, mode 0755)",
	}
	common := append([]string{
		"would: refresh the package index (apt-get update)",
		"would: create user mealsync (home /home/mealsync",
		"would: authorize SSH key ssh-ed25519 AAAAC3NzaC1lZDI1N",
		"would: ufw default deny incoming",
		"would: ufw allow 22/tcp",
		"would: ufw allow 80/tcp",
		"would: ufw allow 443/tcp",
		"would: enable ufw",
		"would: create 2G swap file /swapfile",
		"would: turn on swap /swapfile",
		"would: add '/swapfile none swap sw 0 0' to /etc/fstab",
		"would: create /etc/sysctl.d/90-mealsync.conf",
		"would: apply /etc/sysctl.d/90-mealsync.conf now",
		"would: create /etc/apt/apt.conf.d/20auto-upgrades",
	}, folders...)
	cases := []struct {
		name     string
		mode     string
		asNobody bool
		want     []string
		notWant  []string
	}{
		{"compose as root", "compose", false, append([]string{
			"would: install packages: ufw unattended-upgrades docker.io docker-compose",
			"would: enable and start docker",
			"would: add mealsync to group docker",
			"would: link /opt/mealsync/.env -> /etc/mealsync/env",
		}, common...), []string{"nginx"}},
		{"compose as nobody", "compose", true, append([]string{
			"would: install packages: ufw unattended-upgrades docker.io docker-compose",
			"would: add mealsync to group docker",
		}, common...), nil},
		{"process as root", "process", false, append([]string{
			"would: install packages: ufw unattended-upgrades nginx",
			"would: enable and start nginx",
			"would: create directory /var/lib/mealsync (owner mealsync, mode 0750)",
			"would: create /etc/systemd/system/nginx.service.d/mealsync-limits.conf (owner root, mode 0644)",
			"would: reload systemd's units (systemctl daemon-reload)",
			"would: create directory /var/cache/nginx (owner root, mode 0755)",
			"would: install /etc/nginx/nginx.conf (MealSync's, from nginx/)",
			"would: install /etc/nginx/upstream.conf (MealSync's, from nginx/)",
			"would: install /etc/nginx/mealsync.conf (MealSync's, from nginx/)",
			"would: install /etc/nginx/security-headers.conf (MealSync's, from nginx/)",
			"would: install /etc/nginx/conf.d/https.conf.disabled (MealSync's, from nginx/)",
			"would: check the configuration (nginx -t) and reload nginx",
		}, common...), []string{"docker", "/opt/mealsync/.env"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.asNobody {
				requireRoot(t)
			}
			sb := newSandbox(t)
			key := sb.keyFile()
			before := sb.Snapshot()
			r := sb.RunWith(runOpts{AsNobody: tc.asNobody}, initialSetup, "--dry-run", "--mode", tc.mode, "--ssh-key", key)
			if r.Code != 0 {
				t.Fatalf("dry run failed:\n%s", r)
			}
			would := strings.Join(r.Lines("would: "), "\n")
			mustContain(t, "the would: lines", would, tc.want...)
			for _, nw := range tc.notWant {
				if strings.Contains(would, nw) {
					t.Errorf("%s mode plans something with %q:\n%s", tc.mode, nw, would)
				}
			}
			if c := r.Lines("change: "); len(c) > 0 {
				t.Errorf("a dry run reported changes: %v", c)
			}
			if tc.asNobody {
				mustContain(t, "stderr", r.Stderr, "must be run as root", "dry run: continuing")
			}
			sb.requireUnchanged(before, r)
		})
	}
}

// A real run (against the stubs) does everything once; a second run and a
// dry run afterwards find everything in place and change nothing.
func TestInitialSetupIsIdempotent(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sb := newSandbox(t)
	key := sb.keyFile()
	apply := runOpts{Apply: true}

	first := sb.RunWith(apply, initialSetup, "--ssh-key", key)
	if first.Code != 0 {
		t.Fatalf("first run failed:\n%s", first)
	}
	if len(first.Lines("change: ")) == 0 {
		t.Fatalf("first run changed nothing:\n%s", first)
	}

	// What the first run left behind.
	const uid = 4242 // the useradd stub's
	for _, d := range []struct {
		path string
		mode os.FileMode
		uid  uint32
	}{
		{"opt/mealsync", 0o755, uid},
		{"var/lib/mealsyncctl", 0o750, uid},
		{"var/log/mealsync", 0o750, uid},
		{"etc/mealsync", 0o750, uid},
		{"etc/mealsync/env", 0o640, uid},
		{"home/mealsync/.ssh", 0o700, uid},
		{"home/mealsync/.ssh/authorized_keys", 0o600, uid},
		{"var/www/certbot", 0o755, 0},
		{"etc/sysctl.d/90-mealsync.conf", 0o644, 0},
		{"etc/apt/apt.conf.d/20auto-upgrades", 0o644, 0},
		{"swapfile", 0o600, 0},
	} {
		info, err := os.Stat(filepath.Join(sb.Root, d.path))
		if err != nil {
			t.Errorf("/%s: %v", d.path, err)
			continue
		}
		if info.Mode().Perm() != d.mode {
			t.Errorf("/%s has mode %o, want %o", d.path, info.Mode().Perm(), d.mode)
		}
		if got := info.Sys().(*syscall.Stat_t).Uid; got != d.uid {
			t.Errorf("/%s is owned by uid %d, want %d", d.path, got, d.uid)
		}
	}
	if got := sb.ReadFile("home/mealsync/.ssh/authorized_keys"); got != testKey+"\n" {
		t.Errorf("authorized_keys = %q", got)
	}
	if link, err := os.Readlink(filepath.Join(sb.Root, "opt/mealsync/.env")); err != nil || link != "/etc/mealsync/env" {
		t.Errorf("/opt/mealsync/.env -> %q (%v), want the env file", link, err)
	}
	env := sb.ReadFile("etc/mealsync/env")
	mustContain(t, "the env file", env, "MEALSYNC_JWT_SECRET=", "MEALSYNC_CERTS_DIR=/etc/letsencrypt", "MEALSYNC_CERTBOT_WEBROOT=/var/www/certbot")
	mustContain(t, "the sysctl file", sb.ReadFile("etc/sysctl.d/90-mealsync.conf"),
		"vm.swappiness = 10", "net.core.somaxconn = 4096", "fs.file-max = 1048576")
	mustContain(t, "20auto-upgrades", sb.ReadFile("etc/apt/apt.conf.d/20auto-upgrades"),
		`APT::Periodic::Update-Package-Lists "1";`, `APT::Periodic::Unattended-Upgrade "1";`)
	if n := strings.Count(sb.ReadFile("etc/fstab"), "/swapfile none swap sw 0 0"); n != 1 {
		t.Errorf("/etc/fstab has %d swapfile lines, want 1", n)
	}
	mustContain(t, "the firewall rules", readState(t, sb, "ufw-added"), "ufw allow 22/tcp", "ufw allow 80/tcp", "ufw allow 443/tcp")
	mustContain(t, "/etc/default/ufw", sb.ReadFile("etc/default/ufw"), `DEFAULT_INPUT_POLICY="DROP"`)
	mustContain(t, "the docker group", readState(t, sb, "groups/docker"), "mealsync")
	mustContain(t, "swappiness", readState(t, sb, "sysctl/vm.swappiness"), "10")
	for _, p := range []string{"ufw", "unattended-upgrades", "docker.io", "docker-compose"} {
		if _, err := os.Stat(filepath.Join(sb.State, "pkg", p)); err != nil {
			t.Errorf("package %s was not installed", p)
		}
	}

	for _, run := range []struct {
		name string
		opts runOpts
		args []string
	}{
		{"second run", apply, []string{"--ssh-key", key}},
		{"dry run after", runOpts{}, []string{"--dry-run", "--ssh-key", key}},
	} {
		sb.ResetMutations()
		before := sb.Snapshot()
		r := sb.RunWith(run.opts, initialSetup, run.args...)
		if r.Code != 0 {
			t.Fatalf("%s failed:\n%s", run.name, r)
		}
		if c := append(r.Lines("change: "), r.Lines("would: ")...); len(c) > 0 {
			t.Errorf("%s still has work to do: %v", run.name, c)
		}
		mustContain(t, run.name, r.Stdout,
			"packages already installed", "user mealsync already exists", "already in group docker",
			"SSH key already authorized", "ufw already enabled", "ufw already allows 443/tcp",
			"/swapfile already active", "/swapfile already in /etc/fstab",
			"kernel already runs with these settings", "unattended upgrades already enabled",
			"/var/lib/mealsyncctl already exists")
		sb.requireUnchanged(before, r)
	}
}

func readState(t *testing.T, sb *sandbox, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sb.State, rel))
	if err != nil {
		t.Errorf("stub state %s: %v", rel, err)
	}
	return string(b)
}

// Without root, a real run stops at once and says why.
func TestInitialSetupRefusesNonRoot(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	before := sb.Snapshot()
	// As root, drop to nobody; as anyone else, the test's user already is not root.
	r := sb.RunWith(runOpts{AsNobody: os.Geteuid() == 0}, initialSetup)
	if r.Code == 0 {
		t.Fatalf("ran without root:\n%s", r)
	}
	mustContain(t, "stderr", r.Stderr, "must be run as root")
	sb.requireUnchanged(before, r)
}

// On anything but Debian 11-13 or Ubuntu 20.04+, a real run stops with the
// reason before changing anything; --force lets an operator through.
func TestInitialSetupChecksOS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, osRelease string
		supported       bool
	}{
		{"debian 11", "ID=debian\nVERSION_ID=\"11\"\n", true},
		{"debian 12", debian12, true},
		{"debian 13", "ID=debian\nVERSION_ID=\"13\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n", true},
		{"ubuntu 20.04", "ID=ubuntu\nVERSION_ID=\"20.04\"\n", true},
		{"ubuntu 24.04", "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n", true},
		{"debian 10", "ID=debian\nVERSION_ID=\"10\"\nPRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\n", false},
		{"debian testing", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n", false},
		{"ubuntu 18.04", "ID=ubuntu\nVERSION_ID=\"18.04\"\n", false},
		{"fedora", "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME=\"Fedora Linux 40\"\n", false},
		{"alpine", "ID=alpine\nVERSION_ID=3.20.0\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			// The seam the script documents: an os-release outside the sysroot.
			osRelease := filepath.Join(sb.Home, "os-release")
			if err := os.WriteFile(osRelease, []byte(tc.osRelease), 0o644); err != nil {
				t.Fatal(err)
			}
			sb.Env["MEALSYNC_OS_RELEASE"] = osRelease
			before := sb.Snapshot()

			dry := sb.Run(initialSetup, "--dry-run")
			if dry.Code != 0 {
				t.Fatalf("dry run failed:\n%s", dry)
			}
			if got := strings.Contains(dry.Stderr, "unsupported OS"); got == tc.supported {
				t.Errorf("dry run: reported unsupported = %v, want %v\n%s", got, !tc.supported, dry)
			}
			if tc.supported {
				mustContain(t, "dry run", dry.Stdout, "ok: OS: ")
				sb.requireUnchanged(before, dry)
				return
			}

			forced := sb.Run(initialSetup, "--dry-run", "--force")
			if forced.Code != 0 || !strings.Contains(forced.Stderr, "continuing because of --force") {
				t.Errorf("--force did not let the dry run through:\n%s", forced)
			}
			requireRoot(t) // a real run must get past the root check to reach the OS check
			real := sb.Run(initialSetup)
			if real.Code == 0 {
				t.Fatalf("ran on an unsupported OS:\n%s", real)
			}
			mustContain(t, "stderr", real.Stderr, "unsupported OS", "Debian 11, 12, 13 and Ubuntu 20.04 or newer", "--force")
			sb.requireUnchanged(before, real)
		})
	}
}

// Bad arguments stop the script with a usage error before it looks at the machine.
func TestInitialSetupRejectsBadInput(t *testing.T) {
	t.Parallel()
	sbForKeys := newSandbox(t)
	private := filepath.Join(sbForKeys.Home, "id_ed25519")
	if err := os.WriteFile(private, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notAKey := filepath.Join(sbForKeys.Home, "notes.txt")
	if err := os.WriteFile(notAKey, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"--mode", "kubernetes"}, "--mode must be compose or process"},
		{"bad user name", []string{"--user", "Deploy User"}, "not a valid user name"},
		{"root as deploy user", []string{"--user", "root"}, "must not be root"},
		{"bad swap size", []string{"--swap-size", "lots"}, "not a size like 512M or 2G"},
		{"missing value", []string{"--user"}, "--user needs a value"},
		{"missing key file", []string{"--ssh-key", "/nonexistent/key.pub"}, "cannot read"},
		{"private key", []string{"--ssh-key", private}, "is a PRIVATE key"},
		{"not a key", []string{"--ssh-key", notAKey}, "not an SSH public key"},
		{"unknown option", []string{"--yes-please"}, "unknown argument: --yes-please"},
		{"no nginx config to install", []string{"--mode", "process", "--nginx-config", "/nonexistent/nginx"}, "has no nginx.conf"},
		{"cluster without --pgbackrest", []string{"--pg-cluster", "15/main"}, "--pg-cluster only applies with --pgbackrest"},
		{"repository without --pgbackrest", []string{"--pgbackrest-repo", "/srv/pgbackrest"}, "--pgbackrest-repo only applies with --pgbackrest"},
		{"not a cluster", []string{"--pgbackrest", "--pg-cluster", "main"}, "is not a cluster like 15/main"},
		{"cluster with a space", []string{"--pgbackrest", "--pg-cluster", "15/main x"}, "is not a cluster like 15/main"},
		{"relative repository", []string{"--pgbackrest", "--pgbackrest-repo", "backups"}, "is not an absolute folder path"},
		{"repository climbing out", []string{"--pgbackrest", "--pgbackrest-repo", "/var/lib/../../etc"}, "is not an absolute folder path"},
		{"repository with a newline", []string{"--pgbackrest", "--pgbackrest-repo", "/srv/pg\nrepo1-path=/tmp"}, "is not an absolute folder path"},
		{"repository as root", []string{"--pgbackrest", "--pgbackrest-repo", "/"}, "is not an absolute folder path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			before := sb.Snapshot()
			r := sb.Run(initialSetup, tc.args...)
			if r.Code != 2 {
				t.Fatalf("exit %d, want 2 (usage):\n%s", r.Code, r)
			}
			mustContain(t, "stderr", r.Stderr, tc.want, "--help")
			sb.requireUnchanged(before, r)
		})
	}
}

// Preflight problems that a real run must catch before its first change.
func TestInitialSetupStopsBeforeChanging(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	cases := []struct {
		name  string
		setup func(sb *sandbox)
		want  string
	}{
		{"sshd on another port", func(sb *sandbox) {
			sb.WriteFile("etc/ssh/sshd_config.d/port.conf", "Port 2222\n")
		}, "listen on port 2222"},
		{"no Compose v2 (Debian 12's own archive)", func(sb *sandbox) {
			sb.WriteState("candidates", strings.Replace(debian13Candidates, "docker-compose 2.26.1-4", "docker-compose 1.29.2-3", 1))
		}, "compose mode needs Docker Compose v2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			tc.setup(sb)
			before := sb.Snapshot()
			r := sb.RunWith(runOpts{Apply: true}, initialSetup)
			if r.Code == 0 {
				t.Fatalf("went ahead:\n%s", r)
			}
			mustContain(t, "stderr", r.Stderr, tc.want)
			sb.requireUnchanged(before, r)
		})
	}
}

// Compose v2 comes from whichever package the distro's index offers.
func TestInitialSetupFindsComposeV2(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, candidates, want string }{
		{"debian 13", debian13Candidates, "docker.io docker-compose"},
		{"ubuntu", strings.Replace(debian13Candidates, "docker-compose 2.26.1-4", "docker-compose-v2 2.24.6-0ubuntu1\ndocker-compose 1.29.2-6", 1), "docker.io docker-compose-v2"},
		{"docker's repository", debian13Candidates + "docker-compose-plugin 2.29.7-1~debian.12~bookworm\n", "docker.io docker-compose-plugin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			sb.WriteState("candidates", tc.candidates)
			r := sb.Run(initialSetup, "--dry-run")
			if r.Code != 0 {
				t.Fatalf("dry run failed:\n%s", r)
			}
			mustContain(t, "the would: lines", strings.Join(r.Lines("would: "), "\n"), "would: install packages: ufw unattended-upgrades "+tc.want+"\n")
		})
	}
}

// A server that already has swap keeps it, and gets no /swapfile.
func TestInitialSetupKeepsExistingSwap(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	sb.WriteState("swaps", "/dev/vda3\n")
	r := sb.Run(initialSetup, "--dry-run")
	if r.Code != 0 {
		t.Fatalf("dry run failed:\n%s", r)
	}
	mustContain(t, "stdout", r.Stdout, "ok: swap already active (/dev/vda3 ); no /swapfile needed")
	if strings.Contains(strings.Join(r.Lines("would: "), "\n"), "swap") {
		t.Errorf("plans swap changes although swap is active:\n%s", r)
	}
}
