package monitoring_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Every series the rules and the dashboard read from PostgreSQL (selectors
// with job="postgres") is one Debian's prometheus-postgres-exporter exports,
// scraping a real primary and a real streaming replica — the replication
// lag included, which only a replica reports.
func TestPostgresExporterHasWhatRulesAndDashboardRead(t *testing.T) {
	bin, err := exec.LookPath("prometheus-postgres-exporter")
	if err != nil {
		testdb.SkipOrFail(t, "prometheus-postgres-exporter not installed (Debian package of that name)")
	}
	primary := testdb.StartPrimary(t)
	if _, err := primary.DB(t, "postgres").Exec("CREATE DATABASE mealsync"); err != nil {
		t.Fatal(err)
	}
	replica := primary.StartReplica(t)
	have := map[string]bool{}
	for _, s := range []*testdb.Server{primary, replica} {
		for name := range exporterMetrics(t, bin, fmt.Sprintf("postgresql://postgres@127.0.0.1:%d/mealsync?sslmode=disable", s.Port)) {
			have[name] = true
		}
	}

	need := readFrom(t, "postgres")
	if len(need) == 0 {
		t.Fatal(`no rule or panel reads job="postgres": the database panels and alerts are gone`)
	}
	var missing []string
	for m, users := range need {
		if !have[m] {
			missing = append(missing, fmt.Sprintf("%s (read by %s)", m, strings.Join(users, ", ")))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		var names []string
		for n := range have {
			if strings.HasPrefix(n, "pg_") && !strings.HasPrefix(n, "pg_settings_") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		t.Errorf("the exporter does not export:\n  %s\nit exports: %s", strings.Join(missing, "\n  "), strings.Join(names, " "))
	}
}

// exporterMetrics runs the exporter against dsn and returns the metric
// names of one scrape.
func exporterMetrics(t *testing.T, bin, dsn string) map[string]bool {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "--web.listen-address="+addr)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+dsn)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stopProcess(t, "postgres exporter", cmd, exited, logs) })

	names := map[string]bool{}
	waitFor(t, 30*time.Second, "a scrape of the exporter with pg_up 1", func() (bool, string) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		up := false
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			name := line[:strings.IndexAny(line, "{ ")]
			names[name] = true
			up = up || line == "pg_up 1"
		}
		return up, "pg_up is not 1: " + logs.String()
	})
	return names
}
