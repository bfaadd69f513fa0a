// Package replicas_test proves the read replicas of docs/INFRASTRUCTURE.md
// with real processes: a PostgreSQL primary, a streaming replica made with
// pg_basebackup -R, and a `mealsync serve` given both. The catalogue's reads
// move to the replica; an admin's newly published recipe is seen at once
// while the replica's replay is paused (read-your-writes); a lagging,
// stopped or restarted replica leaves and rejoins the rotation; and a
// reader going all along never gets an error.
package replicas_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

func TestCatalogueReadsFromAReplica(t *testing.T) {
	primary, replica := startPair(t)
	name := fmt.Sprintf("127.0.0.1:%d", replica.Port)
	inst := testenv.StartMealsync(t, testenv.Options{DatabaseURL: dbURL(primary), Env: map[string]string{
		"MEALSYNC_MIGRATE_ON_START":      "true",
		"MEALSYNC_DATABASE_REPLICA_URLS": dbURL(replica),
		"MEALSYNC_REPLICA_MAX_LAG":       "1s",
		"MEALSYNC_CATALOGUE_VERSION_TTL": "200ms",
		"MEALSYNC_LIST_CACHE_SIZE":       "0",
	}})
	m := &scraper{url: inst.OpsURL + "/actuator/prometheus"}
	r := startReader(inst.URL)
	defer func() {
		if n, errs := r.stop(); errs > 0 {
			t.Errorf("the reader got %d errors in %d requests: %v", errs, n, r.firstErrors())
		}
	}()

	// In rotation, and answering the catalogue's feed.
	m.waitFor(t, "the replica in rotation", func(v metrics) bool { return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == 1 })
	m.waitFor(t, "catalogue reads answered by the replica", func(v metrics) bool { return v[`mealsync_db_catalogue_reads_total{target="`+name+`"}`] > 3 })

	// Read-your-writes with the replica's replay paused: an admin publishes
	// a recipe and lists it at once.
	admin := signUpAdmin(t, inst.URL, primary)
	replicaDB := replica.DB(t, "postgres")
	if _, err := replicaDB.Exec("SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	unique := fmt.Sprintf("Replica Soup %d", time.Now().UnixNano())
	id := publish(t, inst.URL, admin, unique)
	if !listed(t, inst.URL, unique) {
		t.Fatalf("%q, just published, is not in the list: a read went to the paused replica", unique)
	}
	if st := get(t, inst.URL+"/api/v1/recipes/"+id, admin); st != http.StatusOK {
		t.Fatalf("the published recipe by id: %d", st)
	}
	// Writes keep coming and the replica does not replay them: it leaves.
	m.waitFor(t, "the paused replica out of rotation", func(v metrics) bool {
		publish(t, inst.URL, admin, fmt.Sprintf("Filler %d", time.Now().UnixNano()))
		return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == 0
	})
	before := m.read(t)[`mealsync_db_catalogue_reads_total{target="primary"}`]
	m.waitFor(t, "reads going to the primary", func(v metrics) bool {
		return v[`mealsync_db_catalogue_reads_total{target="primary"}`] > before+3
	})
	if _, err := replicaDB.Exec("SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "the replica back after replaying", func(v metrics) bool { return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == 1 })

	// Stopped: out of rotation, the instance still ready; started: back.
	replica.Stop(t, "fast")
	m.waitFor(t, "the stopped replica out of rotation", func(v metrics) bool { return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == 0 })
	if st := get(t, inst.URL+"/actuator/health/readiness", ""); st != http.StatusOK {
		t.Fatalf("readiness with the replica down: %d, want 200 (the primary answers)", st)
	}
	replica.Start(t)
	m.waitFor(t, "the restarted replica back in rotation", func(v metrics) bool { return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == 1 })
	if !listed(t, inst.URL, unique) {
		t.Fatalf("%q is gone from the list once the replica is back", unique)
	}
}

// startPair starts a primary with an empty mealsync database and a
// streaming replica of it.
func startPair(t *testing.T) (primary, replica *testdb.Server) {
	t.Helper()
	primary = testdb.StartPrimary(t)
	if _, err := primary.DB(t, "postgres").Exec("CREATE DATABASE mealsync"); err != nil {
		t.Fatal(err)
	}
	return primary, primary.StartReplica(t)
}

// dbURL is the mealsync database on s.
func dbURL(s *testdb.Server) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/mealsync?sslmode=disable", s.Port)
}

// signUpAdmin registers an account, makes it an admin on the primary, and
// returns its access token.
func signUpAdmin(t *testing.T, base string, primary *testdb.Server) string {
	t.Helper()
	creds := map[string]string{"email": "chef@example.com", "password": "replica admin 1", "name": "Chef"}
	post(t, base+"/api/v1/users/register", "", creds, http.StatusOK)
	if _, err := primary.DB(t, "mealsync").Exec("UPDATE users SET role = 'ADMIN' WHERE email = 'chef@example.com'"); err != nil {
		t.Fatal(err)
	}
	var login struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	json.Unmarshal(post(t, base+"/api/v1/users/login", "", creds, http.StatusOK), &login)
	return login.Data.Token
}

// publish creates a recipe and publishes it to the catalogue; it returns
// the recipe's id.
func publish(t *testing.T, base, token, name string) string {
	t.Helper()
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	body := map[string]any{
		"name": name, "description": "Made while a replica lags.", "cuisine": "Italian", "difficulty": "EASY",
		"ingredients":     []map[string]any{{"name": "Tomato", "quantity": "2", "unit": ""}},
		"instructions":    []string{"Cook."},
		"preparationTime": 5, "cookingTime": 10, "servings": 2, "tags": []string{"dinner"},
	}
	json.Unmarshal(post(t, base+"/api/v1/recipes", token, body, http.StatusCreated), &created)
	post(t, base+"/api/v1/recipes/"+created.Data.ID+"/publish", token, nil, http.StatusOK)
	return created.Data.ID
}

// listed reports whether the catalogue's search by name finds name.
func listed(t *testing.T, base, name string) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/recipes?name=" + url.QueryEscape(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %v", resp.StatusCode, err)
	}
	for _, r := range page.Data {
		if r.Name == name {
			return true
		}
	}
	return false
}

func post(t *testing.T, url, token string, body any, want int) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", url, resp.StatusCode, want, out.String())
	}
	return out.Bytes()
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// reader lists the catalogue without pause until stopped, counting what
// did not come back 200.
type reader struct {
	stopped chan struct{}
	done    sync.WaitGroup
	n, errs atomic.Int64
	mu      sync.Mutex
	first   []string
}

func startReader(base string) *reader {
	r := &reader{stopped: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		for i := 0; ; i++ {
			select {
			case <-r.stopped:
				return
			default:
			}
			r.n.Add(1)
			resp, err := client.Get(fmt.Sprintf("%s/api/v1/recipes?limit=5&offset=%d", base, i%20))
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				r.errs.Add(1)
				r.mu.Lock()
				if len(r.first) < 5 {
					r.first = append(r.first, fmt.Sprint(err, statusOf(resp)))
				}
				r.mu.Unlock()
			}
		}
	}()
	return r
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func (r *reader) stop() (n, errs int64) {
	close(r.stopped)
	r.done.Wait()
	return r.n.Load(), r.errs.Load()
}

func (r *reader) firstErrors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// metrics are a scrape's samples by name{labels}, as written.
type metrics map[string]float64

type scraper struct{ url string }

func (s *scraper) read(t *testing.T) metrics {
	t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// waitFor scrapes until ok holds (a minute at most).
func (s *scraper) waitFor(t *testing.T, what string, ok func(metrics) bool) {
	t.Helper()
	var last metrics
	testenv.WaitFor(t, time.Minute, what, func() bool {
		last = s.read(t)
		return ok(last)
	})
}
