package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Account is a user's sign-in.
type Account struct {
	Email    string
	Password string
	// Session, when set, is the account's session from an earlier run in the
	// same process: the setup phase resumes it instead of signing in, as the
	// app keeps its session between launches (a series of runs on one server
	// then pays each password hash once). Run leaves each user's latest
	// session here when it ends. Never written to an accounts file.
	Session *Session
}

// Session is a signed-in account's tokens.
type Session struct {
	UserID       string
	AccessToken  string
	RefreshToken string
	Issued       time.Time // when AccessToken was issued; it is refreshed TokenTTL after
}

// ReadAccounts reads accounts, one "email:password" a line (the password
// may hold colons; blank lines and lines starting with # are skipped), as
// WriteAccounts writes them.
func ReadAccounts(r io.Reader) ([]Account, error) {
	var out []Account
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		email, pw, ok := strings.Cut(line, ":")
		if !ok || email == "" || pw == "" || !strings.Contains(email, "@") {
			return nil, fmt.Errorf("line %d: expected email:password", n)
		}
		out = append(out, Account{Email: email, Password: pw})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no accounts in it")
	}
	return out, nil
}

// ReadAccountsFile reads a file WriteAccountsFile wrote.
func ReadAccountsFile(path string) ([]Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	accts, err := ReadAccounts(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return accts, nil
}

// WriteAccounts writes accounts as ReadAccounts reads them.
func WriteAccounts(w io.Writer, accts []Account) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# mealsyncctl loadtest accounts: email:password, one a line")
	for _, a := range accts {
		fmt.Fprintf(bw, "%s:%s\n", a.Email, a.Password)
	}
	return bw.Flush()
}

// WriteAccountsFile creates path (mode 0600: it holds passwords) with the
// accounts. It never overwrites a file: an existing one is an error.
func WriteAccountsFile(path string, accts []Account) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := WriteAccounts(f, accts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
