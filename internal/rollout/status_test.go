package rollout

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)

	r, err := newEngine(t, w, store).status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Consistent || len(r.Problems) > 0 || r.Remedy != "" || len(r.Instances) != 2 || r.Current.Version != "v1" ||
		r.LastDeploy == nil || r.LastDeploy.Version != "v1" || !r.Deployed {
		t.Errorf("status after a deploy: %+v", r)
	}
	for _, in := range r.Instances {
		if in.Health != "ready" || !in.InUpstream {
			t.Errorf("instance %s: health %s, in upstream %v", in.ID, in.Health, in.InUpstream)
		}
	}
	if _, err := os.Stat(store.Path(metricsFile)); err != nil {
		t.Errorf("status did not write metrics.prom: %v", err)
	}

	// An instance dies: status names it, and the command that repairs it.
	st, _ := store.Load()
	victim := st.Instances[0]
	w.kill(t, victim.ID)
	r, _ = newEngine(t, w, store).status(ctx)
	if r.Consistent || r.Remedy != Remedy ||
		!slices.ContainsFunc(r.Problems, func(p string) bool {
			return strings.HasPrefix(p, "serving instance "+victim.ID) && strings.Contains(p, "is dead")
		}) ||
		!slices.ContainsFunc(r.Problems, func(p string) bool { return p == "1 of 2 wanted instance(s) serve" }) {
		t.Errorf("status with a dead instance: consistent %v, problems %q, remedy %q", r.Consistent, r.Problems, r.Remedy)
	}

	// A deploy in progress (its command holds the lock) is no problem; one
	// whose command is gone is.
	st.Op = &Operation{Kind: "deploy", Target: Release{Version: "v2"}, Step: "verifying i9", Started: time.Now(), Updated: time.Now()}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	lock, err := store.Lock("deploy")
	if err != nil {
		t.Fatal(err)
	}
	r, _ = newEngine(t, w, store).status(ctx)
	if r.InProgress == nil || r.Interrupted != nil || r.Consistent || r.Remedy != "" || !strings.Contains(r.LockHolder, "deploy") {
		t.Errorf("status while a deploy runs: %+v", r)
	}
	lock.Unlock()
	r, _ = newEngine(t, w, store).status(ctx)
	if r.Interrupted == nil || r.InProgress != nil || !slices.Contains(r.Problems, "an interrupted deploy is recorded") {
		t.Errorf("status after a deploy was killed: %+v", r)
	}
}

func TestReadStatusOfNothingDeployed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	r, err := ReadStatus(context.Background(), Setup{Dir: dir})
	if err != nil || r.Deployed || !r.Consistent || r.StateDir != dir || r.Instances == nil {
		t.Errorf("status of an empty state dir: %+v, %v", r, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("reading the status created the state dir: %v", err)
	}
}
