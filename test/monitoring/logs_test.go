package monitoring_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// The log store's programs: VictoriaLogs (Apache-2.0) and its shipper
// vlagent, one Go module, installed by .ci/run with `go install`.
const (
	victoriaLogsBin = "victoria-logs"
	vlagentBin      = "vlagent"
	victoriaLogsPkg = "go install github.com/VictoriaMetrics/VictoriaLogs/app/{victoria-logs,vlagent}@v1.52.2"
)

// TestLogsAreSearchableByRequestID runs the documented log path for real:
// MealSync writes its JSON lines to a file (as the process driver and
// systemd do), the repository's nginx writes its JSON access log in front
// of it, vlagent tails both files with the flags of docs/INFRASTRUCTURE.md
// and ships them to VictoriaLogs. A request ID from a response (what a
// user's error report carries) must then find, in one LogsQL query, the
// nginx line and the app line of that request, and nothing else.
func TestLogsAreSearchableByRequestID(t *testing.T) {
	if testing.Short() {
		t.Skip("runs MealSync, nginx, VictoriaLogs and vlagent")
	}
	vlBin := requireProgram(t, victoriaLogsBin, victoriaLogsPkg)
	agentBin := requireProgram(t, vlagentBin, victoriaLogsPkg)
	testenv.RequireNginx(t)

	dir := t.TempDir()
	appLog, err := os.Create(filepath.Join(dir, "mealsync.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { appLog.Close() })
	app := startMealSync(t, buildMealSync(t), filepath.Join(dir, "data"), appLog)
	edge := testenv.StartNginx(t, "", []string{app.addr})

	store := startServer(t, "victoria-logs", vlBin, func(addr string) []string {
		return []string{"-httpListenAddr=" + addr, "-storageDataPath=" + filepath.Join(dir, "vl-data"), "-retentionPeriod=30d"}
	}, "/health")
	startServer(t, "vlagent", agentBin, func(addr string) []string {
		return []string{"-httpListenAddr=" + addr,
			"-remoteWrite.url=" + store + "/insert/native",
			"-remoteWrite.tmpDataPath=" + filepath.Join(dir, "vlagent-queue"),
			"-fileCollector.glob=" + edge.AccessLog,
			"-fileCollector.glob=" + appLog.Name(),
			"-fileCollector.checkpointsPath=" + filepath.Join(dir, "vlagent-checkpoints.json"),
			"-fileCollector.msgField=msg,uri", // the app's message; nginx's lines have none, their URI stands for it
			"-fileCollector.refreshInterval=1s",
		}
	}, "/health")

	// Two requests through nginx; the second one's ID is "the user's": an
	// anonymous read of a recipe, answered 401.
	var ids []string
	for _, path := range []string{"/api/v1/recipes?limit=1", "/api/v1/recipes/00000000-0000-4000-8000-000000000000"} {
		resp, err := httpClient.Get(edge.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-ID")
		if id == "" {
			t.Fatalf("GET %s: no X-Request-ID in the answer", path)
		}
		ids = append(ids, id)
	}
	other, reported := ids[0], ids[1]

	query := requestIDQuery(reported)
	var lines []map[string]any
	waitFor(t, 60*time.Second, "the nginx and app lines of "+reported, func() (bool, string) {
		lines, err = logsQuery(store, query)
		if err != nil {
			return false, err.Error()
		}
		return len(lines) >= 2, fmt.Sprintf("%d lines: %v", len(lines), lines)
	})

	var fromNginx, fromApp int
	for _, l := range lines {
		if l["request_id"] != reported {
			t.Errorf("line of another request: %v", l)
		}
		switch l["file"] {
		case edge.AccessLog:
			fromNginx++
			if l["_msg"] != "/api/v1/recipes/00000000-0000-4000-8000-000000000000" || l["status"] != "401" || l["upstream_addr"] != app.addr {
				t.Errorf("nginx line: %v", l)
			}
		case appLog.Name():
			fromApp++
			if l["_msg"] != "request" || l["route"] != "GET /api/v1/recipes/{id}" || l["status"] != "401" {
				t.Errorf("app line: %v", l)
			}
		default:
			t.Errorf("line from an unexpected file: %v", l)
		}
	}
	if fromNginx != 1 || fromApp != 1 {
		t.Errorf("%d nginx and %d app lines for %s, want one of each:\n%v", fromNginx, fromApp, reported, lines)
	}

	// The other request's lines are there too, and found by their own ID.
	waitFor(t, 30*time.Second, "the lines of "+other, func() (bool, string) {
		got, err := logsQuery(store, requestIDQuery(other))
		return err == nil && len(got) == 2, fmt.Sprintf("%v %v", got, err)
	})
}

// requestIDQuery is the LogsQL query docs/INFRASTRUCTURE.md#logs gives for
// a request ID: the field, as vlagent parses JSON-lines files, or a word of
// the message, where the lines arrive wrapped in Docker's json-file format
// (compose) and stay whole in _msg.
func requestIDQuery(id string) string {
	return fmt.Sprintf("request_id:=%q or %q", id, id)
}

// logsQuery runs a LogsQL query on VictoriaLogs and returns the matching
// entries, one JSON object each.
func logsQuery(base, query string) ([]map[string]any, error) {
	resp, err := httpClient.PostForm(base+"/select/logsql/query", url.Values{"query": {query}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out, sc.Err()
}
