package backup

import "context"

// WithToolGlobs replaces where the client tools are looked for after PATH
// (none when globs is empty).
func WithToolGlobs(o Options, globs ...string) Options {
	o.toolGlobs = append([]string{}, globs...)
	return o
}

// WithAfterSnapshot runs f once a PostgreSQL backup's snapshot is taken and
// before pg_dump starts.
func WithAfterSnapshot(o Options, f func(ctx context.Context) error) Options {
	o.afterSnapshot = f
	return o
}
