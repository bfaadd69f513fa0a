package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// reloads is how many times TestManyReloadsKeepBodiesWhole reloads nginx.
const reloads = 100

// TestManyReloadsKeepBodiesWhole reloads nginx again and again under the
// load, two instances behind it. Every body must arrive whole (its length
// matching Content-Length or its chunked framing complete, gzip intact, and
// JSON that parses), and nginx must never log a worker leaving with a
// connection open ("open socket … left in connection"), which is how nginx
// before 1.23.1 cut buffered answers short at a reload. What a client that
// never retries loses to the reloads (a request on a kept-alive connection
// that an old worker closed) is the residue the figure reports.
func TestManyReloadsKeepBodiesWhole(t *testing.T) {
	testenv.RequireNginx(t)
	dbURL := testdb.PostgresURL(t)
	v1 := buildRelease(t, "v1")
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(v1, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+dbURL, "MEALSYNC_LOG_FORMAT=json")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, b)
		}
	}
	env := map[string]string{
		"MEALSYNC_JWT_SECRET":               "deploy-test-secret-shared-by-every-instance",
		"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
		"MEALSYNC_TRUSTED_PROXIES":          "127.0.0.1/32",
	}
	a := testenv.StartMealsync(t, testenv.Options{Binary: v1, DatabaseURL: dbURL, Env: env})
	b := testenv.StartMealsync(t, testenv.Options{Binary: v1, DatabaseURL: dbURL, Env: env})
	n := testenv.StartNginx(t, "", []string{a.Addr, b.Addr})
	n.Reload(t) // the config a reload produces is the one measured

	l := newLoad(n.URL, "reload"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmUp(t, l, 2*time.Second)
	t0 := time.Now()
	for range reloads {
		n.Reload(t)
	}
	win := window{name: fmt.Sprintf("%d nginx reloads", reloads), from: t0, to: time.Now()}
	warmUp(t, l, time.Second)
	l.stop()

	s := summarise(l.snapshot(), win.holds)
	var idle int64
	for _, c := range l.gets {
		idle += c.idleClosed.Load()
	}
	t.Logf("FIGURE %s under load: %.1fs, %d requests, %d failed %v, %d GETs stale on a reused connection (lost by a client that never retries; %.2f per reload), %d idle client connections closed by nginx",
		win.name, win.to.Sub(win.from).Seconds(), s.sent, s.failed, s.byClass, s.stale, float64(s.stale)/reloads, idle)
	for _, f := range s.failures {
		t.Logf("  %s", f)
	}
	if bad := s.byClass[failTruncated] + s.byClass[failInvalid]; bad > 0 {
		t.Errorf("%d bodies arrived cut or unparsable over %d reloads", bad, reloads)
	}
	errlog, _ := os.ReadFile(n.ErrorLog)
	if k := strings.Count(string(errlog), "open socket"); k > 0 {
		t.Errorf("nginx logged %d sockets left open by a worker that exited at a reload:\n%s", k, grepLines(string(errlog), "[alert]"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
