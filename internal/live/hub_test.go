package live

import "testing"

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
