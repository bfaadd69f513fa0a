package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mealsync/mealsync"
)

// --- wire types ---

type householdDTO struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	OwnerID   string  `json:"ownerId"`
	Revision  int64   `json:"revision"`
	CreatedAt Instant `json:"createdAt"`
}

type memberDTO struct {
	UserID   string  `json:"userId"`
	Name     string  `json:"name"`
	Role     string  `json:"role"`
	JoinedAt Instant `json:"joinedAt"`
}

type itemDTO struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Quantity  string  `json:"quantity"`
	Unit      string  `json:"unit"`
	Category  string  `json:"category"`
	Note      string  `json:"note"`
	Checked   bool    `json:"checked"`
	Position  int64   `json:"position"`
	AddedBy   string  `json:"addedBy"`
	CreatedAt Instant `json:"createdAt"`
	UpdatedAt Instant `json:"updatedAt"`
}

type snapshotDTO struct {
	Revision  int64             `json:"revision"`
	Household householdDTO      `json:"household"`
	Members   []memberDTO       `json:"members"`
	Items     []itemDTO         `json:"items"`
	MealPlans []feedMealPlanDTO `json:"mealPlans"`
}

// feedMealPlanDTO is a household's meal plan as the sync feed and snapshots
// carry it: its meals name their recipes by id (GET /meal-plans/{id} has
// them whole; null once a recipe was deleted).
type feedMealPlanDTO struct {
	ID           string               `json:"id"`
	HouseholdID  string               `json:"householdId"`
	StartDate    string               `json:"startDate"`
	NumberOfDays int                  `json:"numberOfDays"`
	MealsPerDay  int                  `json:"mealsPerDay"`
	Days         []feedMealPlanDayDTO `json:"days"`
	CreatedAt    Instant              `json:"createdAt"`
}

type feedMealPlanDayDTO struct {
	Date  string        `json:"date"`
	Meals []feedMealDTO `json:"meals"`
}

type feedMealDTO struct {
	Type     string  `json:"type"`
	RecipeID *string `json:"recipeId"`
}

func toFeedMealPlanDTO(p *mealsync.MealPlan) feedMealPlanDTO {
	d := feedMealPlanDTO{ID: p.ID, HouseholdID: p.HouseholdID, StartDate: p.StartDate.Format(dateLayout), NumberOfDays: p.Days,
		MealsPerDay: p.MealsPerDay, Days: make([]feedMealPlanDayDTO, p.Days), CreatedAt: Instant(p.CreatedAt)}
	for i := range d.Days {
		d.Days[i] = feedMealPlanDayDTO{Date: p.StartDate.AddDate(0, 0, i).Format(dateLayout), Meals: []feedMealDTO{}}
	}
	for _, m := range p.Meals {
		if m.Day < 0 || m.Day >= p.Days {
			continue
		}
		md := feedMealDTO{Type: m.MealType}
		if m.Recipe != nil {
			md.RecipeID = &m.Recipe.ID
		}
		d.Days[m.Day].Meals = append(d.Days[m.Day].Meals, md)
	}
	return d
}

// changeDTO is one entry of the sync feed: "upsert" with the entity as it
// is after the change, or "delete" with data null.
type changeDTO struct {
	Revision int64   `json:"revision"`
	Entity   string  `json:"entity"`
	ID       string  `json:"id"`
	Op       string  `json:"op"`
	Data     any     `json:"data"`
	AuthorID string  `json:"authorId"`
	OpID     string  `json:"opId"`
	At       Instant `json:"at"`
}

type feedDTO struct {
	HouseholdID string       `json:"householdId"`
	Revision    int64        `json:"revision"`
	Resync      bool         `json:"resync"`
	Changes     []changeDTO  `json:"changes"`
	Snapshot    *snapshotDTO `json:"snapshot"`
}

func toHouseholdDTO(h mealsync.Household) householdDTO {
	return householdDTO{ID: h.ID, Name: h.Name, OwnerID: h.OwnerID, Revision: h.Revision, CreatedAt: Instant(h.CreatedAt)}
}

func toMemberDTO(m mealsync.Member) memberDTO {
	return memberDTO{UserID: m.UserID, Name: m.Name, Role: m.Role, JoinedAt: Instant(m.JoinedAt)}
}

func toItemDTO(it mealsync.ShoppingListItem) itemDTO {
	return itemDTO{ID: it.ID, Name: it.Name, Quantity: it.Quantity, Unit: it.Unit, Category: it.Category, Note: it.Note,
		Checked: it.Checked, Position: it.Position, AddedBy: it.AddedBy, CreatedAt: Instant(it.CreatedAt), UpdatedAt: Instant(it.UpdatedAt)}
}

func toItemDTOs(items []mealsync.ShoppingListItem) []itemDTO {
	out := make([]itemDTO, len(items))
	for i, it := range items {
		out[i] = toItemDTO(it)
	}
	return out
}

func toSnapshotDTO(s *mealsync.Snapshot) *snapshotDTO {
	if s == nil {
		return nil
	}
	d := &snapshotDTO{Revision: s.Household.Revision, Household: toHouseholdDTO(s.Household),
		Members: make([]memberDTO, len(s.Members)), Items: toItemDTOs(s.Items), MealPlans: make([]feedMealPlanDTO, len(s.MealPlans))}
	for i, m := range s.Members {
		d.Members[i] = toMemberDTO(m)
	}
	for i := range s.MealPlans {
		d.MealPlans[i] = toFeedMealPlanDTO(&s.MealPlans[i])
	}
	return d
}

func toChangeDTO(c mealsync.Change) changeDTO {
	d := changeDTO{Revision: c.Revision, Entity: c.Entity, ID: c.ID, Op: "upsert", AuthorID: c.AuthorID, OpID: c.OpID, At: Instant(c.At)}
	switch {
	case c.Deleted:
		d.Op = "delete"
	case c.Item != nil:
		d.Data = toItemDTO(*c.Item)
	case c.Member != nil:
		d.Data = toMemberDTO(*c.Member)
	case c.Household != nil:
		d.Data = toHouseholdDTO(*c.Household)
	case c.MealPlan != nil:
		d.Data = toFeedMealPlanDTO(c.MealPlan)
	}
	return d
}

func toFeedDTO(householdID string, f mealsync.Feed) feedDTO {
	d := feedDTO{HouseholdID: householdID, Revision: f.Revision, Resync: f.Resync, Changes: make([]changeDTO, len(f.Changes)),
		Snapshot: toSnapshotDTO(f.Snapshot)}
	for i, c := range f.Changes {
		d.Changes[i] = toChangeDTO(c)
	}
	return d
}

// --- requests ---

// opRequest is the operation id a household write may carry, in its body
// ("opId") or as an Idempotency-Key header: the same key, with the same
// rules (mealsync.ValidIdempotencyKey), that makes the write safe to retry.
type opRequest struct {
	OpID string `json:"opId"`
}

func (r opRequest) check(v *mealsync.Validation) {
	if r.OpID != "" && !mealsync.ValidIdempotencyKey(r.OpID) {
		v.Add("opId", fmt.Sprintf("Must be 1 to %d printable ASCII characters", mealsync.MaxIdempotencyKeyLen))
	}
}

// opID is the request's operation id: the body's, else the header's.
func opID(r *http.Request, body opRequest) (string, error) {
	if body.OpID != "" {
		return body.OpID, nil
	}
	key, _, err := idempotencyKey(r.Header)
	return key, err
}

type householdRequest struct {
	opRequest
	Name string `json:"name"`
}

func (r householdRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	return v
}

type joinRequest struct {
	Code string `json:"code"`
}

func (r joinRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if c := strings.TrimSpace(r.Code); c == "" || len(c) > 64 {
		v.Add("code", "Give the invite code you were sent")
	}
	return v
}

type userIDRequest struct {
	UserID string `json:"userId"`
}

func (r userIDRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if _, err := parseID(r.UserID); err != nil {
		v.Add("userId", "Must be a UUID")
	}
	return v
}

// itemRequest adds an item (every field) or edits one (the fields sent).
type itemRequest struct {
	opRequest
	ID       string  `json:"id"` // optional on add: a client-made UUID
	Name     *string `json:"name"`
	Quantity *string `json:"quantity"`
	Unit     *string `json:"unit"`
	Category *string `json:"category"`
	Note     *string `json:"note"`
	Checked  *bool   `json:"checked"`
}

func (r itemRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	if r.ID != "" {
		if _, err := parseID(r.ID); err != nil {
			v.Add("id", "Must be a UUID")
		}
	}
	return v
}

func (r itemRequest) patch() mealsync.ItemPatch {
	return mealsync.ItemPatch{Name: r.Name, Quantity: r.Quantity, Unit: r.Unit, Category: r.Category, Note: r.Note, Checked: r.Checked}
}

type reorderRequest struct {
	opRequest
	ItemIDs []string `json:"itemIds"`
}

func (r reorderRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	if len(r.ItemIDs) == 0 || len(r.ItemIDs) > mealsync.MaxListItems {
		v.Add("itemIds", "Give the ids of the items in their new order")
	}
	for i, id := range r.ItemIDs {
		if _, err := parseID(id); err != nil {
			v.Add("itemIds["+strconv.Itoa(i)+"]", "Must be a UUID")
		}
	}
	return v
}

type planToListRequest struct {
	opRequest
	MealPlanID string `json:"mealPlanId"`
}

func (r planToListRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	if _, err := parseID(r.MealPlanID); err != nil {
		v.Add("mealPlanId", "Must be a UUID")
	}
	return v
}

type opOnlyRequest struct{ opRequest }

func (r opOnlyRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	return v
}

// --- handlers ---

// householdID reads {id}.
func householdID(r *http.Request) (string, error) { return parseID(r.PathValue("id")) }

// POST /api/v1/households
func (s *Server) handleCreateHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, err := decode[householdRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, err := s.households.Create(r.Context(), me, req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusCreated, toSnapshotDTO(snap))
}

// GET /api/v1/households/mine
func (s *Server) handleMyHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	snap, err := s.households.Mine(r.Context(), me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toSnapshotDTO(snap))
}

// GET /api/v1/households/{id}
func (s *Server) handleGetHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, err := s.households.Snapshot(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toSnapshotDTO(snap))
}

// PUT /api/v1/households/{id} — rename.
func (s *Server) handleRenameHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, req, op, ok := householdWrite[householdRequest](s, w, r)
	if !ok {
		return
	}
	h, err := s.households.Rename(r.Context(), me, id, op, req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toHouseholdDTO(h))
}

// householdWrite reads {id}, the body and the operation id of a household
// write, answering the client's mistakes itself (ok false).
func householdWrite[T interface {
	validator
	op() opRequest
}](s *Server, w http.ResponseWriter, r *http.Request) (id string, req T, op string, ok bool) {
	id, err := householdID(r)
	if err == nil {
		req, err = decode[T](r)
	}
	if err == nil {
		op, err = opID(r, req.op())
	}
	if err != nil {
		s.fail(w, r, err)
		return "", req, "", false
	}
	return id, req, op, true
}

func (r opRequest) op() opRequest { return r }

// POST /api/v1/households/{id}/invites — a single-use code, and a link.
func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code, expires, err := s.households.Invite(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusCreated, map[string]any{
		"code": code, "link": "mealsync://households/join?code=" + code, "expiresAt": Instant(expires),
	})
}

// POST /api/v1/households/join
func (s *Server) handleJoinHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, err := decode[joinRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, err := s.households.Join(r.Context(), me, req.Code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toSnapshotDTO(snap))
}

// POST /api/v1/households/{id}/leave
func (s *Server) handleLeaveHousehold(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	if err == nil {
		err = s.households.Leave(r.Context(), me, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /api/v1/households/{id}/members/{userId} (the owner)
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	var member string
	if err == nil {
		member, err = parseID(r.PathValue("userId"))
	}
	if err == nil {
		err = s.households.RemoveMember(r.Context(), me, id, member)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PUT /api/v1/households/{id}/owner (the owner)
func (s *Server) handleHandOver(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decode[userIDRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.households.HandOver(r.Context(), me, id, req.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toHouseholdDTO(h))
}

// GET /api/v1/households/{id}/shopping-list
func (s *Server) handleShoppingListGet(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, err := s.households.Snapshot(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, map[string]any{"revision": snap.Household.Revision, "items": toItemDTOs(snap.Items)})
}

// POST /api/v1/households/{id}/shopping-list/items
func (s *Server) handleAddItem(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, req, op, ok := householdWrite[itemRequest](s, w, r)
	if !ok {
		return
	}
	it := mealsync.ShoppingListItem{ID: req.ID}
	req.patch().Apply(&it)
	it.Checked = false
	it, err := s.households.AddItem(r.Context(), me, id, op, it)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusCreated, toItemDTO(it))
}

// itemID reads {itemId}.
func itemID(r *http.Request) (string, error) { return parseID(r.PathValue("itemId")) }

// PATCH /api/v1/households/{id}/shopping-list/items/{itemId}
func (s *Server) handleEditItem(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, req, op, ok := householdWrite[itemRequest](s, w, r)
	if !ok {
		return
	}
	s.editItem(w, r, me, id, op, req.patch())
}

func (s *Server) editItem(w http.ResponseWriter, r *http.Request, me *mealsync.User, id, op string, p mealsync.ItemPatch) {
	item, err := itemID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	it, err := s.households.EditItem(r.Context(), me, id, op, item, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toItemDTO(it))
}

// POST /api/v1/households/{id}/shopping-list/items/{itemId}/check and
// /uncheck — idempotent: checking a checked item changes nothing.
func (s *Server) handleCheckItem(checked bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
		id, err := householdID(r)
		var op string
		if err == nil {
			op, err = opID(r, opRequest{})
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.editItem(w, r, me, id, op, mealsync.ItemPatch{Checked: &checked})
	}
}

// DELETE /api/v1/households/{id}/shopping-list/items/{itemId}
func (s *Server) handleDeleteItem(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := householdID(r)
	var item, op string
	if err == nil {
		item, err = itemID(r)
	}
	if err == nil {
		op, err = opID(r, opRequest{})
	}
	if err == nil {
		err = s.households.DeleteItem(r.Context(), me, id, op, item)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/v1/households/{id}/shopping-list/reorder
func (s *Server) handleReorder(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, req, op, ok := householdWrite[reorderRequest](s, w, r)
	if !ok {
		return
	}
	items, err := s.households.Reorder(r.Context(), me, id, op, req.ItemIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, map[string]any{"items": toItemDTOs(items)})
}

// POST /api/v1/households/{id}/shopping-list/clear-checked
func (s *Server) handleClearChecked(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, _, op, ok := householdWrite[opOnlyRequest](s, w, r)
	if !ok {
		return
	}
	n, err := s.households.ClearChecked(r.Context(), me, id, op)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, map[string]any{"removed": n})
}

// POST /api/v1/households/{id}/shopping-list/from-meal-plan
func (s *Server) handleAddMealPlanToList(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, req, op, ok := householdWrite[planToListRequest](s, w, r)
	if !ok {
		return
	}
	items, err := s.households.AddMealPlan(r.Context(), me, id, op, req.MealPlanID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, map[string]any{"items": toItemDTOs(items)})
}

// GET /api/v1/sync?since=REV — the caller's household's changes after REV
// (0: from the start), or a snapshot with resync true.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	since := int64(q.int("since", 0, 0, 1<<62))
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	id, f, err := s.households.MyFeed(r.Context(), me, since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toFeedDTO(id, f))
}
