package syncsim

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Listen opens a live connection for d on base (see Listen).
func (d *Device) Listen(ctx context.Context, client *http.Client, base string, since int64) (*Listener, error) {
	return Listen(ctx, client, base, d.token, d.Name, since)
}

// OpenListeners opens n live connections, concurrency at a time, each with
// open(ctx, i), and returns once every one has had its first message (its
// backlog). On an error it closes what it opened.
func OpenListeners(ctx context.Context, n, concurrency int, open func(ctx context.Context, i int) (*Listener, error)) ([]*Listener, error) {
	out := make([]*Listener, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l, err := open(ctx, i)
				if err == nil {
					err = l.WaitFirst(ctx)
				}
				out[i], errs[i] = l, err
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			CloseAll(out)
			return nil, fmt.Errorf("connection %d of %d: %w", i+1, n, err)
		}
	}
	return out, nil
}

// CloseAll closes every listener (nil ones are skipped).
func CloseAll(ls []*Listener) {
	var wg sync.WaitGroup
	for _, l := range ls {
		if l != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.Close()
			}()
		}
	}
	wg.Wait()
}

// Watch connects every device of hs for a delivery measurement: the first
// (the writer) on writeURL, the others on listenURL, concurrency at a time,
// each from revision 0 and caught up before Watch returns.
func Watch(ctx context.Context, client *http.Client, hs []*Household, writeURL, listenURL string, concurrency int) ([]*Watched, error) {
	type slot struct{ h, d int }
	var slots []slot
	for h, hh := range hs {
		for d := range hh.Devices {
			slots = append(slots, slot{h, d})
		}
	}
	ls, err := OpenListeners(ctx, len(slots), concurrency, func(ctx context.Context, i int) (*Listener, error) {
		s := slots[i]
		base := listenURL
		if s.d == 0 {
			base = writeURL
		}
		return hs[s.h].Devices[s.d].Listen(ctx, client, base, 0)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Watched, len(hs))
	for i, h := range hs {
		out[i] = &Watched{Household: h}
	}
	for i, s := range slots {
		if s.d == 0 {
			out[s.h].Own = ls[i]
		} else {
			out[s.h].Others = append(out[s.h].Others, ls[i])
		}
	}
	return out, nil
}

// Unwatch closes every connection Watch opened.
func Unwatch(ws []*Watched) {
	var all []*Listener
	for _, w := range ws {
		all = append(all, w.listeners()...)
	}
	CloseAll(all)
}

// Households makes n households of the users of tokens, len(tokens)/n
// users each (the first of each creates it and invites the others), through
// the API at base, concurrency at a time.
func Households(ctx context.Context, cfg Config, tokens []string, n, concurrency int) ([]*Household, error) {
	if n == 0 || len(tokens)%n != 0 {
		return nil, fmt.Errorf("syncsim: %d users do not make %d households of equal size", len(tokens), n)
	}
	per := len(tokens) / n
	out := make([]*Household, n)
	errs := make(chan error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				h, err := NewHousehold(ctx, cfg, fmt.Sprintf("house-%d", i), tokens[i*per:(i+1)*per])
				if err != nil {
					errs <- err
					continue
				}
				out[i] = h
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

// CatchUp is one timed catch-up of a device that was behind.
type CatchUp struct {
	Elapsed  time.Duration
	Messages int
	Changes  int
	Bytes    int64
}

// CatchUpLive times a device that knows revision since opening its live
// connection as an app does (the token in its header) until it has read,
// decoded and applied revision want, every revision in between in order
// and once.
func CatchUpLive(ctx context.Context, client *http.Client, base, token string, since, want int64) (CatchUp, error) {
	began := time.Now()
	l, err := ListenApp(ctx, client, base, token, "catch-up", since)
	if err != nil {
		return CatchUp{}, err
	}
	defer l.Close()
	if err := l.WaitRevision(ctx, want); err != nil {
		return CatchUp{}, err
	}
	elapsed := time.Since(began)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := CatchUp{Elapsed: elapsed, Messages: l.messages, Changes: l.changes, Bytes: l.bytes}
	switch {
	case len(l.problems) > 0:
		return c, fmt.Errorf("catch-up: %v", l.problems)
	case l.resyncs > 0:
		return c, fmt.Errorf("catch-up from %d: a resync, not the changes", since)
	case l.revision != want:
		return c, fmt.Errorf("catch-up reached revision %d, want %d", l.revision, want)
	}
	return c, nil
}

// CatchUpFeed times GET /api/v1/sync?since=since until the answer is read
// and decoded, and checks that it holds every revision up to want, in
// order.
func CatchUpFeed(ctx context.Context, client *http.Client, base, token string, since, want int64) (CatchUp, error) {
	began := time.Now()
	var f struct {
		message
		Resync bool `json:"resync"`
	}
	n, err := callCounting(ctx, Config{BaseURL: base, Client: client}, token, "GET", fmt.Sprintf("/api/v1/sync?since=%d", since), &f)
	if err != nil {
		return CatchUp{}, err
	}
	c := CatchUp{Elapsed: time.Since(began), Messages: 1, Changes: len(f.Changes), Bytes: n}
	if f.Resync {
		return c, fmt.Errorf("feed from %d: a resync, not the changes", since)
	}
	prev := since
	for i, ch := range f.Changes {
		if ch.Revision != prev+1 && (i == 0 || ch.Revision != prev) { // one revision may hold several changes
			return c, fmt.Errorf("feed from %d: revision %d after %d", since, ch.Revision, prev)
		}
		prev = ch.Revision
	}
	if prev != want || f.Revision != want {
		return c, fmt.Errorf("feed from %d: changes end at %d, revision %d, want %d", since, prev, f.Revision, want)
	}
	return c, nil
}

// Fill writes n revisions to h (see Fill) as its first device.
func (h *Household) Fill(ctx context.Context, client *http.Client, base string, n, lanes int) (int64, error) {
	return Fill(ctx, client, base, h.Devices[0].token, h.ID, n, lanes)
}
