package loadtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestCommand runs the mealsyncctl binary against a real instance (SQLite,
// the sign-up throttle at its default): --prepare signs accounts up, each
// user from its own loopback address; a run with --accounts, --json and
// --html reports; and SIGINT stops a run with a partial report.
func TestCommand(t *testing.T) {
	ctl := testenv.Build(t, "./cmd/mealsyncctl")
	inst := testenv.StartMealsync(t, testenv.Options{})
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.txt")
	page := filepath.Join(dir, "report.html")

	out, err := exec.Command(ctl, "loadtest", "--target", inst.URL, "--users", "30", "--prepare", accounts).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "30 accounts signed up") {
		t.Fatalf("--prepare: %v\n%s", err, out)
	}

	cmd := exec.Command(ctl, "loadtest", "--target", inst.URL, "--users", "30", "--accounts", accounts,
		"--think", "300ms", "--ramp-up", "1s", "--duration", "4s", "--json", "--html", page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json printed no report: %v\n%s", err, stdout.String())
	}
	if rep.Outcome != loadtest.OutcomeCompleted || rep.Setup.FromFile != 30 || rep.Steady.Requests == 0 || rep.Steady.Errors != 0 {
		t.Errorf("report: outcome %s, setup %+v, steady %d requests, %d errors %+v",
			rep.Outcome, rep.Setup, rep.Steady.Requests, rep.Steady.Errors, rep.Steady.ErrorsBy)
	}
	if html, err := os.ReadFile(page); err != nil || !bytes.Contains(html, []byte(`data-chart="throughput"`)) {
		t.Errorf("--html: %v", err)
	}

	// Ctrl-C: a partial report and exit status 1.
	cmd = exec.Command(ctl, "loadtest", "--target", inst.URL, "--users", "10", "--accounts", accounts,
		"--think", "200ms", "--ramp-up", "0s", "--duration", "5m")
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	base := countRequests(t, inst.OpsURL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Past the setup once the instance has answered more than its 20
	// sign-in and preference requests.
	testenv.WaitFor(t, time.Minute, "the run's steady phase", func() bool {
		return countRequests(t, inst.OpsURL) > base+30
	})
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("after SIGINT: %v, want exit status 1", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGINT did not stop the run")
	}
	if !strings.Contains(stdout.String(), "Outcome: interrupted") || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("no partial report after SIGINT:\n%s\n%s", stdout.String(), stderr.String())
	}
}

// countRequests is the instance's own count of the API requests it served.
func countRequests(t *testing.T, opsURL string) float64 {
	resp, err := http.Get(opsURL + "/actuator/prometheus")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "http_server_requests_seconds_count") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			total += v
		}
	}
	return total
}
