package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/loadtest"
)

func TestLoadtestFlags(t *testing.T) {
	out, _, err := ctl(t, nil, "loadtest", "-h")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"-target", "-users", "-think", "-ramp-up", "-duration", "-mix", "-seed", "-max-requests",
		"-max-errors", "-i-own-this-target", "-accounts", "-prepare", "-json", "-html", "-source-addrs", "MEALSYNC_REGISTER_MAX_PER_ADDRESS=0"} {
		if !strings.Contains(out, w) {
			t.Errorf("loadtest -h does not mention %q", w)
		}
	}
	for _, args := range [][]string{
		{"loadtest"}, // no target
		{"loadtest", "--target", "ftp://127.0.0.1"},
		{"loadtest", "--target", "http://127.0.0.1", "--mix", "dance=3"},
		{"loadtest", "--target", "http://127.0.0.1", "--max-errors", "2"},
		{"loadtest", "--target", "http://127.0.0.1", "--accounts", "a", "--prepare", "b"},
	} {
		_, _, err := ctl(t, nil, args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// A public target is refused before anything is sent (TEST-NET-3 is never routed).
	_, _, err = ctl(t, nil, "loadtest", "--target", "http://203.0.113.9")
	if !errors.Is(err, loadtest.ErrTargetNotAllowed) {
		t.Errorf("public target: %v", err)
	}
}
