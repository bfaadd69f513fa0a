package testenv

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Substitution says how Substitute adapts the repository's nginx
// configuration, written for the official container, to a run on loopback
// by an ordinary process. It is the whole difference between the config the
// tests run and the one production runs; nginx/README.md documents it.
type Substitution struct {
	// Prefix is an absolute directory: every absolute file path in the
	// config is moved under it (/var/log/nginx/access.log becomes
	// Prefix/var/log/nginx/access.log).
	Prefix string
	// Ports maps each port the config listens on to the loopback port to
	// listen on instead.
	Ports map[int]int
	// User replaces the user directive's value; "" removes the directive
	// (nginx only honours it when started as root).
	User string
}

// pathDirectives take a file path as their first argument.
var pathDirectives = map[string]bool{
	"pid": true, "error_log": true, "access_log": true, "include": true,
	"client_body_temp_path": true, "proxy_temp_path": true, "fastcgi_temp_path": true,
	"uwsgi_temp_path": true, "scgi_temp_path": true,
	"ssl_certificate": true, "ssl_certificate_key": true, "ssl_trusted_certificate": true,
	"ssl_dhparam": true, "ssl_password_file": true, "root": true, "alias": true,
}

// directive matches a one-line simple directive: indent, name, arguments, ";"
// and whatever follows (a comment).
var directive = regexp.MustCompile(`^(\s*)([a-z_0-9]+)((?:\s+[^;#{}\s]+)*)\s*;(.*)$`)

// Substitute rewrites one nginx configuration file's text, line by line:
//
//   - user: set to s.User, or removed when s.User is "";
//   - listen [addr:]port ...: becomes listen 127.0.0.1:s.Ports[port] ... with
//     the other parameters kept; IPv6 listens ([::]:port) are removed;
//   - the absolute path argument of pid, error_log, access_log, include, the
//     *_temp_path directives, ssl_certificate, ssl_certificate_key,
//     ssl_trusted_certificate, ssl_dhparam, ssl_password_file, root and alias
//     is moved under s.Prefix. Relative paths (include upstream.conf) are
//     left alone: nginx resolves them against the config's directory.
//
// Nothing else changes. These directives must each fit on one line.
// Substitute returns the new text and the moved paths, so the caller can
// create their directories.
func Substitute(conf string, s Substitution) (string, []string, error) {
	if !filepath.IsAbs(s.Prefix) {
		return "", nil, fmt.Errorf("substitute: prefix %q is not absolute", s.Prefix)
	}
	var out []string
	var moved []string
	for n, line := range strings.Split(conf, "\n") {
		m := directive.FindStringSubmatch(line)
		if m == nil {
			if name := firstWord(line); name == "listen" || name == "user" || pathDirectives[name] {
				return "", nil, fmt.Errorf("substitute: line %d: %s must be a one-line directive: %q", n+1, name, line)
			}
			out = append(out, line)
			continue
		}
		indent, name, args, rest := m[1], m[2], strings.Fields(m[3]), m[4]
		switch {
		case name == "user":
			if s.User == "" {
				continue
			}
			args = []string{s.User}
		case name == "listen":
			if len(args) == 0 {
				return "", nil, fmt.Errorf("substitute: line %d: listen without an address", n+1)
			}
			if strings.HasPrefix(args[0], "[") {
				continue
			}
			port, err := listenPort(args[0])
			if err != nil {
				return "", nil, fmt.Errorf("substitute: line %d: %v", n+1, err)
			}
			to, ok := s.Ports[port]
			if !ok {
				return "", nil, fmt.Errorf("substitute: line %d: no loopback port given for listen port %d", n+1, port)
			}
			args[0] = "127.0.0.1:" + strconv.Itoa(to)
		case pathDirectives[name] && len(args) > 0 && strings.HasPrefix(args[0], "/"):
			args[0] = filepath.Join(s.Prefix, args[0])
			moved = append(moved, args[0])
		default:
			out = append(out, line)
			continue
		}
		out = append(out, indent+name+" "+strings.Join(args, " ")+";"+rest)
	}
	return strings.Join(out, "\n"), moved, nil
}

// listenPort is the port of a listen directive's address: "80",
// "0.0.0.0:80" or "localhost:80".
func listenPort(addr string) (int, error) {
	p := addr
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		p = p[i+1:]
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0, fmt.Errorf("listen %q: not a port (unix sockets are not supported)", addr)
	}
	return port, nil
}

func firstWord(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[0], ";")
}

var serverLine = regexp.MustCompile(`^(\s*)server\s+(\S+)((?:\s+[^;\s]+)*)\s*;\s*$`)

// SubstituteUpstream rewrites an upstream.conf (the format documented at the
// top of nginx/upstream.conf) to list servers instead of its own: the server
// lines are replaced by one line per address, each with the parameters of the
// file's first server line (max_fails=1 fail_timeout=1s), and the backup lines
// by one backup line per address with the parameters of the first backup line
// (backup max_fails=0), as mealsyncctl writes them; everything else, zone,
// least_conn and keepalive included, is kept.
func SubstituteUpstream(conf string, servers []string) (string, error) {
	if len(servers) == 0 {
		return "", fmt.Errorf("substitute upstream: no servers")
	}
	var out []string
	done, backupsDone := false, false
	for _, line := range strings.Split(conf, "\n") {
		m := serverLine.FindStringSubmatch(line)
		if m == nil {
			out = append(out, line)
			continue
		}
		backup := slices.Contains(strings.Fields(m[3]), "backup")
		if backup && backupsDone || !backup && done {
			continue
		}
		for _, addr := range servers {
			out = append(out, m[1]+"server "+addr+m[3]+";")
		}
		if backup {
			backupsDone = true
		} else {
			done = true
		}
	}
	if !done {
		return "", fmt.Errorf("substitute upstream: no server line to replace")
	}
	return strings.Join(out, "\n"), nil
}
