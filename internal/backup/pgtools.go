package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// defaultToolGlobs is where Debian and Ubuntu install each PostgreSQL
// major's client tools; a newer one may be there without being first on
// PATH.
var defaultToolGlobs = []string{"/usr/lib/postgresql/*/bin"}

// tool is one installed copy of pg_dump or pg_restore.
type tool struct {
	path string
	version
}

var toolVersionRE = regexp.MustCompile(`\(PostgreSQL\)\s+((\d+)[0-9.]*)`)

// findTools lists every runnable copy of name: those on PATH first, then
// those of the Debian layout.
func findTools(ctx context.Context, name string, opt Options) ([]tool, error) {
	dirs := filepath.SplitList(opt.getenv("PATH"))
	globs := opt.toolGlobs
	if globs == nil {
		globs = defaultToolGlobs
	}
	for _, g := range globs {
		m, _ := filepath.Glob(g) // the patterns are constants
		dirs = append(dirs, m...)
	}
	seen := map[string]bool{}
	var found []tool
	for _, d := range dirs {
		if d == "" || !filepath.IsAbs(d) { // never run a program from the working directory
			continue
		}
		p := filepath.Join(d, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if seen[real] {
				continue
			}
			seen[real] = true
		}
		v, err := toolVersion(ctx, p)
		if err != nil {
			continue
		}
		found = append(found, tool{path: p, version: v})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: no %s on PATH or in %s: install the PostgreSQL client tools (Debian: postgresql-client)",
			ErrToolMissing, name, strings.Join(globs, ", "))
	}
	return found, nil
}

// toolVersion asks a tool for its version ("pg_dump (PostgreSQL) 15.18 …").
func toolVersion(ctx context.Context, path string) (version, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return version{}, err
	}
	m := toolVersionRE.FindSubmatch(out)
	if m == nil {
		return version{}, fmt.Errorf("%s --version: unexpected answer %q", path, out)
	}
	return version{text: string(m[1]), major: leadingInt(string(m[2]))}, nil
}

// newest returns the newest of found (the first of equals) and whether its
// major version is at least need.
func newest(found []tool, need int) (tool, bool) {
	best := found[0]
	for _, t := range found[1:] {
		if t.major > best.major {
			best = t
		}
	}
	return best, best.major >= need
}

// pgConn is a connection URL split for the client tools: the password goes
// to PGPASSWORD, so it never shows in a process list.
type pgConn struct {
	dsn      string // the URL without its password
	password string
}

func parseConn(raw string) (pgConn, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Never echo the URL: it may hold the password.
		return pgConn{}, errors.New("the database URL does not parse as postgres://…")
	}
	var c pgConn
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			c.password = p
			u.User = url.User(u.User.Username())
		}
	}
	if q := u.Query(); q.Has("password") {
		if c.password == "" {
			c.password = q.Get("password")
		}
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	c.dsn = u.String()
	return c, nil
}

// passedEnv is what the client tools get of the environment: PATH and the
// locale for themselves, HOME for ~/.pgpass and ~/.postgresql/ (client
// certificates), PGCLUSTER for Debian's wrapper, and libpq's settings.
var passedEnv = []string{
	"PATH", "HOME", "LANG", "LC_ALL", "LC_MESSAGES", "TMPDIR", "TZ", "PGCLUSTER",
	"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGPASSFILE",
	"PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGOPTIONS", "PGAPPNAME", "PGCONNECT_TIMEOUT",
	"PGCLIENTENCODING", "PGTARGETSESSIONATTRS", "PGTZ", "PGREQUIRESSL", "PGGSSENCMODE", "PGKRBSRVNAME",
	"PGSSLMODE", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI",
}

func toolEnv(opt Options, c pgConn) []string {
	var env []string
	for _, k := range passedEnv {
		if k == "PGPASSWORD" && c.password != "" {
			continue
		}
		if v := opt.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if c.password != "" {
		env = append(env, "PGPASSWORD="+c.password)
	}
	return env
}

// runTool runs a client tool and turns a failure into an error that
// carries the end of its output (never the password, which it was not
// given in its arguments).
func runTool(ctx context.Context, t tool, c pgConn, opt Options, args ...string) error {
	cmd := exec.CommandContext(ctx, t.path, args...)
	cmd.Env = toolEnv(opt, c)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s %s failed (%v): %s", filepath.Base(t.path), t.text, err, msg)
	}
	return nil
}
