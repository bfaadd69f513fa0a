package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mealsync/mealsync"
)

// Preference lists are stored as JSON arrays in one column each: they are
// always read and replaced whole, with the user.
const userColumns = `id, email, name, role, status, password_hash,
	dietary_restrictions, favorite_cuisines, disliked_ingredients, created_at, updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(row rowScanner) (*mealsync.User, error) {
	var u mealsync.User
	var diet, cuisines, disliked string
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Status, &u.PasswordHash,
		&diet, &cuisines, &disliked, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{diet, &u.Preferences.DietaryRestrictions}, {cuisines, &u.Preferences.FavoriteCuisines}, {disliked, &u.Preferences.DislikedIngredients}} {
		if err := json.Unmarshal([]byte(l.raw), l.dst); err != nil {
			return nil, fmt.Errorf("user %s: preferences: %w", u.ID, err)
		}
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// CreateUser inserts u. u.ID, CreatedAt and UpdatedAt must be set.
func (db *DB) CreateUser(ctx context.Context, u *mealsync.User) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Email, u.Name, u.Role, u.Status, u.PasswordHash,
		jsonList(u.Preferences.DietaryRestrictions), jsonList(u.Preferences.FavoriteCuisines),
		jsonList(u.Preferences.DislikedIngredients), u.CreatedAt.UTC(), u.UpdatedAt.UTC())
	if err != nil {
		return fmt.Errorf("create user: %w", db.mapErr(err))
	}
	return nil
}

// UserByID returns ErrNotFound for an unknown id.
func (db *DB) UserByID(ctx context.Context, id string) (*mealsync.User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("user by id: %w", db.mapErr(err))
	}
	return u, nil
}

// UserByEmail matches case-insensitively (index users_email_lower_key). Both
// sides go through the database's lower(), the function the unique index
// uses: Go's strings.ToLower folds non-ASCII letters that SQLite's lower()
// leaves alone, so with it an address like "Élodie@…" could not find itself.
func (db *DB) UserByEmail(ctx context.Context, email string) (*mealsync.User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", db.mapErr(err))
	}
	return u, nil
}

// ListUsers returns users oldest first (index users_role_status_idx serves
// the filters).
func (db *DB) ListUsers(ctx context.Context, f mealsync.UserFilter) ([]*mealsync.User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE 1 = 1`
	var args []any
	if f.Role != "" {
		args = append(args, f.Role)
		q += fmt.Sprintf(" AND role = $%d", len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", db.mapErr(err))
	}
	defer rows.Close()
	users := []*mealsync.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// UpdateUser writes the mutable fields of u; with endSessions it revokes the
// user's refresh tokens in the same transaction.
func (db *DB) UpdateUser(ctx context.Context, u *mealsync.User, endSessions bool) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = $2, role = $3, status = $4,
			password_hash = $5, dietary_restrictions = $6, favorite_cuisines = $7,
			disliked_ingredients = $8, updated_at = $9 WHERE id = $1`,
			u.ID, u.Name, u.Role, u.Status, u.PasswordHash,
			jsonList(u.Preferences.DietaryRestrictions), jsonList(u.Preferences.FavoriteCuisines),
			jsonList(u.Preferences.DislikedIngredients), u.UpdatedAt.UTC())
		if err := db.expectOne(res, err, "update user"); err != nil || !endSessions {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $2
			WHERE user_id = $1 AND revoked_at IS NULL`, u.ID, u.UpdatedAt.UTC())
		if err != nil {
			return fmt.Errorf("revoke user tokens: %w", db.mapErr(err))
		}
		return nil
	})
}

// SetPasswordHash replaces the hash alone.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`,
		id, hash, at.UTC())
	return db.expectOne(res, err, "set password hash")
}

// DeleteUser removes a user; its tokens go with it (ON DELETE CASCADE), and
// so do its private recipes, here, in the same transaction. Recipes it
// published stay in the catalogue, ownerless (ON DELETE SET NULL).
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recipes WHERE owner_id = $1 AND NOT published`, id); err != nil {
			return db.wrap("delete user's recipes", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err := db.expectOne(res, err, "delete user"); err != nil {
			return err
		}
		return db.bumpCatalogueVersion(ctx, tx)
	})
}

// expectOne turns "no row affected" into ErrNotFound.
func (db *DB) expectOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, db.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, mealsync.ErrNotFound)
	}
	return nil
}

// nullTime scans a nullable timestamp.
func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
