// Package loadtest is `mealsyncctl loadtest`: a load generator that plays
// MealSync's real traffic. It runs N virtual users, each with its own
// account and its own keep-alive connection, each looping think time →
// one action of the mobile app (browse the catalogue with realistic
// filters, open a recipe, recommendations, save, meal plans, …), and
// reports honest latency: every request is timed from the moment the
// user's schedule meant to send it, so a stalled server cannot hide its
// stall (no coordinated omission).
//
// Everything the command does lives here, where it is tested; the CLI
// package only reads flags and prints. The package talks to MealSync only
// over HTTP: it must not import the server's packages (api, sqldb, auth,
// config). It reads the starter catalogue (internal/catalog) for the
// vocabulary of its queries.
package loadtest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of the command's flags.
const (
	DefaultUsers            = 100
	DefaultThink            = 15 * time.Second
	DefaultRampUp           = 30 * time.Second
	DefaultDuration         = time.Minute
	DefaultTimeout          = 30 * time.Second
	DefaultMaxRequests      = 2_000_000
	DefaultMaxErrors        = 0.05
	DefaultTokenTTL         = 15 * time.Minute
	DefaultSetupConcurrency = 4
	DefaultSetupTimeout     = 15 * time.Minute

	// minErrorSample is how many requests must have completed before the
	// error ratio can stop a run: one early failure is not 100 % errors.
	minErrorSample = 20
)

// Options describe one load test. The zero value of a field means its
// default (see Defaults); Validate reports every problem at once.
type Options struct {
	// Target is the base URL users talk to, e.g. http://127.0.0.1:80 (nginx)
	// or http://127.0.0.1:8081 (one instance).
	Target string
	// AllowAnyTarget lifts the rule that the target must be a loopback or
	// private address (--i-own-this-target).
	AllowAnyTarget bool

	Users    int
	Think    time.Duration // mean think time between two actions of a user (exponential)
	RampUp   time.Duration // users start evenly over this time
	Duration time.Duration // the steady phase, after the ramp-up
	Mix      Mix           // action weights; nil: DefaultMix
	Seed     uint64        // 0: a random seed (printed in the report)

	Timeout     time.Duration // one request's limit
	MaxRequests int64         // requests of the ramp-up and steady phases; then the run stops
	MaxErrors   float64       // error ratio (0..1) that aborts the run; 1 never aborts

	// TokenTTL is the server's access-token lifetime
	// (MEALSYNC_ACCESS_TOKEN_TTL): a user refreshes its token before then,
	// as the app does.
	TokenTTL time.Duration

	// Accounts are prepared accounts (ReadAccounts); when nil, the setup
	// phase registers Users new ones.
	Accounts []Account
	// SetupConcurrency bounds the sign-ups and logins in flight during the
	// setup phase (each costs the server a ~20 ms password hash).
	SetupConcurrency int
	SetupTimeout     time.Duration

	// SourceAddrs spreads users over client addresses: "auto" (one loopback
	// address per user when the target is on loopback, as real users come
	// from many addresses and nginx limits each), "none", or a CIDR.
	SourceAddrs string

	// Now and the clock are injectable for tests; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Users == 0 {
		o.Users = DefaultUsers
	}
	if o.Think == 0 {
		o.Think = DefaultThink
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.SetupConcurrency == 0 {
		o.SetupConcurrency = DefaultSetupConcurrency
	}
	if o.SetupTimeout == 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
	if o.Mix == nil {
		o.Mix = DefaultMix()
	}
	if o.SourceAddrs == "" {
		o.SourceAddrs = "auto"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports every problem of the options at once (zero fields take
// their defaults first).
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := parseTarget(o.Target); err != nil {
		bad("target: %v", err)
	}
	if o.Users < 1 {
		bad("users must be at least 1")
	}
	if o.Think <= 0 {
		bad("think time must be positive")
	}
	if o.RampUp < 0 {
		bad("ramp-up must not be negative")
	}
	if o.Duration <= 0 {
		bad("duration must be positive")
	}
	if o.Timeout <= 0 {
		bad("timeout must be positive")
	}
	if o.MaxRequests < 1 {
		bad("max-requests must be at least 1")
	}
	if o.MaxErrors <= 0 || o.MaxErrors > 1 {
		bad("max-errors must be a ratio in (0, 1]; 1 never aborts")
	}
	if o.TokenTTL < time.Second {
		bad("token-ttl must be at least 1s")
	}
	if o.SetupConcurrency < 1 {
		bad("setup-concurrency must be at least 1")
	}
	if err := o.Mix.validate(); err != nil {
		bad("mix: %v", err)
	}
	if o.Accounts != nil && len(o.Accounts) < o.Users {
		bad("the accounts file has %d accounts; %d users need as many", len(o.Accounts), o.Users)
	}
	if _, err := parseSourceAddrs(o.SourceAddrs); err != nil {
		bad("source-addrs: %v", err)
	}
	return errors.Join(errs...)
}

// parseTarget checks that s is a base URL: http or https, a host, no query.
func parseTarget(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("no target URL given")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: the scheme must be http or https", s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: expected a base URL without user, query or fragment", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}
