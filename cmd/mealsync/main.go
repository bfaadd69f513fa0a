// Command mealsync is the MealSync server: `serve` (the default), `migrate`,
// `seed`, `healthcheck`, `backup`, `restore` and `version`. Configuration is
// read from MEALSYNC_* environment variables; see the README's table.
package main

import (
	"context"
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
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mealsync:", err)
		os.Exit(1)
	}
}
