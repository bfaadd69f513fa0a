// Package mealsync is the domain of the MealSync backend: its types, its
// sentinel errors and the storage interfaces the business logic needs.
//
// It must import neither net/http nor database/sql nor any package of the
// module: adapters (internal/api, internal/sqldb) depend on it, never the
// other way round. docs/ARCHITECTURE.md draws the layers; imports_test.go
// fails when an import points the wrong way.
package mealsync

import "time"

// Clock tells the time. Production code uses time.Now; tests inject a clock
// they control, so expiry and throttling windows are tested without sleeping.
type Clock func() time.Time
