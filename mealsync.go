// Package mealsync is the domain of the MealSync backend: its types, its
// sentinel errors and the storage interfaces the business logic needs.
//
// It must import neither net/http nor database/sql: adapters (internal/api,
// internal/sqldb) depend on it, never the other way round.
package mealsync

import "time"

// Clock tells the time. Production code uses time.Now; tests inject a clock
// they control, so expiry and throttling windows are tested without sleeping.
type Clock func() time.Time
