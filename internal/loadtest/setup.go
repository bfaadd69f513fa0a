package loadtest

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxBusyRetries bounds how often a sign-up or sign-in that the server
// answered 503 (no password-hashing slot free) is tried again.
const maxBusyRetries = 10

// setup readies every user's account before the clock starts: prepared
// accounts sign in; without them, new accounts sign up, then sign in. Then
// each user sets its preferences, as the app's onboarding does. At most
// SetupConcurrency at once: sign-ups and sign-ins cost the server a
// password hash each.
func (e *engine) setup(ctx context.Context, users []*user, rep *Report) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.SetupTimeout)
	defer cancel()
	run, pw := runID(), newPassword()
	var registered, signedIn, resumed atomic.Int64
	err := forEach(ctx, e.opts.SetupConcurrency, users, func(ctx context.Context, u *user) error {
		if s := u.acct.Session; s != nil {
			// Signed in and onboarded in an earlier run: the app resumes.
			u.id, u.access, u.renew, u.fresh = s.UserID, s.AccessToken, s.RefreshToken, s.Issued
			resumed.Add(1)
			return nil
		}
		if e.opts.Accounts == nil {
			u.acct = Account{Email: emailFor(run, u.n), Password: pw}
			if err := e.register(ctx, u); err != nil {
				return err
			}
			registered.Add(1)
		}
		if err := e.setupSignIn(ctx, u); err != nil {
			return err
		}
		signedIn.Add(1)
		_, err := e.setupCall(ctx, u, call{name: reqPreference, method: http.MethodPut, path: "/api/v1/users/" + url.PathEscape(u.id) + "/preference",
			body: e.vocab.Preferences(u.rng), token: u.access}, "preferences")
		return err
	})
	rep.Setup.Registered = int(registered.Load())
	rep.Setup.SignedIn = int(signedIn.Load())
	rep.Setup.Resumed = int(resumed.Load())
	if e.opts.Accounts != nil {
		rep.Setup.FromFile = e.opts.Users
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, errSetup) {
		return fmt.Errorf("the setup phase did not finish within --setup-timeout %s (%d of %d users signed in)",
			e.opts.SetupTimeout, signedIn.Load(), len(users))
	}
	return err
}

// errSetup marks a setup failure the server explained.
var errSetup = errors.New("setup failed")

// register signs u's account up.
func (e *engine) register(ctx context.Context, u *user) error {
	body := map[string]string{"email": u.acct.Email, "password": u.acct.Password, "name": "Load Test User " + strconv.Itoa(u.n+1)}
	o, err := e.setupCall(ctx, u, call{name: reqRegister, method: http.MethodPost, path: "/api/v1/users/register", body: body}, "sign-up")
	if err != nil {
		if o.status == http.StatusTooManyRequests {
			return fmt.Errorf("%w: the server refused sign-up %d with 429 Too Many Requests (%s): it throttles sign-ups per "+
				"client address (MEALSYNC_REGISTER_MAX_PER_ADDRESS, 20 per 10 minutes by default). Start the server with "+
				"MEALSYNC_REGISTER_MAX_PER_ADDRESS=0 for the test, spread users over client addresses (--source-addrs), "+
				"or sign accounts up once with --prepare FILE, slowly, and reuse them with --accounts FILE", errSetup, u.n+1, o.msg)
		}
		return err
	}
	return nil
}

// setupSignIn signs u in.
func (e *engine) setupSignIn(ctx context.Context, u *user) error {
	var s session
	body := map[string]string{"email": u.acct.Email, "password": u.acct.Password}
	o, err := e.setupCall(ctx, u, call{name: reqLogin, method: http.MethodPost, path: "/api/v1/users/login", body: body, out: &s}, "sign-in")
	switch {
	case err != nil && o.status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: the server refused the sign-in of %s with 429 Too Many Requests (%s): nginx allows 5 sign-ins a "+
			"minute per client address and the app locks an address out after failed ones; spread users over client "+
			"addresses (--source-addrs) or sign in against the instance directly", errSetup, u.acct.Email, o.msg)
	case err != nil && o.status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s cannot sign in (%s): is the accounts file from this server?", errSetup, u.acct.Email, o.msg)
	case err != nil:
		return err
	}
	u.id, u.access, u.renew, u.fresh = s.Data.ID, s.Data.Token, s.Data.RefreshToken.Token, o.done
	return nil
}

// setupCall sends a setup request, retrying while the server is busy
// hashing (503 with Retry-After); any other failure is an error that says
// what the server answered.
func (e *engine) setupCall(ctx context.Context, u *user, c call, what string) (outcome, error) {
	c.explain = true
	for attempt := 1; ; attempt++ {
		at := e.opts.Now()
		o := e.step(ctx, u, phaseSetup, &at, false, c)
		switch {
		case o.ok():
			return o, nil
		case o.kind == kindCancelled || ctx.Err() != nil:
			return o, context.Cause(ctx)
		case o.status == http.StatusServiceUnavailable && attempt < maxBusyRetries:
			wait := time.Second
			if s, err := strconv.Atoi(o.retry); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 10*time.Second)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return o, context.Cause(ctx)
			}
			continue
		case o.kind == KindStatus:
			return o, fmt.Errorf("%w: %s of %s: HTTP %d %s", errSetup, what, u.acct.Email, o.status, o.msg)
		default:
			return o, fmt.Errorf("%w: %s of %s: %s error: %v", errSetup, what, u.acct.Email, o.kind, o.err)
		}
	}
}

// forEach calls fn for every user, at most n at once; the first error
// cancels the others and is returned.
func forEach(ctx context.Context, n int, users []*user, fn func(context.Context, *user) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan *user)
	var wg sync.WaitGroup
	for range min(n, len(users)) {
		wg.Go(func() {
			for u := range next {
				if err := fn(ctx, u); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, u := range users {
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// newPassword is a run's password for its accounts: letters and a digit,
// as the server's rules want.
func newPassword() string {
	var b [8]byte
	crand.Read(b[:])
	return "Lt" + hex.EncodeToString(b[:]) + "9"
}

// Prepare signs up opts.Users new accounts and writes them to path (created
// with mode 0600; an existing file is an error, checked before anything is
// signed up), for later runs' --accounts. Accounts signed up before a
// failure are written too. It returns how many it signed up.
func Prepare(ctx context.Context, opts Options, path string) (int, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return 0, err
	}
	e, err := newEngine(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer e.cancelReq()
	users := e.newUsers()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.SetupTimeout)
	defer cancel()
	run, pw := runID(), newPassword()
	ok := make([]bool, len(users))
	regErr := forEach(ctx, opts.SetupConcurrency, users, func(ctx context.Context, u *user) error {
		u.acct = Account{Email: emailFor(run, u.n), Password: pw}
		if err := e.register(ctx, u); err != nil {
			return err
		}
		ok[u.n] = true
		return nil
	})
	var accts []Account
	for i, u := range users {
		if ok[i] {
			accts = append(accts, u.acct)
		}
	}
	werr := WriteAccounts(f, accts)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return len(accts), fmt.Errorf("write %s: %w (%d accounts were signed up)", path, werr, len(accts))
	}
	if regErr != nil {
		return len(accts), fmt.Errorf("%w (the %d accounts signed up before are in %s)", regErr, len(accts), path)
	}
	return len(accts), nil
}
