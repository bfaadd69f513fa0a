package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
)

// POST /api/v1/users/register
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	req, err := decode[registerRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.auth.Register(r.Context(), auth.Registration{
		Email: req.Email, Password: req.Password, Name: req.Name, ClientIP: s.clientIP(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserDTO(u)) // 200, not 201: the old clients expect it
}

// POST /api/v1/users/login
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	sess, err := s.login(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserInfoDTO(sess))
}

// login signs in with the email and password of r's body: the app's login
// and the web app's session both start here.
func (s *Server) login(r *http.Request) (*auth.Session, error) {
	req, err := decode[loginRequest](r)
	if err != nil {
		return nil, err
	}
	return s.auth.Login(r.Context(), strings.TrimSpace(req.Email), req.Password, s.clientIP(r))
}

// POST /api/v1/users/refresh
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	req, err := decode[refreshRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.auth.Refresh(r.Context(), strings.TrimSpace(req.RefreshToken))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserInfoDTO(sess))
}

func toUserInfoDTO(s *auth.Session) userInfoDTO {
	u := s.User
	return userInfoDTO{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status,
		UserPreference: toPreferenceDTO(u.Preferences), Token: s.AccessToken,
		RefreshToken: refreshDTO{Token: s.RefreshToken, ExpiryDate: Instant(s.RefreshExpiry)}}
}

// GET /api/v1/users?role=&status= (admin)
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	q := r.URL.Query()
	f := mealsync.UserFilter{Role: mealsync.Role(q.Get("role")), Status: mealsync.Status(q.Get("status"))}
	var v mealsync.Validation
	if f.Role != "" && !f.Role.Valid() {
		v.Add("role", "Must be USER or ADMIN")
	}
	if f.Status != "" && !f.Status.Valid() {
		v.Add("status", "Must be ACTIVE, INACTIVE or BANNED")
	}
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	users, err := s.users.ListUsers(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userDTO, len(users))
	for i, u := range users {
		out[i] = toUserDTO(u)
	}
	respond(w, http.StatusOK, out)
}

// targetUser resolves {id} under the self-or-admin rule. The rule is
// checked before the lookup, so a non-admin cannot probe which ids exist.
func (s *Server) targetUser(r *http.Request, me *mealsync.User) (*mealsync.User, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !me.CanAccess(id) {
		return nil, errAccessDenied
	}
	if id == me.ID {
		return me, nil
	}
	u, err := s.users.UserByID(r.Context(), id)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, userNotFound(id)
	}
	return u, err
}

// GET /api/v1/users/{id} (self or admin)
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	u, err := s.targetUser(r, me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserDTO(u))
}

// PUT /api/v1/users/{id} (self or admin)
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	u, err := s.targetUser(r, me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decode[updateUserRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err = s.auth.UpdateProfile(r.Context(), me, u.ID, auth.ProfileChange{
		Name: req.Name, NewPassword: req.Password, CurrentPassword: req.CurrentPassword, ClientIP: s.clientIP(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserDTO(u))
}

// PUT /api/v1/users/{id}/preference (self or admin)
func (s *Server) handleUpdatePreference(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	u, err := s.targetUser(r, me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decode[preferenceRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Only the lists sent are written: two devices changing different lists
	// at once both keep their change.
	cuisines, _ := req.cuisines()
	u, err = s.users.UpdateUser(r.Context(), u.ID, mealsync.UserUpdate{
		DietaryRestrictions: (*[]string)(req.DietaryRestrictions),
		FavoriteCuisines:    (*[]string)(cuisines),
		DislikedIngredients: (*[]string)(req.DislikedIngredients),
		At:                  s.now(),
	})
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		err = userNotFound(u.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserDTO(u))
}

// PUT /api/v1/users/{id}/role (admin, not on oneself) — ends the user's sessions.
func (s *Server) handleSetRole(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	adminChange(s, w, r, func(ctx context.Context, id string, req roleRequest) (*mealsync.User, error) {
		return s.auth.SetRole(ctx, me, id, mealsync.Role(req.Role))
	})
}

// PUT /api/v1/users/{id}/status (admin, not on oneself) — ends the user's sessions.
func (s *Server) handleSetStatus(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	adminChange(s, w, r, func(ctx context.Context, id string, req statusRequest) (*mealsync.User, error) {
		return s.auth.SetStatus(ctx, me, id, mealsync.Status(req.Status))
	})
}

// adminChange reads the user id and a T body, makes the change and answers
// with the user as it now is.
func adminChange[T validator](s *Server, w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, id string, req T) (*mealsync.User, error)) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decode[T](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := change(r.Context(), id, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserDTO(u))
}

// POST /api/v1/users/{id}/logout-all (self or admin) — every access token of
// the user stops working on every instance, every refresh token is revoked.
func (s *Server) handleLogoutAll(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	u, err := s.targetUser(r, me)
	if err == nil {
		err = s.auth.EndSessions(r.Context(), u.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /api/v1/users/{id} (admin)
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The account leaves its household as the other members see it (a
	// change in its feed) in the transaction that deletes it.
	err = s.db.InTransaction(r.Context(), func(ctx context.Context) error {
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if err := s.households.RemoveAccount(ctx, u); err != nil {
			return err
		}
		return s.users.DeleteUser(ctx, id)
	})
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		err = userNotFound(id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
