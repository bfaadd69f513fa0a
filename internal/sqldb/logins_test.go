package sqldb_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync/internal/sqldb"
)

func TestLoginFailures(t *testing.T) {
	const account, address, bystander = "email:cook@example.com", "ip:192.0.2.7", "ip:198.51.100.1"
	t0 := now().Add(-time.Hour)
	record := func(t *testing.T, db *sqldb.DB) {
		t.Helper()
		for _, f := range []struct {
			keys []string
			at   time.Time
		}{
			// Out of order: the oldest is found by time, not by insertion.
			{[]string{account, address}, t0.Add(time.Minute)},
			{[]string{account, address}, t0},
			{[]string{account, address}, t0.Add(2 * time.Minute)},
			{[]string{account}, t0.Add(3 * time.Minute)},
			{[]string{bystander}, t0.Add(time.Minute)},
		} {
			if err := db.RecordLoginAttempt(t.Context(), uuid.NewString(), f.keys, f.at); err != nil {
				t.Fatalf("RecordLoginAttempt: %v", err)
			}
		}
	}
	type count struct {
		key    string
		since  time.Time
		n      int
		oldest time.Time // zero when n is 0
	}
	check := func(t *testing.T, db *sqldb.DB, want []count) {
		t.Helper()
		for _, c := range want {
			n, oldest, err := db.LoginFailures(t.Context(), c.key, c.since)
			if err != nil {
				t.Fatalf("LoginFailures(%s, %v): %v", c.key, c.since, err)
			}
			if n != c.n || !oldest.Equal(c.oldest) {
				t.Errorf("LoginFailures(%s, t0%+v) = %d, %v; want %d, %v",
					c.key, c.since.Sub(t0), n, oldest, c.n, c.oldest)
			}
		}
	}
	tests := []struct {
		name  string
		after func(t *testing.T, db *sqldb.DB) // what happens after the failures are recorded
		want  []count
	}{
		{
			name:  "counted per key within the window",
			after: func(*testing.T, *sqldb.DB) {},
			want: []count{
				{account, t0.Add(-time.Hour), 4, t0},
				{account, t0, 4, t0}, // the window's start is inclusive
				{account, t0.Add(time.Microsecond), 3, t0.Add(time.Minute)},
				{account, t0.Add(2 * time.Minute), 2, t0.Add(2 * time.Minute)},
				{account, t0.Add(4 * time.Minute), 0, time.Time{}},
				{address, t0, 3, t0},
				{address, t0.Add(3 * time.Minute), 0, time.Time{}},
				{bystander, t0, 1, t0.Add(time.Minute)},
				{"email:nobody@example.com", t0, 0, time.Time{}},
			},
		},
		{
			name: "cleared for one key only",
			after: func(t *testing.T, db *sqldb.DB) {
				if err := db.ClearLoginFailures(t.Context(), account); err != nil {
					t.Fatalf("ClearLoginFailures: %v", err)
				}
			},
			want: []count{
				{account, t0, 0, time.Time{}},
				{address, t0, 3, t0},
				{bystander, t0, 1, t0.Add(time.Minute)},
			},
		},
		{
			name: "pruned before a time",
			after: func(t *testing.T, db *sqldb.DB) {
				// Strictly older than t0+1m: the two failures at t0 go.
				n, err := db.PruneLoginFailures(t.Context(), t0.Add(time.Minute))
				if err != nil {
					t.Fatalf("PruneLoginFailures: %v", err)
				}
				if n != 2 {
					t.Errorf("PruneLoginFailures deleted %d rows, want 2", n)
				}
			},
			want: []count{
				{account, time.Time{}, 3, t0.Add(time.Minute)},
				{address, time.Time{}, 2, t0.Add(time.Minute)},
				{bystander, time.Time{}, 1, t0.Add(time.Minute)},
			},
		},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, k := range []string{account, address, bystander} {
					if err := db.ClearLoginFailures(t.Context(), k); err != nil {
						t.Fatal(err)
					}
				}
				record(t, db)
				tt.after(t, db)
				check(t, db, tt.want)
			})
		}
	})
}
