package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mealsync/mealsync/internal/testdb"
)

// The host's PostgreSQL that --pgbackrest sets up, as the fake machine
// describes it: Debian's 15/main, running, its postgresql.conf reading conf.d.
const (
	pgCluster    = "15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n"
	pgConfDir    = "etc/postgresql/15/main"
	pgDropIn     = "etc/postgresql/15/main/conf.d/90-mealsync-archiving.conf"
	pgbackrestRC = "etc/pgbackrest/pgbackrest.conf"
	postgresUID  = 4243 // the fake postgres user's
)

// withPostgres gives the sandbox a host PostgreSQL (state: how the stubs
// describe it; files: Debian's postgresql.conf, which includes conf.d) run
// by a postgres user, and, with systemd, marks systemd as running.
func (sb *sandbox) withPostgres(systemd bool) {
	sb.t.Helper()
	sb.WriteState("pg-clusters", pgCluster)
	sb.WriteState("users/postgres", "4243:4243:/var/lib/postgresql\n")
	sb.WriteFile(pgConfDir+"/postgresql.conf", "data_directory = '/var/lib/postgresql/15/main'\ninclude_dir = 'conf.d'\t# include files ending in '.conf' from\n")
	sb.mkdir(filepath.Join(sb.Root, pgConfDir, "conf.d"), 0o755)
	if systemd {
		sb.mkdir(filepath.Join(sb.Root, "run", "systemd", "system"), 0o755)
	}
}

// The dry run plans every change of --pgbackrest, with systemd timers or,
// without systemd, a cron file, and changes nothing.
func TestInitialSetupPgBackRestDryRunPlansEveryChange(t *testing.T) {
	t.Parallel()
	common := []string{
		"would: install packages: ufw unattended-upgrades pgbackrest",
		"would: create directory /var/lib/pgbackrest (owner postgres, mode 0750)",
		"would: create /etc/pgbackrest/pgbackrest.conf (owner postgres, mode 0640)",
		"would: create directory /etc/pgbackrest/conf.d (owner postgres, mode 0750)",
		"would: create /etc/postgresql/15/main/conf.d/90-mealsync-archiving.conf (owner postgres, mode 0644)",
		"would: restart PostgreSQL 15/main (pg_ctlcluster 15 main restart): archive_mode and wal_level take effect only at a restart",
		"would: create the stanza mealsync in /var/lib/pgbackrest (pgbackrest stanza-create, as postgres)",
		"would: check that PostgreSQL's WAL reaches the repository (pgbackrest check, as postgres)",
		"would: take the first full backup (pgbackrest --type=full backup, as postgres)",
	}
	for _, tc := range []struct {
		name    string
		systemd bool
		want    []string
		notWant string
	}{
		{"systemd", true, []string{
			"would: create /etc/systemd/system/mealsync-pgbackrest@.service (owner root, mode 0644)",
			"would: create /etc/systemd/system/mealsync-pgbackrest-full.timer (owner root, mode 0644)",
			"would: create /etc/systemd/system/mealsync-pgbackrest-diff.timer (owner root, mode 0644)",
			"would: reload systemd's units (systemctl daemon-reload)",
			"would: enable and start mealsync-pgbackrest-full.timer",
			"would: enable and start mealsync-pgbackrest-diff.timer",
		}, "cron"},
		{"cron", false, []string{
			"would: install packages: ufw unattended-upgrades pgbackrest cron",
			"would: create /etc/cron.d/mealsync-pgbackrest (owner root, mode 0644)",
		}, "timer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			sb.withPostgres(tc.systemd)
			before := sb.Snapshot()
			r := sb.Run(initialSetup, "--dry-run", "--mode", "process", "--pgbackrest")
			if r.Code != 0 {
				t.Fatalf("dry run failed:\n%s", r)
			}
			would := strings.Join(r.Lines("would: "), "\n")
			mustContain(t, "the would: lines", would, append(common, tc.want...)...)
			if strings.Contains(would, tc.notWant) {
				t.Errorf("with systemd=%v the plan mentions %q:\n%s", tc.systemd, tc.notWant, would)
			}
			mustContain(t, "stdout", r.Stdout, "ok: PostgreSQL 15/main: port 5432, data /var/lib/postgresql/15/main, run by postgres")
			sb.requireUnchanged(before, r)
		})
	}
}

// A real run (against the stubs) sets archiving up and restarts PostgreSQL
// once; a second run and a dry run find everything in place and change
// nothing, PostgreSQL untouched.
func TestInitialSetupPgBackRestIsIdempotent(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for _, systemd := range []bool{true, false} {
		name := map[bool]string{true: "systemd", false: "cron"}[systemd]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			sb.withPostgres(systemd)
			apply := runOpts{Apply: true}
			args := []string{"--mode", "process", "--pgbackrest", "--pgbackrest-repo", "/srv/pgbackrest"}
			first := sb.RunWith(apply, initialSetup, args...)
			if first.Code != 0 {
				t.Fatalf("first run failed:\n%s\n%s", first, readState(t, sb, "calls.log"))
			}

			conf := sb.ReadFile(pgbackrestRC)
			mustContain(t, "pgbackrest.conf", conf, "[global]\nrepo1-path=/srv/pgbackrest\n", "repo1-retention-full=2\n",
				"compress-type=zst\n", "start-fast=y\n", "# repo2-type=s3\n", "# repo2-cipher-type=aes-256-cbc\n",
				"[mealsync]\npg1-path=/var/lib/postgresql/15/main\npg1-port=5432\n")
			dropIn := sb.ReadFile(pgDropIn)
			mustContain(t, "the conf.d drop-in", dropIn, "\narchive_mode = on\n",
				"\narchive_command = 'pgbackrest --stanza=mealsync archive-push %p'\n", "\narchive_timeout = 60\n", "\nwal_level = replica\n")
			for _, f := range []struct {
				path string
				mode os.FileMode
				uid  uint32
			}{
				{"srv/pgbackrest", 0o750, postgresUID},
				{pgbackrestRC, 0o640, postgresUID},
				{pgDropIn, 0o644, postgresUID},
			} {
				info, err := os.Stat(filepath.Join(sb.Root, f.path))
				if err != nil || info.Mode().Perm() != f.mode || info.Sys().(*syscall.Stat_t).Uid != f.uid {
					t.Errorf("/%s: %v %v, want mode %o owner %d", f.path, info, err, f.mode, f.uid)
				}
			}
			if got := readState(t, sb, "pg-ctl"); got != "15 main restart\n" {
				t.Errorf("PostgreSQL was told %q, want one restart", got)
			}
			mustContain(t, "the server's settings after the run", readState(t, sb, "pg-settings"),
				"archive_mode=on\n", "archive_command=pgbackrest --stanza=mealsync archive-push %p\n", "archive_timeout=60\n")
			for _, p := range []string{"srv/pgbackrest/backup/mealsync/backup.info", "srv/pgbackrest/archive/mealsync/archive.info", "srv/pgbackrest/backup/mealsync/20261206-013000F"} {
				if _, err := os.Stat(filepath.Join(sb.Root, p)); err != nil {
					t.Errorf("no stanza or first backup: %v", err)
				}
			}
			// Every pgBackRest command ran as the cluster's owner.
			calls := readState(t, sb, "calls.log")
			for _, cmd := range []string{"stanza-create", "check", "backup"} {
				mustContain(t, "the calls", calls, "runuser -u postgres -- pgbackrest --stanza=mealsync "+map[string]string{"backup": "--type=full "}[cmd]+cmd+"\n")
			}
			if systemd {
				mustContain(t, "the backup service", sb.ReadFile("etc/systemd/system/mealsync-pgbackrest@.service"),
					"User=postgres\n", "ExecStart=/usr/bin/pgbackrest --stanza=mealsync --type=%i backup\n")
				mustContain(t, "the full backup's timer", sb.ReadFile("etc/systemd/system/mealsync-pgbackrest-full.timer"),
					"OnCalendar=Sun *-*-* 01:30:00 UTC\n", "Unit=mealsync-pgbackrest@full.service\n")
				mustContain(t, "the differential backup's timer", sb.ReadFile("etc/systemd/system/mealsync-pgbackrest-diff.timer"),
					"OnCalendar=Mon..Sat *-*-* 01:30:00 UTC\n", "Unit=mealsync-pgbackrest@diff.service\n")
				for _, timer := range []string{"mealsync-pgbackrest-full.timer", "mealsync-pgbackrest-diff.timer"} {
					if _, err := os.Stat(filepath.Join(sb.State, "active", timer)); err != nil {
						t.Errorf("%s not started: %v", timer, err)
					}
				}
			} else {
				mustContain(t, "the cron file", sb.ReadFile("etc/cron.d/mealsync-pgbackrest"),
					"30 1 * * 0   postgres pgbackrest --stanza=mealsync --type=full backup\n",
					"30 1 * * 1-6 postgres pgbackrest --stanza=mealsync --type=diff backup\n")
				if _, err := os.Stat(filepath.Join(sb.State, "pkg", "cron")); err != nil {
					t.Error("cron was not installed")
				}
			}
			if _, err := os.Stat(filepath.Join(sb.State, "pkg", "pgbackrest")); err != nil {
				t.Error("pgbackrest was not installed")
			}

			for _, run := range []struct {
				name string
				opts runOpts
				args []string
			}{
				{"second run", apply, args},
				{"dry run after", runOpts{}, append([]string{"--dry-run"}, args...)},
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
				mustContain(t, run.name, r.Stdout, "/etc/pgbackrest/pgbackrest.conf already in place",
					"PostgreSQL 15/main already archives with pgBackRest", "stanza mealsync already in /srv/pgbackrest",
					"a full backup is already in /srv/pgbackrest", "archiving already checked")
				sb.requireUnchanged(before, r)
			}
			if got := readState(t, sb, "pg-ctl"); got != "15 main restart\n" {
				t.Errorf("PostgreSQL was told %q after the later runs, want still the one restart", got)
			}

			// Archiving that broke since (a full disk, a lost repository) is
			// reported on the next run, which still changes nothing.
			sb.WriteState("pg-archive-failure", "000000010000000000000042 at 2026-12-06 01:31:07+00\n")
			sb.ResetMutations()
			before := sb.Snapshot()
			r := sb.RunWith(apply, initialSetup, args...)
			if r.Code != 0 {
				t.Fatalf("run with archiving failing: exit %d\n%s", r.Code, r)
			}
			mustContain(t, "stderr", r.Stderr, "PostgreSQL 15/main fails to archive its WAL: nothing archived since it failed on 000000010000000000000042 at 2026-12-06 01:31:07+00")
			sb.requireUnchanged(before, r)
		})
	}
}

// A server that already archives (archive_mode on, with some other command)
// is not restarted: its configuration is reloaded, which is all a new
// archive_command needs. A wal_level of logical, set elsewhere, stays.
func TestInitialSetupPgBackRestReloadsWhenArchivingIsOn(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sb := newSandbox(t)
	sb.withPostgres(true)
	sb.WriteState("pg-settings", "archive_command=cp %p /mnt/wal/%f\narchive_mode=on\narchive_timeout=0\nwal_level=logical\n")
	r := sb.RunWith(runOpts{Apply: true}, initialSetup, "--mode", "process", "--pgbackrest", "--pg-cluster", "15/main")
	if r.Code != 0 {
		t.Fatalf("setup failed:\n%s", r)
	}
	mustContain(t, "stdout", r.Stdout, "change: reload PostgreSQL 15/main's configuration (archive_command, archive_timeout; archive_command was: cp %p /mnt/wal/%f)")
	if got := readState(t, sb, "pg-ctl"); got != "reload\n" {
		t.Errorf("PostgreSQL was told %q, want one reload and no restart", got)
	}
	dropIn := sb.ReadFile(pgDropIn)
	if strings.Contains(dropIn, "wal_level = replica") {
		t.Errorf("the drop-in lowers wal_level from logical:\n%s", dropIn)
	}
	mustContain(t, "the server's settings after the run", readState(t, sb, "pg-settings"),
		"archive_command=pgbackrest --stanza=mealsync archive-push %p\n", "wal_level=logical\n")
}

// What --pgbackrest cannot work with stops a real run before its first
// change, with the reason.
func TestInitialSetupPgBackRestStopsBeforeChanging(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	cases := []struct {
		name  string
		args  []string
		setup func(sb *sandbox)
		want  string
	}{
		{"no cluster", nil, func(sb *sandbox) { sb.WriteState("pg-clusters", "") }, "pg_lsclusters lists no PostgreSQL cluster"},
		{"several clusters", nil, func(sb *sandbox) {
			sb.WriteState("pg-clusters", pgCluster+"16 main 5433 online postgres /var/lib/postgresql/16/main /var/log/postgresql/postgresql-16-main.log\n")
		}, "several PostgreSQL clusters (15/main 16/main): choose one with --pg-cluster"},
		{"no such cluster", []string{"--pg-cluster", "16/main"}, nil, "--pg-cluster 16/main: pg_lsclusters lists no such cluster (it lists: 15/main)"},
		{"cluster down", nil, func(sb *sandbox) { sb.WriteState("pg-clusters", strings.Replace(pgCluster, "online", "down", 1)) },
			"PostgreSQL 15/main is down: start it (pg_ctlcluster 15 main start)"},
		{"a standby", nil, func(sb *sandbox) {
			sb.WriteState("pg-clusters", strings.Replace(pgCluster, "online", "online,recovery", 1))
		}, "is a standby (online,recovery): archive and back up from the primary"},
		{"conf.d not read", nil, func(sb *sandbox) {
			sb.WriteFile(pgConfDir+"/postgresql.conf", "#include_dir = 'conf.d'\n")
		}, "postgresql.conf does not include_dir 'conf.d'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			sb.withPostgres(true)
			if tc.setup != nil {
				tc.setup(sb)
			}
			before := sb.Snapshot()
			r := sb.RunWith(runOpts{Apply: true}, initialSetup, append([]string{"--mode", "process", "--pgbackrest"}, tc.args...)...)
			if r.Code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", r.Code, r)
			}
			mustContain(t, "stderr", r.Stderr, tc.want)
			sb.requireUnchanged(before, r)
		})
	}
}

// The backup service and timers --pgbackrest writes are units systemd
// accepts as they are: systemd-analyze verify parses them (every key, the
// calendar expressions, the timers' target unit, ExecStart's program) and
// reports nothing.
func TestInitialSetupPgBackRestUnitsVerify(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testdb.SkipOrFail(t, "systemd-analyze is not installed (Debian's systemd package)")
	}
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		testdb.SkipOrFail(t, "pgbackrest is not installed: systemd-analyze verify checks ExecStart's program")
	}
	sb := newSandbox(t)
	sb.withPostgres(true)
	if r := sb.RunWith(runOpts{Apply: true}, initialSetup, "--mode", "process", "--pgbackrest"); r.Code != 0 {
		t.Fatalf("setup failed:\n%s", r)
	}
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"mealsync-pgbackrest@.service", "mealsync-pgbackrest-full.timer", "mealsync-pgbackrest-diff.timer"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(sb.ReadFile("etc/systemd/system/"+name)), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".timer") {
			units = append(units, path)
		}
	}
	// The instances the timers start, from the template beside them.
	units = append(units, filepath.Join(dir, "mealsync-pgbackrest@full.service"), filepath.Join(dir, "mealsync-pgbackrest@diff.service"))
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
