package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultInterval is how often the live view refreshes, as the issue asks.
const DefaultInterval = 2 * time.Second

// Options configure Run.
type Options struct {
	// Targets lists the instances to watch. Live mode calls it before every
	// refresh, so instances a deploy starts or stops come and go; when it
	// fails the last list read is kept and the error shown.
	Targets func() ([]Target, error)
	// LastDeploy returns the last deploy or rollback (nil if none); nil means
	// the frame says "none recorded". Its error is shown, never fatal.
	LastDeploy func() (*Deploy, error)
	// Interval between refreshes, and the interval a one-shot run measures
	// its rates over; 0 means DefaultInterval.
	Interval time.Duration
	// Once prints one frame and returns. It scrapes twice, Interval apart, so
	// that the rates (req/s, p95, 5xx%) are real numbers a script can use.
	Once bool
	// JSON prints each frame as one line of JSON (see WriteJSON) instead of
	// a table.
	JSON bool
	// Redraw draws each table over the previous one with plain ANSI escapes
	// (home, clear to end of line and screen), for a terminal, SSH included.
	// Without it live tables are appended, each headed by its time, which
	// suits a log file or a pipe. Set it to IsTerminal(Out); JSON ignores it.
	Redraw bool
	Out    io.Writer
	// Clock tells the time and paces refreshes; nil means the real one.
	Clock Clock
	// Scraper reads the instances; nil means one with DefaultTimeout.
	Scraper *Scraper
}

// Clock is the time source of Run, swapped out by tests.
type Clock interface {
	Now() time.Time
	// Ticker sends on the channel every d until stop is called.
	Ticker(d time.Duration) (ticks <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Ticker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// IsTerminal reports whether w is a terminal (a character device), where the
// live view should redraw in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Run shows the instances until ctx is cancelled (live mode, which then
// returns nil) or, with Once, prints one frame and returns. It fails only
// when it cannot start (no instance list, nothing to watch in a one-shot
// run) or cannot write its output; unreachable instances are rows, not
// errors.
func Run(ctx context.Context, o Options) error {
	if o.Targets == nil || o.Out == nil {
		return errors.New("monitor: Options.Targets and Options.Out are required")
	}
	if o.Interval < 0 {
		return fmt.Errorf("monitor: interval %s: must be positive", o.Interval)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Scraper == nil {
		o.Scraper = &Scraper{}
	}
	targets, err := o.Targets()
	if err != nil {
		return fmt.Errorf("reading the instance list: %w", err)
	}
	if o.Once && len(targets) == 0 {
		return ErrNoTargets
	}
	r := &runner{o: o, targets: targets}

	ticks, stop := o.Clock.Ticker(o.Interval)
	defer stop()
	frame := r.refresh(ctx, false)
	if o.Once {
		// The first scrape is only the baseline of the rates.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticks:
		}
		frame = r.refresh(ctx, false)
		if err := ctx.Err(); err != nil {
			return err
		}
		return r.write(frame)
	}
	for {
		if ctx.Err() != nil {
			return nil // the refresh was cut short; do not show it
		}
		if err := r.write(frame); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
		frame = r.refresh(ctx, true)
	}
}

type runner struct {
	o        Options
	targets  []Target
	counters Counters
	frames   int
}

// refresh scrapes every instance once; reread asks for the instance list
// again first.
func (r *runner) refresh(ctx context.Context, reread bool) Frame {
	f := Frame{Interval: r.o.Interval}
	if reread {
		if ts, err := r.o.Targets(); err != nil {
			f.TargetsError = err.Error()
		} else {
			r.targets = ts
		}
	}
	if r.o.LastDeploy != nil {
		d, err := r.o.LastDeploy()
		if err != nil {
			f.DeployError = err.Error()
		}
		f.LastDeploy = d
	}
	f.Time = r.o.Clock.Now()
	f.Instances, r.counters = r.o.Scraper.Collect(ctx, f.Time, r.targets, r.counters)
	return f
}

// ANSI escapes understood by every terminal emulator worth the name.
const (
	ansiHome        = "\x1b[H"
	ansiClearScreen = "\x1b[2J"
	ansiClearLine   = "\x1b[K" // to the end of the line
	ansiClearBelow  = "\x1b[J" // to the end of the screen
)

func (r *runner) write(f Frame) error {
	defer func() { r.frames++ }()
	if r.o.JSON {
		return WriteJSON(r.o.Out, f)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, f); err != nil {
		return err
	}
	var out bytes.Buffer
	switch {
	case r.o.Once:
		out.Write(table.Bytes())
	case !r.o.Redraw:
		if r.frames > 0 {
			out.WriteByte('\n') // a blank line between tables, each headed by its time
		}
		out.Write(table.Bytes())
	default:
		// Overwrite in place rather than clear first, so the screen never
		// goes blank between frames (no flicker over a slow SSH link).
		if r.frames == 0 {
			out.WriteString(ansiClearScreen)
		}
		out.WriteString(ansiHome)
		out.Write(bytes.ReplaceAll(table.Bytes(), []byte("\n"), []byte(ansiClearLine+"\n")))
		out.WriteString(ansiClearBelow)
	}
	_, err := r.o.Out.Write(out.Bytes())
	return err
}
