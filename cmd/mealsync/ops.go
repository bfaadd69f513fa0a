package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// opsServer is the ops listener (MEALSYNC_OPS_ADDR): the actuator endpoints
// that are not for the public. When it is off, every method is a no-op and
// done never delivers.
type opsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error // Serve's result, wrapped; one value
}

// listenOps binds the ops listener, so a taken port stops the start before
// anything is served; addr "" means off.
func listenOps(addr string, h http.Handler, log *slog.Logger) (*opsServer, error) {
	o := &opsServer{done: make(chan error, 1)}
	if addr == "" {
		return o, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops listener (MEALSYNC_OPS_ADDR, or off): %w", err)
	}
	o.ln = ln
	o.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(log),
	}
	return o, nil
}

func (o *opsServer) serve() {
	if o.srv == nil {
		return
	}
	o.done <- fmt.Errorf("ops server: %w", o.srv.Serve(o.ln))
}

// addr is where it listens, "off" when it does not.
func (o *opsServer) addr() string {
	if o.ln == nil {
		return "off"
	}
	return o.ln.Addr().String()
}

// shutdown stops it like the main server: no new connections, the running
// requests finish within ctx.
func (o *opsServer) shutdown(ctx context.Context) error {
	if o.srv == nil {
		return nil
	}
	if err := o.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("ops shutdown: %w", err)
	}
	if err := <-o.done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// close stops it at once (an early return of serve); a no-op after shutdown.
func (o *opsServer) close() {
	if o.srv != nil {
		o.srv.Close()
	}
}
