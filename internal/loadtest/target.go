package loadtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
)

// ErrTargetNotAllowed is returned for a target outside loopback and the
// private ranges, unless the operator says they own it.
var ErrTargetNotAllowed = errors.New("target not allowed")

// Resolver looks host names up; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckTarget resolves the target's host and refuses it unless every
// address it resolves to is a loopback or private one (10/8, 172.16/12,
// 192.168/16, fc00::/7): a load test is an attack on anyone else's server.
// allowAny (--i-own-this-target) lifts the rule. It returns the addresses.
func CheckTarget(ctx context.Context, u *url.URL, allowAny bool, r Resolver) ([]netip.Addr, error) {
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		if r == nil {
			r = net.DefaultResolver
		}
		found, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, a := range found {
			addrs = append(addrs, a.Unmap())
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	if allowAny {
		return addrs, nil
	}
	for _, a := range addrs {
		if !a.IsLoopback() && !a.IsPrivate() {
			return nil, fmt.Errorf("%w: %s is %s, neither loopback nor a private address; "+
				"load-test only servers you run (pass --i-own-this-target if this one is yours)", ErrTargetNotAllowed, host, a)
		}
	}
	return addrs, nil
}

// autoSourcePrefix is where "auto" takes loopback client addresses from:
// 2 million of them, clear of 127.0.0.1.
var autoSourcePrefix = netip.MustParsePrefix("127.96.0.0/11")

// parseSourceAddrs reads --source-addrs: "auto", "none" or an IPv4 CIDR.
// The prefix is invalid for auto and none.
func parseSourceAddrs(s string) (netip.Prefix, error) {
	switch s {
	case "auto", "none":
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not auto, none or a CIDR such as 127.96.0.0/11", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q: only IPv4 ranges are supported", s)
	}
	return p.Masked(), nil
}

// sourceAddrs returns the client address of each of n users, or nil when
// the system should choose (none, or auto towards a target that is not on
// loopback). Host parts ending in .0 or .255 are skipped.
func sourceAddrs(spec string, target []netip.Addr, n int) ([]netip.Addr, error) {
	p, err := parseSourceAddrs(spec)
	if err != nil {
		return nil, err
	}
	switch spec {
	case "none":
		return nil, nil
	case "auto":
		for _, a := range target {
			if !a.IsLoopback() || !a.Is4() {
				return nil, nil
			}
		}
		p = autoSourcePrefix
	}
	base := binary.BigEndian.Uint32(p.Addr().AsSlice())
	size := uint64(1) << (32 - p.Bits())
	out := make([]netip.Addr, 0, n)
	for off := uint64(1); off < size && len(out) < n; off++ {
		v := base + uint32(off)
		if b := byte(v); b == 0 || b == 255 {
			continue
		}
		var ip [4]byte
		binary.BigEndian.PutUint32(ip[:], v)
		out = append(out, netip.AddrFrom4(ip))
	}
	if len(out) < n {
		return nil, fmt.Errorf("%s holds %d usable addresses, fewer than the %d users", p, len(out), n)
	}
	return out, nil
}
