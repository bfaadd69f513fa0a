package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Upstream is the nginx upstream file (nginx/upstream.conf): exactly one
// `upstream NAME { … }` block that nginx.conf includes. Apply rewrites its
// server lines and keeps every other directive in the block (zone,
// least_conn, keepalive…) and the parameters of its server lines (max_fails,
// fail_timeout) as the file had them, so the nginx config stays the one
// place that decides them. Each address is written twice: once as a server,
// and once as a backup server never marked failed (`backup max_fails=0`),
// which nginx falls back to when passive health has marked every server.
type Upstream struct {
	File  string       // path of upstream.conf
	Name  string       // the block's name, "mealsync_app"
	Nginx NginxControl // how to test and reload the nginx that includes it
}

// NginxControl tests and reloads one nginx.
type NginxControl interface {
	Test(ctx context.Context) (output string, err error) // nginx -t
	Reload(ctx context.Context) error                    // nginx -s reload
}

var _ Proxy = (*Upstream)(nil)

// DefaultUpstreamName is the block nginx.conf proxies to.
const DefaultUpstreamName = "mealsync_app"

// Defaults for a file that does not exist yet; they match nginx/upstream.conf.
var (
	defaultDirectives   = []string{"least_conn;", "keepalive 32;", "keepalive_timeout 4s;", "keepalive_time 2s;"}
	defaultServerParams = "max_fails=1 fail_timeout=1s"
	defaultBackupParams = "backup max_fails=0"
)

// emptyServer keeps an upstream with no instance valid: nginx refuses an
// empty block but accepts a server marked down (clients get 502 at once).
const emptyServer = "127.0.0.1:1"

const upstreamHeader = "# Written by mealsyncctl at every deploy, rollback and scale: edits to the server\n" +
	"# lines are overwritten. Other directives and the servers' parameters are kept.\n"

const mirrorComment = "    # The same instances again, never marked failed: used only when every one above is.\n"

// Apply writes addrs into the file atomically, runs `nginx -t`, and reloads.
// When the test fails it puts the previous file back and returns a
// *ConfigRejectedError; nginx keeps running its last good config either way.
func (u *Upstream) Apply(ctx context.Context, addrs []string) error {
	prev, err := os.ReadFile(u.File)
	existed := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	next, err := renderUpstream(prev, u.name(), addrs)
	if err != nil {
		return fmt.Errorf("%s: %w", u.File, err)
	}
	if err := WriteFileAtomic(u.File, next, 0o644); err != nil {
		return fmt.Errorf("write upstream: %w", err)
	}
	restore := func() error {
		if !existed {
			return os.Remove(u.File)
		}
		return WriteFileAtomic(u.File, prev, 0o644)
	}
	if out, err := u.Nginx.Test(ctx); err != nil {
		if rerr := restore(); rerr != nil {
			return fmt.Errorf("nginx -t failed (%v: %s) and restoring %s failed too: %w", err, lastLine(out), u.File, rerr)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &ConfigRejectedError{Output: strings.TrimSpace(out)}
	}
	if err := u.Nginx.Reload(ctx); err != nil {
		// nginx still runs the previous config: keep the file saying so.
		restore()
		return fmt.Errorf("nginx reload: %w", err)
	}
	return nil
}

// Servers returns the addresses of the block's servers, leaving out the
// placeholder of an empty upstream and servers marked down.
func (u *Upstream) Servers() ([]string, error) {
	b, err := os.ReadFile(u.File)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	blk, err := parseUpstream(b, u.name())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.File, err)
	}
	var out []string
	for _, s := range blk.servers {
		if !s.down && !s.backup {
			out = append(out, s.addr)
		}
	}
	return out, nil
}

func (u *Upstream) name() string {
	if u.Name == "" {
		return DefaultUpstreamName
	}
	return u.Name
}

type upstreamServer struct {
	addr, params string
	down, backup bool
}

type upstreamBlock struct {
	before, after []string // lines outside the block
	directives    []string // lines inside it that are not server lines
	servers       []upstreamServer
	found         bool
}

var (
	blockStart = regexp.MustCompile(`^\s*upstream\s+(\S+)\s*\{\s*$`)
	serverLine = regexp.MustCompile(`^\s*server\s+(\S+)((?:\s+[^;]*)?);\s*(#.*)?$`)
)

// parseUpstream finds the named block in an nginx include file written in
// the one-directive-per-line style of nginx/upstream.conf.
func parseUpstream(b []byte, name string) (upstreamBlock, error) {
	var blk upstreamBlock
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	in := false
	for _, line := range lines {
		switch {
		case !in && !blk.found:
			if m := blockStart.FindStringSubmatch(line); m != nil && m[1] == name {
				in, blk.found = true, true
				continue
			}
			if strings.HasPrefix(line, "# Written by mealsyncctl") || strings.HasPrefix(line, "# lines are overwritten.") {
				continue // our own header: written again below
			}
			blk.before = append(blk.before, line)
		case in:
			t := strings.TrimSpace(line)
			if t == "}" {
				in = false
				continue
			}
			if m := serverLine.FindStringSubmatch(line); m != nil {
				params := strings.TrimSpace(m[2])
				sv := upstreamServer{addr: m[1], params: params}
				for _, p := range strings.Fields(params) {
					sv.down = sv.down || p == "down"
					sv.backup = sv.backup || p == "backup"
				}
				blk.servers = append(blk.servers, sv)
				continue
			}
			if t == strings.TrimSpace(mirrorComment) {
				continue // ours: written again below
			}
			if t != "" {
				blk.directives = append(blk.directives, t)
			}
		default:
			blk.after = append(blk.after, line)
		}
	}
	if in {
		return blk, fmt.Errorf("upstream %s: no closing brace", name)
	}
	if len(b) > 0 && !blk.found {
		return blk, fmt.Errorf("no `upstream %s {` block", name)
	}
	return blk, nil
}

// renderUpstream returns prev with the named block's servers set to addrs.
func renderUpstream(prev []byte, name string, addrs []string) ([]byte, error) {
	blk, err := parseUpstream(prev, name)
	if err != nil {
		return nil, err
	}
	directives := blk.directives
	if !blk.found {
		directives = append([]string{"zone " + name + " 64k;"}, defaultDirectives...)
	}
	// The parameters of the first live server line and of the first backup
	// line, or the defaults when there is none (a new file, or only the
	// placeholder of an empty one).
	params, backupParams := defaultServerParams, defaultBackupParams
	for _, s := range blk.servers {
		if !s.down && !s.backup {
			params = s.params
			break
		}
	}
	for _, s := range blk.servers {
		if s.backup {
			backupParams = s.params
			break
		}
	}
	var b bytes.Buffer
	b.WriteString(upstreamHeader)
	for _, l := range trimBlank(blk.before) {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "upstream %s {\n", name)
	for _, d := range directives {
		b.WriteString("    " + d + "\n")
	}
	if len(addrs) == 0 {
		fmt.Fprintf(&b, "    server %s down;  # no instance is serving\n", emptyServer)
	}
	for _, a := range addrs {
		if params == "" {
			fmt.Fprintf(&b, "    server %s;\n", a)
		} else {
			fmt.Fprintf(&b, "    server %s %s;\n", a, params)
		}
	}
	if len(addrs) > 0 {
		b.WriteString(mirrorComment)
	}
	for _, a := range addrs {
		fmt.Fprintf(&b, "    server %s %s;\n", a, backupParams)
	}
	b.WriteString("}\n")
	for _, l := range trimBlank(blk.after) {
		b.WriteString(l + "\n")
	}
	return b.Bytes(), nil
}

func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
