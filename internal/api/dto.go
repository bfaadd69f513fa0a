package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
)

// Instant prints a time the way the old server's Jackson did: UTC with a Z,
// and fractional seconds in groups of 3, 6 or 9 digits only as needed.
type Instant time.Time

// MarshalJSON implements json.Marshaler.
func (t Instant) MarshalJSON() ([]byte, error) {
	u := time.Time(t).UTC()
	s := u.Format("2006-01-02T15:04:05")
	switch ns := u.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		s += fmt.Sprintf(".%03d", ns/1e6)
	case ns%1e3 == 0:
		s += fmt.Sprintf(".%06d", ns/1e3)
	default:
		s += fmt.Sprintf(".%09d", ns)
	}
	return []byte(`"` + s + `Z"`), nil
}

// StringList takes a JSON array of strings or one comma-separated string
// (newer clients send either). Entries are trimmed; empty ones and "None"
// (which some clients send for an empty list) are dropped.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var items []string
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		items = strings.Split(s, ",")
	} else if err := json.Unmarshal(b, &items); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string list", Type: reflect.TypeFor[StringList]()}
	}
	out := make(StringList, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" && !strings.EqualFold(it, "none") {
			out = append(out, it)
		}
	}
	*l = out
	return nil
}

// --- responses (field order is the old server's) ---

type preferenceDTO struct {
	DietaryRestrictions []string `json:"dietaryRestrictions"`
	FavoriteCuisines    []string `json:"favoriteCuisines"`
	DislikedIngredients []string `json:"dislikedIngredients"`
	// The released mobile app reads the lists under its own names
	// (docs/API.md, "What the released mobile client calls") and sends
	// them back with each generate-recipes request: without them it would
	// generate ignoring the user's cuisines and dislikes. allergies is the
	// app's name for the disliked ingredients (it sends it as those).
	PreferredCuisines []string `json:"preferredCuisines"`
	Allergies         []string `json:"allergies"`
}

// userDTO is the reference's UserReadDto. refreshToken is kept for wire
// compatibility but always null: tokens appear only in login and refresh.
type userDTO struct {
	ID             string          `json:"id"`
	Email          string          `json:"email"`
	Name           string          `json:"name"`
	Role           mealsync.Role   `json:"role"`
	Status         mealsync.Status `json:"status"`
	UserPreference preferenceDTO   `json:"userPreference"`
	RefreshToken   *refreshDTO     `json:"refreshToken"`
}

type refreshDTO struct {
	Token      string  `json:"token"`
	ExpiryDate Instant `json:"expiryDate"`
}

// userInfoDTO is the reference's UserInfoDto, answered by login and refresh.
type userInfoDTO struct {
	ID             string          `json:"id"`
	Email          string          `json:"email"`
	Name           string          `json:"name"`
	Role           mealsync.Role   `json:"role"`
	Status         mealsync.Status `json:"status"`
	UserPreference preferenceDTO   `json:"userPreference"`
	Token          string          `json:"token"`
	RefreshToken   refreshDTO      `json:"refreshToken"`
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func toPreferenceDTO(p mealsync.Preferences) preferenceDTO {
	return preferenceDTO{nonNil(p.DietaryRestrictions), nonNil(p.FavoriteCuisines), nonNil(p.DislikedIngredients),
		nonNil(p.FavoriteCuisines), nonNil(p.DislikedIngredients)}
}

func toUserDTO(u *mealsync.User) userDTO {
	return userDTO{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status,
		UserPreference: toPreferenceDTO(u.Preferences)}
}

// --- requests ---

const (
	maxEmailLen = 254 // RFC 5321
	maxNameLen  = 100
	maxListLen  = 50
	maxItemLen  = 100
)

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	// Role is accepted and ignored: registration never grants ADMIN.
	Role json.RawMessage `json:"role"`
}

func (r registerRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	checkEmail(&v, r.Email)
	checkPassword(&v, "password", r.Password)
	checkName(&v, r.Name, "Name is required")
	return v
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (r loginRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	checkEmail(&v, r.Email)
	if r.Password == "" {
		v.Add("password", "Password is required")
	} else if len(r.Password) > 1024 {
		v.Add("password", "Password is too long")
	}
	return v
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

func (r refreshRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if strings.TrimSpace(r.RefreshToken) == "" {
		v.Add("refreshToken", "Refresh token is required")
	} else if len(r.RefreshToken) > 512 {
		v.Add("refreshToken", "Refresh token is not valid")
	}
	return v
}

type updateUserRequest struct {
	Name     string  `json:"name"`
	Password *string `json:"password"` // optional; changing it ends every session
	// CurrentPassword is required when users change their own password.
	CurrentPassword string `json:"currentPassword"`
}

func (r updateUserRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	checkName(&v, r.Name, "Name cannot be blank if provided")
	if r.Password != nil {
		checkPassword(&v, "password", *r.Password)
	}
	if len(r.CurrentPassword) > 1024 {
		v.Add("currentPassword", "Password is too long")
	}
	return v
}

type roleRequest struct {
	Role string `json:"role"`
}

func (r roleRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if !mealsync.Role(r.Role).Valid() {
		v.Add("role", "Must be USER or ADMIN")
	}
	return v
}

type statusRequest struct {
	Status string `json:"status"`
}

func (r statusRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if !mealsync.Status(r.Status).Valid() {
		v.Add("status", "Must be ACTIVE, INACTIVE or BANNED")
	}
	return v
}

// preferenceRequest replaces the lists it carries; a missing list keeps the
// stored one and an empty list clears it.
type preferenceRequest struct {
	DietaryRestrictions *StringList `json:"dietaryRestrictions"`
	FavoriteCuisines    *StringList `json:"favoriteCuisines"`
	DislikedIngredients *StringList `json:"dislikedIngredients"`
	// PreferredCuisines is the released mobile app's name for
	// favoriteCuisines (docs/API.md, "What the released mobile client
	// calls"); favoriteCuisines wins when both are sent.
	PreferredCuisines *StringList `json:"preferredCuisines"`
}

// cuisines is the favourite-cuisine list the request carries, under either
// name, and the name it came under (for error messages).
func (r preferenceRequest) cuisines() (*StringList, string) {
	if r.FavoriteCuisines == nil && r.PreferredCuisines != nil {
		return r.PreferredCuisines, "preferredCuisines"
	}
	return r.FavoriteCuisines, "favoriteCuisines"
}

func (r preferenceRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if cuisines, _ := r.cuisines(); r.DietaryRestrictions == nil && cuisines == nil && r.DislikedIngredients == nil {
		v.Add("body", "Give at least one of dietaryRestrictions, favoriteCuisines, dislikedIngredients")
	}
	r.checkLists(&v, "")
	return v
}

// checkLists checks each list that is present, naming fields with prefix.
// The order is fixed (alphabetical), so clients see a stable list of errors.
func (r preferenceRequest) checkLists(v *mealsync.Validation, prefix string) {
	cuisines, cuisinesField := r.cuisines()
	for _, l := range []struct {
		name string
		list *StringList
	}{
		{"dietaryRestrictions", r.DietaryRestrictions},
		{"dislikedIngredients", r.DislikedIngredients},
		{cuisinesField, cuisines},
	} {
		checkList(v, prefix+l.name, l.list)
	}
}

func (r preferenceRequest) apply(p *mealsync.Preferences) {
	if r.DietaryRestrictions != nil {
		p.DietaryRestrictions = *r.DietaryRestrictions
	}
	if cuisines, _ := r.cuisines(); cuisines != nil {
		p.FavoriteCuisines = *cuisines
	}
	if r.DislikedIngredients != nil {
		p.DislikedIngredients = *r.DislikedIngredients
	}
}

// --- field rules ---

func checkEmail(v *mealsync.Validation, email string) {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		v.Add("email", "Email is required")
	case len(email) > maxEmailLen:
		v.Add("email", fmt.Sprintf("Email cannot exceed %d characters", maxEmailLen))
	default:
		a, err := mail.ParseAddress(email)
		_, domain, _ := strings.Cut(email, "@")
		if err != nil || a.Address != email || !strings.Contains(domain, ".") {
			v.Add("email", "Email must be valid")
		}
	}
}

func checkPassword(v *mealsync.Validation, field, pw string) {
	if pw == "" {
		v.Add(field, "Password is required")
		return
	}
	for _, p := range auth.PasswordProblems(pw) {
		v.Add(field, p)
	}
}

func checkName(v *mealsync.Validation, name, blankMsg string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		v.Add("name", blankMsg)
	case utf8.RuneCountInString(name) > maxNameLen:
		v.Add("name", fmt.Sprintf("Name cannot exceed %d characters", maxNameLen))
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add("name", "Name cannot contain control characters")
	}
}

func checkList(v *mealsync.Validation, field string, l *StringList) {
	if l == nil {
		return
	}
	if len(*l) > maxListLen {
		v.Add(field, fmt.Sprintf("At most %d entries", maxListLen))
	}
	for i, it := range *l {
		if utf8.RuneCountInString(it) > maxItemLen {
			v.Add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("Each entry cannot exceed %d characters", maxItemLen))
		}
	}
}

// parseID checks a path id is a UUID; anything else is a client mistake.
func parseID(raw string) (string, error) {
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return "", fieldError("id", "Must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6")
	}
	return id.String(), nil
}
