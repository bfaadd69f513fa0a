package auth

import (
	"context"
	"sync"
	"testing"

	"github.com/mealsync/mealsync"
)

// TestLoginThrottleHoldsUnderParallelGuesses fires many wrong guesses at
// once: no more than MaxLoginFailures of them may reach the password check;
// the rest must be refused, however they interleave.
func TestLoginThrottleHoldsUnderParallelGuesses(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *serviceEnv) {
		e.mustRegister(t, "race@example.com")
		const guesses = 20
		codes := make(chan string, guesses)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < guesses; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := e.svc.Login(context.Background(), "race@example.com", "wrong guess 1", "")
				codes <- mealsync.ErrorCode(err)
			}()
		}
		close(start)
		wg.Wait()
		close(codes)
		count := map[string]int{}
		for c := range codes {
			count[c]++
		}
		if count[mealsync.EUNAUTHORIZED] > testConfig.MaxLoginFailures || count[mealsync.EUNAUTHORIZED]+count[mealsync.ETOOMANY] != guesses {
			t.Fatalf("outcomes %v: at most %d guesses may be checked, the rest refused", count, testConfig.MaxLoginFailures)
		}
	})
}
