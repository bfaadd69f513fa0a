package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
)

// ProfileChange is an update of a user's own details. NewPassword, when
// set, replaces the password; a user changing their own must also give the
// current one (an admin resetting another's does not).
type ProfileChange struct {
	Name            string
	NewPassword     *string
	CurrentPassword string
	ClientIP        string // for the throttle on current-password guesses
}

var (
	errCurrentPasswordRequired = &mealsync.Error{Code: mealsync.EINVALID, Message: "validation failed",
		Fields: []mealsync.FieldError{{Field: "currentPassword", Message: "Current password is required to change the password"}}}
	errCurrentPasswordWrong = &mealsync.Error{Code: mealsync.EINVALID, Message: "validation failed",
		Fields: []mealsync.FieldError{{Field: "currentPassword", Message: "Current password is incorrect"}}}
	errOwnRoleOrStatus = mealsync.Errorf(mealsync.EFORBIDDEN, "Admins cannot change their own role or status")
)

// UpdateProfile changes the name of the user with id and, optionally, the
// password, on behalf of actor (the user themself or an admin; the caller
// checks that rule). A new password ends every session of the user: every
// access token stops working and every refresh token is revoked.
func (s *Service) UpdateProfile(ctx context.Context, actor *mealsync.User, id string, ch ProfileChange) (*mealsync.User, error) {
	name := strings.TrimSpace(ch.Name)
	upd := mealsync.UserUpdate{Name: &name, At: s.now().UTC()}
	if ch.NewPassword != nil {
		if actor.ID == id {
			if ch.CurrentPassword == "" {
				return nil, errCurrentPasswordRequired
			}
			if err := s.checkCurrentPassword(ctx, actor, ch.CurrentPassword, ch.ClientIP); err != nil {
				return nil, err
			}
		}
		hash, err := s.hashes.hash(ctx, *ch.NewPassword)
		if err != nil {
			return nil, err
		}
		upd.PasswordHash, upd.EndSessions = &hash, true
	}
	return s.update(ctx, id, upd)
}

// checkCurrentPassword verifies a password its owner typed again, throttled
// as logins are (per account and per address): a stolen access token must
// not become a way to guess the password, and then to change it.
func (s *Service) checkCurrentPassword(ctx context.Context, u *mealsync.User, pw, clientIP string) error {
	now := s.now().UTC()
	keys := []string{"email:" + strings.ToLower(u.Email)}
	if clientIP != "" {
		keys = append(keys, "ip:"+clientIP)
	}
	attempt := uuid.NewString()
	if err := s.attempts.RecordLoginAttempt(ctx, attempt, keys, now); err != nil {
		return err
	}
	forget := func() error { return s.attempts.ForgetLoginAttempt(context.WithoutCancel(ctx), attempt) }
	if err := s.throttled(ctx, keys, now); err != nil {
		return errors.Join(err, forget())
	}
	ok, _, err := s.hashes.verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return errors.Join(err, forget())
	}
	if !ok {
		return errCurrentPasswordWrong // the recorded attempt stays: a failure
	}
	return forget()
}

// SetRole gives the user with id another role, on an admin's behalf, and
// ends the user's sessions: what a token was issued for no longer holds.
func (s *Service) SetRole(ctx context.Context, actor *mealsync.User, id string, role mealsync.Role) (*mealsync.User, error) {
	if actor.ID == id {
		return nil, errOwnRoleOrStatus // an admin cannot lock the last admin out by mistake
	}
	return s.update(ctx, id, mealsync.UserUpdate{Role: &role, EndSessions: true, At: s.now().UTC()})
}

// SetStatus activates, deactivates or bans the user with id, on an admin's
// behalf, and ends the user's sessions.
func (s *Service) SetStatus(ctx context.Context, actor *mealsync.User, id string, status mealsync.Status) (*mealsync.User, error) {
	if actor.ID == id {
		return nil, errOwnRoleOrStatus
	}
	return s.update(ctx, id, mealsync.UserUpdate{Status: &status, EndSessions: true, At: s.now().UTC()})
}

// EndSessions signs the user with id out everywhere: every access token
// stops working on every instance at once, every refresh token is revoked.
func (s *Service) EndSessions(ctx context.Context, id string) error {
	_, err := s.update(ctx, id, mealsync.UserUpdate{EndSessions: true, At: s.now().UTC()})
	return err
}

// update writes upd, with the reference's message for an unknown user.
func (s *Service) update(ctx context.Context, id string, upd mealsync.UserUpdate) (*mealsync.User, error) {
	u, err := s.users.UpdateUser(ctx, id, upd)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, mealsync.Errorf(mealsync.ENOTFOUND, "User not found with id: %s", id)
	}
	return u, err
}
