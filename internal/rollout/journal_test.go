package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// breakStateDir makes dir unwritable the way a full or failed disk would,
// in a way that holds for root too (which chmod does not stop): the
// directory moves aside and a file takes its place, so every write below
// it fails with ENOTDIR. The returned function puts it back.
func breakStateDir(t *testing.T, dir string) (restore func()) {
	t.Helper()
	aside := dir + ".aside"
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(aside, dir); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeployStopsWhenTheJournalCannotBeWritten breaks the state directory
// at every driver and proxy call of a deploy. From then on the engine must
// start and stop nothing (the fake world fails the test if it does: the
// journal could not say so), the error must carry the failed write, and
// once the directory is back the next command must find a state it can
// reconcile into two ready instances and deploy from.
func TestDeployStopsWhenTheJournalCannotBeWritten(t *testing.T) {
	base := newWorld(t)
	baseStore := newStore(t)
	mustDeploy(t, base, baseStore, "v1", 2)
	c0 := base.calls
	mustDeploy(t, base, baseStore, "v2", 0)
	total := base.calls - c0

	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			store := newStore(t)
			mustDeploy(t, w, store, "v1", 2)
			w.minServing, w.maxAlive = 2, 3
			var restore func()
			at := w.calls + k
			w.onCall = func(n int) {
				if n == at {
					restore = breakStateDir(t, store.Dir)
					w.unsaved = true
				}
			}
			e := newEngine(t, w, store)
			err := e.Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
			if restore == nil {
				t.Fatalf("call %d of %d was not reached", k, total)
			}
			if err == nil {
				t.Fatalf("broken at call %d: the deploy succeeded without its journal", k)
			}
			if !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("broken at call %d: the error does not carry the failed write: %v", k, err)
			}
			if !strings.Contains(err.Error(), "not a directory") {
				t.Errorf("broken at call %d: the message does not say what failed: %v", k, err)
			}
			// The rollback could not record itself either: not "rolled back".
			var f *Failure
			if !errors.As(err, &f) || f.Outcome != Failed || !strings.Contains(f.Error(), "the next command reconciles from what was last saved") {
				t.Errorf("broken at call %d: want a failed outcome that says the state lags: %v", k, err)
			}

			w.mu.Lock()
			w.onCall, w.unsaved = nil, false
			restore()
			w.mu.Unlock()
			e = newEngine(t, w, store)
			if err := e.Recover(context.Background()); err != nil {
				t.Fatalf("broken at call %d: recover: %v", k, err)
			}
			checkConsistent(t, w, store, 2)
			mustDeploy(t, w, store, "v2", 0)
			checkConsistent(t, w, store, 2)
			if got := joined(w.servingVersions()); got != "v2,v2" {
				t.Errorf("broken at call %d: after the next deploy the upstream serves %s", k, got)
			}
		})
	}
}

// TestRecoverChangesNothingItCannotRecord: a command that finds an
// interrupted deploy, and a state directory it cannot write, leaves the
// upstream and the instances as they are and says why; once the directory
// is back it reconciles.
func TestRecoverChangesNothingItCannotRecord(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	w.minServing, w.maxAlive = 2, 3
	w.killAt = w.calls + 4 // the first new instance is in the upstream
	done := make(chan struct{})
	go func() {
		defer close(done)
		newEngine(t, w, store).Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
	}()
	<-done
	w.mu.Lock()
	w.killAt = 0
	applies := len(w.applies)
	w.mu.Unlock()

	e := newEngine(t, w, store)
	if !e.State.NeedsRecovery() {
		t.Fatal("the state does not show the interrupted deploy")
	}
	restore := breakStateDir(t, store.Dir)
	w.mu.Lock()
	w.unsaved = true
	w.mu.Unlock()
	err := e.Recover(context.Background())
	if !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "recovering the interrupted deploy") {
		t.Errorf("recover without a writable state directory: %v", err)
	}
	w.mu.Lock()
	if n := len(w.applies) - applies; n != 0 {
		t.Errorf("the upstream was changed %d time(s) though the state directory could not record it", n)
	}
	w.unsaved = false
	w.mu.Unlock()
	restore()

	if err := newEngine(t, w, store).Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, w, store, 2)
	h, _ := store.History()
	if last := h[len(h)-1]; last.Outcome != Interrupted {
		t.Errorf("history %+v", last)
	}
}
