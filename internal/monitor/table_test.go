package monitor

import (
	"strings"
	"testing"
	"time"
)

func TestTableCells(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{durationCell(45 * time.Second), "45s"},
		{durationCell(12*time.Minute + 5*time.Second), "12m05s"},
		{durationCell(3*time.Hour + 7*time.Minute + 59*time.Second), "3h07m"},
		{durationCell(52 * time.Hour), "2d04h"},
		{uptimeCell(nil), "-"},
		{rateCell(nil), "-"},
		{rateCell(ptr(0.04)), "0.0"},
		{rateCell(ptr(12.345)), "12.3"},
		{rateCell(ptr(1234.5)), "1234"},
		{latencyCell(ptr(0.00412)), "4.1ms"},
		{latencyCell(ptr(0.1666)), "167ms"},
		{latencyCell(ptr(2.5)), "2.50s"},
		{latencyCell(nil), "-"},
		{percentCell(ptr(0.05)), "5.0%"},
		{percentCell(nil), "-"},
		{dbCell(ptr(3), ptr(10)), "3/10"},
		{dbCell(ptr(3), ptr(0)), "3/unlimited"},
		{dbCell(nil, nil), "-"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTableWithoutInstancesSaysWhatToDo(t *testing.T) {
	var b strings.Builder
	if err := WriteTable(&b, Frame{Time: t0, Interval: DefaultInterval}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.Contains(got, "0/0 ready") || !strings.Contains(got, "last deploy: none recorded") ||
		!strings.Contains(got, "no instances: deploy first, or name them with --targets") {
		t.Errorf("table:\n%s", got)
	}
}

func TestTableNotesARestart(t *testing.T) {
	var b strings.Builder
	f := Frame{Time: t0, Interval: DefaultInterval, Instances: []Snapshot{
		{Name: "i1", Version: "1.4.0", Ready: true, Restarted: true, RequestRate: ptr(3.5)},
		{Name: "i2", Version: "1.4.0", Ready: false},
	}}
	if err := WriteTable(&b, f); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[3], "NOTE") || !strings.HasSuffix(lines[4], "restarted since the last refresh") {
		t.Errorf("table:\n%s", b.String())
	}
	if f := strings.Fields(lines[5]); f[2] != "DOWN" {
		t.Errorf("a not-ready instance's READY = %q, want DOWN", f[2])
	}
}
