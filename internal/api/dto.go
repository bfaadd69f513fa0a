package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

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

// Limits of a list in a query string (?tags=a,b): as many entries, as
// long, as a preference list may hold.
const (
	maxQueryTerms = mealsync.MaxPreferenceEntries
	maxQueryTerm  = mealsync.MaxPreferenceEntry
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
	v.Include("", mealsync.ValidateEmail(r.Email))
	checkPassword(&v, "password", r.Password)
	v.Include("", mealsync.ValidateUserName(r.Name))
	return v
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (r loginRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	v.Include("", mealsync.ValidateEmail(r.Email))
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
	v.Include("", mealsync.UserUpdate{Name: &r.Name}.Validate())
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

// checkLists checks each list that is present (mealsync.Preferences'
// rules), naming fields with prefix.
func (r preferenceRequest) checkLists(v *mealsync.Validation, prefix string) {
	var p mealsync.Preferences
	r.apply(&p)
	var checked mealsync.Validation
	checked.Include("", p.Validate())
	// Name the cuisine list as the client sent it.
	_, cuisinesField := r.cuisines()
	for _, f := range checked {
		if name, ok := strings.CutPrefix(f.Field, "favoriteCuisines"); ok {
			f.Field = cuisinesField + name
		}
		v.Add(prefix+f.Field, f.Message)
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

func checkPassword(v *mealsync.Validation, field, pw string) {
	if pw == "" {
		v.Add(field, "Password is required")
		return
	}
	for _, p := range auth.PasswordProblems(pw) {
		v.Add(field, p)
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
