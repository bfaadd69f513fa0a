package live

import (
	"context"
	"testing"
	"time"
)

// woken reports whether s has a wake-up pending, taking it.
func woken(s *Sub) bool {
	select {
	case <-s.Wake():
		return true
	default:
		return false
	}
}

// A revision already announced does not wake a household's connections
// again; a newer one, or an unknown one, does.
func TestChangedWakesOncePerRevision(t *testing.T) {
	h := NewHub(DefaultMaxPerUser)
	a, err := h.Subscribe("h1", "u1", "ws")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe("h1", "u2", "sse")
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.Subscribe("h2", "u3", "ws")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		revision int64
		wakes    bool
	}{
		{"the commit of revision 5", 5, true},
		{"the notification of the same commit", 5, false},
		{"an older revision arriving late", 4, false},
		{"revision 6", 6, true},
		{"a change of unknown revision", 0, true},
		{"revision 6 again", 6, false},
	}
	for _, st := range steps {
		h.Changed("h1", st.revision)
		if got := woken(a); got != st.wakes {
			t.Errorf("%s: first connection woken = %v, want %v", st.name, got, st.wakes)
		}
		if got := woken(b); got != st.wakes {
			t.Errorf("%s: second connection woken = %v, want %v", st.name, got, st.wakes)
		}
		if woken(other) {
			t.Errorf("%s: another household's connection was woken", st.name)
		}
	}

	// Once nobody listens, the household is forgotten: a new listener is
	// woken by any revision.
	h.Unsubscribe(a)
	h.Unsubscribe(b)
	c, err := h.Subscribe("h1", "u1", "ws")
	if err != nil {
		t.Fatal(err)
	}
	h.Changed("h1", 3)
	if !woken(c) {
		t.Error("a listener subscribed after the others left was not woken by revision 3")
	}
}

// Wait returns when the last connection has unsubscribed, and not before;
// at its deadline it says how many are still open.
func TestWaitForConnectionsToEnd(t *testing.T) {
	h := NewHub(DefaultMaxPerUser)
	a, _ := h.Subscribe("h1", "u1", "ws")
	b, _ := h.Subscribe("h2", "u2", "sse")
	if n := h.CloseAll(CloseRestart); n != 2 {
		t.Fatalf("CloseAll asked %d connections, want 2", n)
	}
	done := make(chan int, 1)
	go func() { done <- h.Wait(context.Background()) }()
	h.Unsubscribe(a)
	select {
	case n := <-done:
		t.Fatalf("Wait returned %d with a connection still open", n)
	default:
	}
	h.Unsubscribe(b)
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("Wait = %d once all left, want 0", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the last connection left")
	}

	c, _ := h.Subscribe("h3", "u3", "ws") // refused: the hub is draining
	if c != nil {
		t.Fatal("a draining hub took a new connection")
	}
	h2 := NewHub(DefaultMaxPerUser)
	h2.Subscribe("h1", "u1", "ws")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := h2.Wait(ctx); n != 1 {
		t.Fatalf("Wait at its deadline = %d, want 1 still open", n)
	}
}
