// Command mealsyncctl is the operator's CLI for MealSync releases: it deploys
// a new release behind nginx without dropping a request, rolls it back
// automatically when it misbehaves, rolls back on demand, scales, and shows
// the state and history. The engine is internal/rollout; this package only
// reads flags and prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintln(os.Stderr, "mealsyncctl:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "mealsyncctl:", err)
	os.Exit(1)
}
