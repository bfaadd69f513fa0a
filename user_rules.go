package mealsync

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Limits of a user and their preferences.
const (
	MaxEmail             = 254 // RFC 5321
	MaxUserName          = 100
	MaxPreferenceEntries = 50  // entries in one preference list
	MaxPreferenceEntry   = 100 // characters in one entry
)

// Validate reports every problem with u's profile at once (EINVALID, fields
// named as the API names them). The password is the auth service's rule:
// only its hash is here.
func (u *User) Validate() error {
	var v Validation
	checkEmail(&v, u.Email)
	checkUserName(&v, u.Name, "Name is required")
	if !u.Role.Valid() {
		v.Add("role", "Must be USER or ADMIN")
	}
	if !u.Status.Valid() {
		v.Add("status", "Must be ACTIVE, INACTIVE or BANNED")
	}
	u.Preferences.check(&v, "")
	return v.Err()
}

// Validate reports every problem with the fields upd sets.
func (upd UserUpdate) Validate() error {
	var v Validation
	if upd.Name != nil {
		checkUserName(&v, *upd.Name, "Name cannot be blank if provided")
	}
	if upd.Role != nil && !upd.Role.Valid() {
		v.Add("role", "Must be USER or ADMIN")
	}
	if upd.Status != nil && !upd.Status.Valid() {
		v.Add("status", "Must be ACTIVE, INACTIVE or BANNED")
	}
	deref := func(l *[]string) []string {
		if l == nil {
			return nil
		}
		return *l
	}
	Preferences{deref(upd.DietaryRestrictions), deref(upd.FavoriteCuisines), deref(upd.DislikedIngredients)}.check(&v, "")
	return v.Err()
}

// Validate reports every problem with p's lists.
func (p Preferences) Validate() error {
	var v Validation
	p.check(&v, "")
	return v.Err()
}

// check records p's problems, naming fields with prefix, in a fixed
// (alphabetical) order so that clients see a stable list of errors.
func (p Preferences) check(v *Validation, prefix string) {
	for _, l := range []struct {
		name string
		list []string
	}{
		{"dietaryRestrictions", p.DietaryRestrictions},
		{"dislikedIngredients", p.DislikedIngredients},
		{"favoriteCuisines", p.FavoriteCuisines},
	} {
		field := prefix + l.name
		if len(l.list) > MaxPreferenceEntries {
			v.Add(field, fmt.Sprintf("At most %d entries", MaxPreferenceEntries))
		}
		for i, it := range l.list {
			switch {
			case !ValidText(it):
				v.Add(fmt.Sprintf("%s[%d]", field, i), "Must be valid UTF-8 text without NUL characters")
			case utf8.RuneCountInString(it) > MaxPreferenceEntry:
				v.Add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("Each entry cannot exceed %d characters", MaxPreferenceEntry))
			}
		}
	}
}

// ValidateEmail checks an address as accounts hold it: trimmed, one plain
// address (no display name) whose domain has a dot.
func ValidateEmail(email string) error {
	var v Validation
	checkEmail(&v, email)
	return v.Err()
}

func checkEmail(v *Validation, email string) {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		v.Add("email", "Email is required")
	case len(email) > MaxEmail:
		v.Add("email", fmt.Sprintf("Email cannot exceed %d characters", MaxEmail))
	default:
		a, err := mail.ParseAddress(email)
		_, domain, _ := strings.Cut(email, "@")
		if err != nil || a.Address != email || !strings.Contains(domain, ".") {
			v.Add("email", "Email must be valid")
		}
	}
}

func checkUserName(v *Validation, name, blankMsg string) {
	name = strings.TrimSpace(name)
	switch {
	case !ValidText(name):
		v.Add("name", "Must be valid UTF-8 text without NUL characters")
	case name == "":
		v.Add("name", blankMsg)
	case utf8.RuneCountInString(name) > MaxUserName:
		v.Add("name", fmt.Sprintf("Name cannot exceed %d characters", MaxUserName))
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add("name", "Name cannot contain control characters")
	}
}

// ValidateUserName checks a user's name as accounts hold it (trimmed).
func ValidateUserName(name string) error {
	var v Validation
	checkUserName(&v, name, "Name is required")
	return v.Err()
}
