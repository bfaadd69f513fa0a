package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

var _ mealsync.HouseholdStore = (*DB)(nil)

// The stored forms of what a change records, fixed here so that renaming a
// domain field cannot change what the feed already holds.
type (
	storedHousehold struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		OwnerID   string    `json:"ownerId"`
		Revision  int64     `json:"revision"`
		CreatedAt time.Time `json:"createdAt"`
	}
	storedMember struct {
		UserID   string    `json:"userId"`
		Name     string    `json:"name"`
		Role     string    `json:"role"`
		JoinedAt time.Time `json:"joinedAt"`
	}
	storedItem struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Quantity  string    `json:"quantity"`
		Unit      string    `json:"unit"`
		Category  string    `json:"category"`
		Note      string    `json:"note"`
		Checked   bool      `json:"checked"`
		Position  int64     `json:"position"`
		AddedBy   string    `json:"addedBy"`
		CreatedAt time.Time `json:"createdAt"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	storedMealPlan struct {
		ID          string       `json:"id"`
		UserID      string       `json:"userId"`
		StartDate   string       `json:"startDate"` // YYYY-MM-DD
		Days        int          `json:"days"`
		MealsPerDay int          `json:"mealsPerDay"`
		Meals       []storedMeal `json:"meals"`
		CreatedAt   time.Time    `json:"createdAt"`
	}
	storedMeal struct {
		Day      int    `json:"day"`
		MealType string `json:"mealType"`
		RecipeID string `json:"recipeId,omitempty"`
	}
)

func toStoredMealPlan(p *mealsync.MealPlan) storedMealPlan {
	s := storedMealPlan{ID: p.ID, UserID: p.UserID, StartDate: p.StartDate.Format(dateLayout), Days: p.Days,
		MealsPerDay: p.MealsPerDay, Meals: make([]storedMeal, len(p.Meals)), CreatedAt: p.CreatedAt.UTC()}
	for i, m := range p.Meals {
		s.Meals[i] = storedMeal{Day: m.Day, MealType: m.MealType}
		if m.Recipe != nil {
			s.Meals[i].RecipeID = m.Recipe.ID
		}
	}
	return s
}

func (s storedMealPlan) mealPlan(householdID string) (*mealsync.MealPlan, error) {
	start, err := time.Parse(dateLayout, s.StartDate)
	if err != nil {
		return nil, err
	}
	p := &mealsync.MealPlan{ID: s.ID, UserID: s.UserID, HouseholdID: householdID, StartDate: start, Days: s.Days,
		MealsPerDay: s.MealsPerDay, Meals: make([]mealsync.PlannedMeal, len(s.Meals)), CreatedAt: s.CreatedAt}
	for i, m := range s.Meals {
		p.Meals[i] = mealsync.PlannedMeal{Day: m.Day, MealType: m.MealType}
		if m.RecipeID != "" {
			p.Meals[i].Recipe = &mealsync.Recipe{ID: m.RecipeID}
		}
	}
	return p, nil
}

// CreateHousehold makes h, revision 1, with owner as its one member.
func (db *DB) CreateHousehold(ctx context.Context, h *mealsync.Household, owner mealsync.Member) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("create household %s: %w", h.ID, err)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		h.Revision = 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO households (id, name, owner_id, revision, created_at)
			VALUES ($1, $2, $3, 1, $4)`, h.ID, h.Name, h.OwnerID, h.CreatedAt.UTC()); err != nil {
			return db.wrap("create household", err)
		}
		ht := &householdTx{db: db, tx: tx, hid: h.ID, rev: 1, op: mealsync.Op{HouseholdID: h.ID, UserID: owner.UserID, At: h.CreatedAt}}
		if err := ht.PutMember(ctx, owner); err != nil {
			return err
		}
		if err := ht.PutHousehold(ctx, h); err != nil {
			return err
		}
		return ht.flush(ctx)
	})
}

// HouseholdOf returns the household userID is a member of.
func (db *DB) HouseholdOf(ctx context.Context, userID string) (*mealsync.Household, error) {
	var h mealsync.Household
	err := db.conn(ctx).QueryRowContext(ctx, `SELECT h.id, h.name, h.owner_id, h.revision, h.created_at
		FROM households h JOIN household_members m ON m.household_id = h.id WHERE m.user_id = $1`, userID).
		Scan(&h.ID, &h.Name, &h.OwnerID, &h.Revision, &h.CreatedAt)
	if err != nil {
		return nil, db.wrap("household of user", err)
	}
	h.CreatedAt = h.CreatedAt.UTC()
	return &h, nil
}

// HouseholdMembers returns a household's members, longest-standing first.
func (db *DB) HouseholdMembers(ctx context.Context, householdID string) ([]mealsync.Member, error) {
	return db.members(ctx, db.conn(ctx), householdID)
}

// Apply runs one operation under the household's lock (see the interface).
func (db *DB) Apply(ctx context.Context, op mealsync.Op, fn func(tx mealsync.HouseholdTx) (json.RawMessage, error)) (mealsync.OpResult, error) {
	var res mealsync.OpResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var current int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM households WHERE id = $1`+db.dialect.RowLock, op.HouseholdID).Scan(&current)
		if err != nil {
			return db.wrap("lock household", err)
		}
		if op.OpID != "" {
			var body string
			err := tx.QueryRowContext(ctx, `SELECT revision, result FROM household_ops WHERE household_id = $1 AND op_id = $2`,
				op.HouseholdID, op.OpID).Scan(&res.Revision, &body)
			switch {
			case err == nil:
				res.Body, res.Replayed = json.RawMessage(body), true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return db.wrap("household op", err)
			}
		}
		ht := &householdTx{db: db, tx: tx, hid: op.HouseholdID, rev: current + 1, op: op}
		body, err := fn(ht)
		if err != nil {
			return err
		}
		res.Revision, res.Body = current, body
		if len(ht.changes) > 0 {
			res.Revision = ht.rev
			if _, err := tx.ExecContext(ctx, `UPDATE households SET revision = $2 WHERE id = $1`, op.HouseholdID, ht.rev); err != nil {
				return db.wrap("household revision", err)
			}
			if err := ht.flush(ctx); err != nil {
				return err
			}
		}
		if op.OpID != "" {
			if body == nil {
				body = json.RawMessage("null")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO household_ops (household_id, op_id, user_id, revision, result, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, op.HouseholdID, op.OpID, op.UserID, res.Revision, string(body), op.At.UTC()); err != nil {
				return db.wrap("record household op", err)
			}
		}
		return nil
	})
	return res, err
}

// householdTx is one operation's view of its household, inside Apply's
// transaction. Writes collect changes under rev; flush records them.
type householdTx struct {
	db      *DB
	tx      *sql.Tx
	hid     string
	rev     int64
	op      mealsync.Op
	changes []mealsync.Change
}

func (t *householdTx) Revision() int64 { return t.rev }

func (t *householdTx) Household(ctx context.Context) (*mealsync.Household, error) {
	var h mealsync.Household
	err := t.tx.QueryRowContext(ctx, `SELECT id, name, owner_id, revision, created_at FROM households WHERE id = $1`, t.hid).
		Scan(&h.ID, &h.Name, &h.OwnerID, &h.Revision, &h.CreatedAt)
	h.CreatedAt = h.CreatedAt.UTC()
	return &h, t.db.wrap("household", err)
}

func (t *householdTx) Members(ctx context.Context) ([]mealsync.Member, error) {
	return t.db.members(ctx, t.tx, t.hid)
}

func (t *householdTx) Items(ctx context.Context) ([]mealsync.ShoppingListItem, error) {
	return t.db.items(ctx, t.tx, t.hid)
}

func (t *householdTx) Item(ctx context.Context, id string) (*mealsync.ShoppingListItem, error) {
	it, err := scanItem(t.tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM shopping_items
		WHERE household_id = $1 AND id = $2`, t.hid, id))
	if err != nil {
		return nil, t.db.wrap("shopping item", err)
	}
	return it, nil
}

func (t *householdTx) Deleted(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM household_changes
		WHERE household_id = $1 AND entity = $2 AND entity_id = $3 AND deleted LIMIT 1`, t.hid, mealsync.EntityItem, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, t.db.wrap("item tombstone", err)
}

func (t *householdTx) PutItem(ctx context.Context, it *mealsync.ShoppingListItem) error {
	if err := it.Validate(); err != nil {
		return fmt.Errorf("put item %s: %w", it.ID, err)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO shopping_items (id, household_id, name, quantity, unit, category, note,
			checked, position, added_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, quantity = excluded.quantity, unit = excluded.unit,
			category = excluded.category, note = excluded.note, checked = excluded.checked,
			position = excluded.position, updated_at = excluded.updated_at`,
		it.ID, t.hid, it.Name, it.Quantity, it.Unit, it.Category, it.Note, it.Checked, it.Position,
		nullString(it.AddedBy), it.CreatedAt.UTC(), it.UpdatedAt.UTC())
	if err != nil {
		return t.db.wrap("put shopping item", err)
	}
	c := *it
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityItem, ID: it.ID, Item: &c})
	return nil
}

func (t *householdTx) DeleteItem(ctx context.Context, id string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM shopping_items WHERE household_id = $1 AND id = $2`, t.hid, id)
	if err := t.db.expectOne(res, err, "delete shopping item"); err != nil {
		return err
	}
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityItem, ID: id, Deleted: true})
	return nil
}

func (t *householdTx) PutHousehold(ctx context.Context, h *mealsync.Household) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("put household %s: %w", h.ID, err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE households SET name = $2, owner_id = $3 WHERE id = $1`, t.hid, h.Name, h.OwnerID); err != nil {
		return t.db.wrap("put household", err)
	}
	c := *h
	c.Revision = t.rev
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityHousehold, ID: h.ID, Household: &c})
	return nil
}

func (t *householdTx) PutMember(ctx context.Context, m mealsync.Member) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO household_members (household_id, user_id, role, joined_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (household_id, user_id) DO UPDATE SET role = excluded.role`,
		t.hid, m.UserID, m.Role, m.JoinedAt.UTC())
	if err != nil {
		return t.db.wrap("put member", err)
	}
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityMember, ID: m.UserID, Member: &m})
	return nil
}

func (t *householdTx) DeleteMember(ctx context.Context, userID string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM household_members WHERE household_id = $1 AND user_id = $2`, t.hid, userID)
	if err := t.db.expectOne(res, err, "delete member"); err != nil {
		return err
	}
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityMember, ID: userID, Deleted: true})
	return nil
}

func (t *householdTx) MealPlan(ctx context.Context, id string) (*mealsync.MealPlan, error) {
	p, err := scanMealPlan(t.tx.QueryRowContext(ctx, `SELECT `+mealPlanColumns+` FROM meal_plans
		WHERE household_id = $1 AND id = $2`, t.hid, id))
	if err != nil {
		return nil, t.db.wrap("household meal plan", err)
	}
	return p, t.db.loadMeals(ctx, t.tx, []*mealsync.MealPlan{p})
}

func (t *householdTx) PutMealPlan(ctx context.Context, p *mealsync.MealPlan) error {
	p.HouseholdID = t.hid
	if err := t.db.insertMealPlan(ctx, t.tx, p); err != nil {
		return err
	}
	c := *p
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityMealPlan, ID: p.ID, MealPlan: &c})
	return nil
}

func (t *householdTx) DeleteMealPlan(ctx context.Context, id string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM meal_plans WHERE household_id = $1 AND id = $2`, t.hid, id)
	if err := t.db.expectOne(res, err, "delete household meal plan"); err != nil {
		return err
	}
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityMealPlan, ID: id, Deleted: true})
	return nil
}

func (t *householdTx) SetMeal(ctx context.Context, planID string, m mealsync.PlannedMeal) error {
	if err := t.db.setMeal(ctx, t.tx, `household_id = $5`, planID, m, t.hid); err != nil {
		return err
	}
	p, err := t.MealPlan(ctx, planID)
	if err != nil {
		return err
	}
	t.changes = append(t.changes, mealsync.Change{Entity: mealsync.EntityMealPlan, ID: p.ID, MealPlan: p})
	return nil
}

func (t *householdTx) AdoptMealPlans(ctx context.Context, from, to string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE meal_plans SET user_id = $3 WHERE household_id = $1 AND user_id = $2`, t.hid, from, to)
	return t.db.wrap("adopt meal plans", err)
}

// HouseholdChannel is the PostgreSQL notification channel a household's
// new revisions are announced on, as "householdID:revision". PostgreSQL
// delivers a notification when, and only if, its transaction commits: a
// listener never hears of a change it cannot read yet.
const HouseholdChannel = "mealsync_households"

// flush records the collected changes under the operation's revision, and
// on PostgreSQL announces the revision, delivered at commit. A later change
// to the same entity in one operation replaces the earlier.
func (t *householdTx) flush(ctx context.Context) error {
	if t.db.dialect.Name == "postgres" {
		if _, err := t.tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, HouseholdChannel, fmt.Sprintf("%s:%d", t.hid, t.rev)); err != nil {
			return t.db.wrap("announce household revision", err)
		}
	}
	last := map[string]int{}
	for i, c := range t.changes {
		last[c.Entity+"|"+c.ID] = i
	}
	rows := make([][]any, 0, len(last))
	for i, c := range t.changes {
		if last[c.Entity+"|"+c.ID] != i {
			continue
		}
		data, err := encodeChange(c)
		if err != nil {
			return err
		}
		rows = append(rows, []any{t.hid, t.rev, c.Entity, c.ID, c.Deleted, data, t.op.UserID, t.op.OpID, t.op.At.UTC()})
	}
	err := insertRows(ctx, t.tx, "household_changes",
		"household_id, revision, entity, entity_id, deleted, data, author_id, op_id, changed_at", rows, 500)
	return t.db.wrap("record household changes", err)
}

func encodeChange(c mealsync.Change) (string, error) {
	var v any
	switch {
	case c.Deleted:
		return "null", nil
	case c.Item != nil:
		v = storedItem(*c.Item)
	case c.Member != nil:
		v = storedMember(*c.Member)
	case c.Household != nil:
		v = storedHousehold(*c.Household)
	case c.MealPlan != nil:
		v = toStoredMealPlan(c.MealPlan)
	default:
		return "", fmt.Errorf("change of %s %s: no entity", c.Entity, c.ID)
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeChange(c *mealsync.Change, householdID, data string) error {
	if c.Deleted {
		return nil
	}
	var err error
	switch c.Entity {
	case mealsync.EntityItem:
		var s storedItem
		err = json.Unmarshal([]byte(data), &s)
		it := mealsync.ShoppingListItem(s)
		c.Item = &it
	case mealsync.EntityMember:
		var s storedMember
		err = json.Unmarshal([]byte(data), &s)
		m := mealsync.Member(s)
		c.Member = &m
	case mealsync.EntityHousehold:
		var s storedHousehold
		err = json.Unmarshal([]byte(data), &s)
		h := mealsync.Household(s)
		c.Household = &h
	case mealsync.EntityMealPlan:
		var s storedMealPlan
		if err = json.Unmarshal([]byte(data), &s); err == nil {
			c.MealPlan, err = s.mealPlan(householdID)
		}
	default:
		err = fmt.Errorf("unknown entity %q", c.Entity)
	}
	return err
}

// queryRower reads: a transaction or the pool.
type queryRower interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTx returns what a consistent read runs on: the request's unit of work
// when it has begun (so the request reads its own writes), else a read-only
// transaction of its own (repeatable read on PostgreSQL: every statement
// sees one snapshot). done ends it.
func (db *DB) readTx(ctx context.Context) (queryRower, func(), error) {
	if u := db.unitOf(ctx); u != nil {
		if tx := u.current(); tx != nil {
			return tx, func() {}, nil
		}
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect.Name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	return tx, func() { _ = tx.Rollback() }, nil // read-only: nothing to commit
}

// ChangesSince returns the changes after since, or a snapshot when they are
// no longer all kept (or since is ahead of the household: a restore).
//
// Every live connection of a household asks this at each of its commits, so
// its round trips are sync's cost: one statement checks the membership and
// reads the household's revision with the changes after since, one
// consistent view without a transaction around it. Only a resync takes a
// transaction.
func (db *DB) ChangesSince(ctx context.Context, householdID, memberID string, since int64) (mealsync.Feed, error) {
	var f mealsync.Feed
	rows, err := db.conn(ctx).QueryContext(ctx, `SELECT h.revision, h.floor_revision,
		c.revision, c.entity, c.entity_id, c.deleted, c.data, c.author_id, c.op_id, c.changed_at
		FROM households h
		JOIN household_members m ON m.household_id = h.id AND m.user_id = $3
		LEFT JOIN household_changes c ON c.household_id = h.id AND c.revision > $2
		WHERE h.id = $1 ORDER BY c.revision, c.entity, c.entity_id`, householdID, since, memberID)
	if err != nil {
		return f, db.wrap("feed", err)
	}
	defer rows.Close()
	found := false
	var floor int64
	f.Changes = []mealsync.Change{}
	for rows.Next() {
		var (
			rev                          sql.NullInt64
			entity, id, data, author, op sql.NullString
			deleted                      sql.NullBool
			at                           sql.NullTime
		)
		if err := rows.Scan(&f.Revision, &floor, &rev, &entity, &id, &deleted, &data, &author, &op, &at); err != nil {
			return f, db.wrap("feed", err)
		}
		found = true
		if !rev.Valid {
			continue // the household alone: nothing after since
		}
		c := mealsync.Change{Revision: rev.Int64, Entity: entity.String, ID: id.String, Deleted: deleted.Bool,
			AuthorID: author.String, OpID: op.String, At: at.Time.UTC()}
		if err := decodeChange(&c, householdID, data.String); err != nil {
			return f, fmt.Errorf("feed: revision %d: %w", c.Revision, err)
		}
		f.Changes = append(f.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return f, db.wrap("feed", err)
	}
	if !found {
		return f, db.wrap("feed", sql.ErrNoRows)
	}
	if since < floor || since > f.Revision {
		rows.Close()
		return db.resync(ctx, householdID)
	}
	return f, nil
}

// resync is the feed of a device that cannot catch up by changes: the
// household's revision and a snapshot of it, read in one transaction.
func (db *DB) resync(ctx context.Context, householdID string) (mealsync.Feed, error) {
	f := mealsync.Feed{Resync: true}
	tx, done, err := db.readTx(ctx)
	if err != nil {
		return f, db.wrap("feed", err)
	}
	defer done()
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM households WHERE id = $1`, householdID).Scan(&f.Revision); err != nil {
		return f, db.wrap("feed", err)
	}
	f.Snapshot, err = db.snapshot(ctx, tx, householdID)
	return f, err
}

func (db *DB) snapshot(ctx context.Context, tx queryRower, householdID string) (*mealsync.Snapshot, error) {
	var s mealsync.Snapshot
	h := &s.Household
	err := tx.QueryRowContext(ctx, `SELECT id, name, owner_id, revision, created_at FROM households WHERE id = $1`, householdID).
		Scan(&h.ID, &h.Name, &h.OwnerID, &h.Revision, &h.CreatedAt)
	if err != nil {
		return nil, db.wrap("snapshot", err)
	}
	h.CreatedAt = h.CreatedAt.UTC()
	if s.Members, err = db.members(ctx, tx, householdID); err != nil {
		return nil, err
	}
	if s.Items, err = db.items(ctx, tx, householdID); err != nil {
		return nil, err
	}
	if s.MealPlans, err = db.householdPlans(ctx, tx, householdID); err != nil {
		return nil, err
	}
	return &s, nil
}

// householdPlans returns all of a household's plans, newest first, with
// their meals.
func (db *DB) householdPlans(ctx context.Context, x queryer, householdID string) ([]mealsync.MealPlan, error) {
	rows, err := x.QueryContext(ctx, `SELECT `+mealPlanColumns+` FROM meal_plans
		WHERE household_id = $1 ORDER BY created_at DESC, id`, householdID)
	if err != nil {
		return nil, db.wrap("household meal plans", err)
	}
	var plans []*mealsync.MealPlan
	for rows.Next() {
		p, err := scanMealPlan(rows)
		if err != nil {
			rows.Close()
			return nil, db.wrap("household meal plans", err)
		}
		plans = append(plans, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.wrap("household meal plans", err)
	}
	if err := db.loadMeals(ctx, x, plans); err != nil {
		return nil, err
	}
	out := make([]mealsync.MealPlan, len(plans))
	for i, p := range plans {
		out[i] = *p
	}
	return out, nil
}

func (db *DB) members(ctx context.Context, x queryer, householdID string) ([]mealsync.Member, error) {
	rows, err := x.QueryContext(ctx, `SELECT m.user_id, u.name, m.role, m.joined_at FROM household_members m
		JOIN users u ON u.id = m.user_id WHERE m.household_id = $1 ORDER BY m.joined_at, m.user_id`, householdID)
	if err != nil {
		return nil, db.wrap("members", err)
	}
	defer rows.Close()
	out := []mealsync.Member{}
	for rows.Next() {
		var m mealsync.Member
		if err := rows.Scan(&m.UserID, &m.Name, &m.Role, &m.JoinedAt); err != nil {
			return nil, db.wrap("members", err)
		}
		m.JoinedAt = m.JoinedAt.UTC()
		out = append(out, m)
	}
	return out, db.wrap("members", rows.Err())
}

const itemColumns = `id, name, quantity, unit, category, note, checked, position, added_by, created_at, updated_at`

func scanItem(row rowScanner) (*mealsync.ShoppingListItem, error) {
	var it mealsync.ShoppingListItem
	var addedBy sql.Null[string]
	if err := row.Scan(&it.ID, &it.Name, &it.Quantity, &it.Unit, &it.Category, &it.Note, &it.Checked,
		&it.Position, &addedBy, &it.CreatedAt, &it.UpdatedAt); err != nil {
		return nil, err
	}
	it.AddedBy, it.CreatedAt, it.UpdatedAt = addedBy.V, it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	return &it, nil
}

func (db *DB) items(ctx context.Context, x queryer, householdID string) ([]mealsync.ShoppingListItem, error) {
	rows, err := x.QueryContext(ctx, `SELECT `+itemColumns+` FROM shopping_items
		WHERE household_id = $1 ORDER BY position, id`, householdID)
	if err != nil {
		return nil, db.wrap("shopping items", err)
	}
	defer rows.Close()
	out := []mealsync.ShoppingListItem{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, db.wrap("shopping items", err)
		}
		out = append(out, *it)
	}
	return out, db.wrap("shopping items", rows.Err())
}

// CreateInvite stores an invite code's hash.
func (db *DB) CreateInvite(ctx context.Context, householdID, codeHash, createdBy string, expires, at time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO household_invites (code_hash, household_id, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, codeHash, householdID, createdBy, at.UTC(), expires.UTC())
	return db.wrap("create invite", err)
}

// RedeemInvite uses the code up and makes m a member, in one transaction:
// the code is spent only by a join that happened.
func (db *DB) RedeemInvite(ctx context.Context, codeHash string, m mealsync.Member, at time.Time) (*mealsync.Household, error) {
	var h *mealsync.Household
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var hid string
		err := tx.QueryRowContext(ctx, `UPDATE household_invites SET used_at = $2, used_by = $3
			WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING household_id`,
			codeHash, at.UTC(), m.UserID).Scan(&hid)
		if err != nil {
			return db.wrap("redeem invite", err)
		}
		var current int64
		if err := tx.QueryRowContext(ctx, `SELECT revision FROM households WHERE id = $1`+db.dialect.RowLock, hid).Scan(&current); err != nil {
			return db.wrap("lock household", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM household_members WHERE household_id = $1`, hid).Scan(&n); err != nil {
			return db.wrap("count members", err)
		}
		if n >= mealsync.MaxMembers {
			return mealsync.Errorf(mealsync.ECONFLICT, "The household is full (%d members)", mealsync.MaxMembers)
		}
		ht := &householdTx{db: db, tx: tx, hid: hid, rev: current + 1, op: mealsync.Op{HouseholdID: hid, UserID: m.UserID, At: at}}
		if err := ht.PutMember(ctx, m); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE households SET revision = $2 WHERE id = $1`, hid, ht.rev); err != nil {
			return db.wrap("household revision", err)
		}
		if err := ht.flush(ctx); err != nil {
			return err
		}
		h, err = ht.Household(ctx)
		return err
	})
	return h, err
}

// DeleteHousehold removes a household; its members, items, invites, feed
// and ops go with it (ON DELETE CASCADE).
func (db *DB) DeleteHousehold(ctx context.Context, id string) error {
	res, err := db.exec(ctx, `DELETE FROM households WHERE id = $1`, id)
	return db.expectOne(res, err, "delete household")
}

// PruneHouseholdFeeds drops changes and op records older than before, and
// raises each household's floor to the newest revision dropped, so that a
// device asking from before it gets a full resync instead of a gap.
func (db *DB) PruneHouseholdFeeds(ctx context.Context, before time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE households SET floor_revision = (
				SELECT max(c.revision) FROM household_changes c
				WHERE c.household_id = households.id AND c.changed_at < $1)
			WHERE EXISTS (SELECT 1 FROM household_changes c WHERE c.household_id = households.id AND c.changed_at < $1)`,
			before.UTC()); err != nil {
			return db.wrap("raise feed floors", err)
		}
		for _, q := range []string{
			`DELETE FROM household_changes WHERE changed_at < $1`,
			`DELETE FROM household_ops WHERE created_at < $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, before.UTC()); err != nil {
				return db.wrap("prune household feeds", err)
			}
		}
		return nil
	})
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}
