package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

// Preference lists are stored as JSON arrays in one column each: they are
// always read and replaced whole, with the user.
const userColumns = `id, email, name, role, status, password_hash,
	dietary_restrictions, favorite_cuisines, disliked_ingredients, session_epoch, created_at, updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(row rowScanner) (*mealsync.User, error) {
	var u mealsync.User
	var diet, cuisines, disliked string
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Status, &u.PasswordHash,
		&diet, &cuisines, &disliked, &u.SessionEpoch, &u.CreatedAt, &u.UpdatedAt)
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
	if err := u.Validate(); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	_, err := db.exec(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.Email, u.Name, u.Role, u.Status, u.PasswordHash,
		jsonList(u.Preferences.DietaryRestrictions), jsonList(u.Preferences.FavoriteCuisines),
		jsonList(u.Preferences.DislikedIngredients), u.SessionEpoch, u.CreatedAt.UTC(), u.UpdatedAt.UTC())
	if err != nil {
		return fmt.Errorf("create user: %w", db.mapErr(err))
	}
	return nil
}

// UserByID returns ErrNotFound for an unknown id.
func (db *DB) UserByID(ctx context.Context, id string) (*mealsync.User, error) {
	u, err := scanUser(db.conn(ctx).QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
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
	u, err := scanUser(db.conn(ctx).QueryRowContext(ctx,
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
	rows, err := db.conn(ctx).QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
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

// UpdateUser writes the columns upd sets, and only those: a request never
// writes back a value it read earlier, so concurrent changes to different
// fields all survive. With EndSessions the session epoch moves on and every
// refresh token of the user is revoked, in the same transaction.
func (db *DB) UpdateUser(ctx context.Context, id string, upd mealsync.UserUpdate) (*mealsync.User, error) {
	if err := upd.Validate(); err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	var a queryArgs
	a.add(id)
	sets := []string{"updated_at = " + a.add(upd.At.UTC())}
	set := func(column string, v any) { sets = append(sets, column+" = "+a.add(v)) }
	if upd.Name != nil {
		set("name", *upd.Name)
	}
	if upd.PasswordHash != nil {
		set("password_hash", *upd.PasswordHash)
	}
	if upd.Role != nil {
		set("role", *upd.Role)
	}
	if upd.Status != nil {
		set("status", *upd.Status)
	}
	for _, l := range []struct {
		column string
		list   *[]string
	}{
		{"dietary_restrictions", upd.DietaryRestrictions},
		{"favorite_cuisines", upd.FavoriteCuisines},
		{"disliked_ingredients", upd.DislikedIngredients},
	} {
		if l.list != nil {
			set(l.column, jsonList(*l.list))
		}
	}
	if upd.EndSessions {
		sets = append(sets, "session_epoch = session_epoch + 1")
	}
	var u *mealsync.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+`
			WHERE id = $1 RETURNING `+userColumns, a...))
		if err != nil {
			return db.wrap("update user", err)
		}
		if err := db.recordUserChange(ctx, tx, id, upd.At); err != nil || !upd.EndSessions {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $2
			WHERE user_id = $1 AND revoked_at IS NULL`, id, upd.At.UTC())
		return db.wrap("revoke user tokens", err)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ReplacePasswordHash swaps the hash only if it is still oldHash.
func (db *DB) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	replaced := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $3, updated_at = $4
			WHERE id = $1 AND password_hash = $2`, id, oldHash, newHash, at.UTC())
		if err != nil {
			return db.wrap("replace password hash", err)
		}
		n, err := res.RowsAffected()
		if err != nil || n != 1 {
			return db.wrap("replace password hash", err)
		}
		replaced = true
		return db.recordUserChange(ctx, tx, id, at)
	})
	return replaced && err == nil, err
}

// DeleteUser removes a user; its tokens go with it (ON DELETE CASCADE), and
// so do its private recipes, here, in the same transaction. Recipes it
// published stay in the catalogue, ownerless (ON DELETE SET NULL).
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Every recipe the user owned changes: private ones go, published
		// ones lose their owner (ON DELETE SET NULL).
		owned, err := queryIDs(ctx, tx, `SELECT id FROM recipes WHERE owner_id = $1`, id)
		if err != nil {
			return db.wrap("user's recipes", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recipes WHERE owner_id = $1 AND NOT published`, id); err != nil {
			return db.wrap("delete user's recipes", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err := db.expectOne(res, err, "delete user"); err != nil {
			return err
		}
		if err := db.recordUserChange(ctx, tx, id, time.Now()); err != nil || len(owned) == 0 {
			return err
		}
		return db.recordRecipeChanges(ctx, tx, owned...)
	})
}

// queryIDs runs a query of one text column and returns its values.
func queryIDs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
