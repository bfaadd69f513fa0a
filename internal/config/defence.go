package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultOpsAddr is where the ops listener (/actuator/info, /prometheus,
// /metrics) listens unless told otherwise: loopback, so a server
// reachable from the internet without nginx in front still keeps them
// private. Containers set MEALSYNC_OPS_ADDR=:9081 and keep the port off the
// host (docker-compose.*.yml).
const DefaultOpsAddr = "127.0.0.1:9081"

// opsOff is the MEALSYNC_OPS_ADDR value that turns the ops listener off.
const opsOff = "off"

// opsAddr reads the ops listener's address; "off" is "" (no listener). An
// empty value is the default, as for every variable here: an env file's
// `MEALSYNC_OPS_ADDR=` must not silently switch metrics off.
func (r *reader) opsAddr(name, def string) string {
	v := r.str(name, def)
	if strings.EqualFold(v, opsOff) {
		return ""
	}
	return v
}

func (c *Config) validateOps() error {
	if c.OpsAddr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(c.OpsAddr)
	if err != nil {
		return fmt.Errorf("MEALSYNC_OPS_ADDR: %q is not host:port (or off)", c.OpsAddr)
	}
	if c.OpsAddr == c.Addr && port != "0" { // port 0: any free port, a different one each
		return fmt.Errorf("MEALSYNC_OPS_ADDR: %q is MEALSYNC_ADDR too; the ops listener needs a port of its own", c.OpsAddr)
	}
	return nil
}

func opsAddrText(addr string) string {
	if addr == "" {
		return opsOff
	}
	return addr
}

// origins reads a comma-separated list of browser origins, each normalised
// to what a browser sends in its Origin header, every bad one reported.
func (r *reader) origins(name string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(r.str(name, ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		o, err := parseOrigin(f)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %q %w", name, f, err))
			continue
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// parseOrigin checks that s is one exact origin, scheme://host[:port] with
// http or https and nothing after it, and returns it in lower case. A
// wildcard is refused: the policy names every site it lets in. So is a
// port the scheme implies, which a browser never sends and so would never
// match.
func parseOrigin(s string) (string, error) {
	if strings.Contains(s, "*") {
		return "", errors.New("is a wildcard: list every allowed origin instead")
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return "", errors.New("is not an origin like https://app.example.com")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return "", errors.New("has no host")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#") {
		return "", errors.New("must be scheme://host[:port] alone: no path (not even a trailing /), query or user")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(p)
		switch {
		case err != nil || n < 1 || n > 65535:
			return "", errors.New("has an invalid port")
		case (scheme == "http" && n == 80) || (scheme == "https" && n == 443):
			return "", fmt.Errorf("names port %d, which browsers leave out of the origin: drop it", n)
		}
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}
