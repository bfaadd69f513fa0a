package kitchen

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

func recipeNotFound(id string) error {
	return mealsync.Errorf(mealsync.ENOTFOUND, "Recipe not found with id: %s", id)
}

var errNotEditable = mealsync.Errorf(mealsync.EFORBIDDEN, "Access Denied")

// Recipe returns the recipe with id if u may see it. Another user's private
// recipe is not found, as an unknown id is: its existence is not u's
// business. A nil u is anonymous.
func (s *Service) Recipe(ctx context.Context, u *mealsync.User, id string) (*mealsync.Recipe, error) {
	r, err := s.recipes.RecipeByID(ctx, id)
	if err == nil && !mealsync.ViewerOf(u).CanSee(r) {
		err = mealsync.ErrNotFound
	}
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, recipeNotFound(id)
	}
	return r, err
}

// CreateRecipe stores the recipe in describes, written by u. The server
// decides what the client may not: the id, the times, the source, the
// dedupe key, the owner, and where it goes — an admin's recipe into the
// catalogue, anyone else's private to them until an admin publishes it.
// The recipe must be valid (mealsync.Recipe.Validate), its diet tags true
// to its ingredients, and its image one of ours or on an allowed host.
func (s *Service) CreateRecipe(ctx context.Context, u *mealsync.User, in RecipeInput) (*mealsync.Recipe, error) {
	r := &mealsync.Recipe{}
	in.apply(r)
	if err := s.checkRecipe(r, ""); err != nil {
		return nil, err
	}
	r.ID, r.CreatedAt, r.UpdatedAt = uuid.NewString(), s.now(), nil
	r.Source, r.IngredientKey = mealsync.SourceUser, ranking.IngredientKey(r.Name)
	r.OwnerID, r.Published = u.ID, u.Role == mealsync.RoleAdmin
	if err := s.recipes.CreateRecipes(ctx, r); err != nil {
		return nil, err
	}
	s.catalogueChanged(ctx)
	return r, nil
}

// UpdateRecipe changes the recipe with id to what read returns, if u may:
// an admin any recipe, its owner a private one. A recipe u cannot see is
// not found; one u sees but may not change is forbidden. read runs only
// once that is settled, so a refused caller's body is never read. The
// result is checked as CreateRecipe checks (an image URL already stored may
// stay); the server re-derives the dedupe key and stamps the time.
func (s *Service) UpdateRecipe(ctx context.Context, u *mealsync.User, id string, read func() (RecipeInput, error)) (*mealsync.Recipe, error) {
	r, err := s.editable(ctx, u, id)
	if err != nil {
		return nil, err
	}
	in, err := read()
	if err != nil {
		return nil, err
	}
	image := r.ImageURL
	in.apply(r)
	if err := s.checkRecipe(r, image); err != nil {
		return nil, err
	}
	now := s.now()
	r.IngredientKey, r.UpdatedAt = ranking.IngredientKey(r.Name), &now
	// The store writes only while the recipe is as published as when it
	// was read: an owner's edit cannot land on a recipe an admin has just
	// published.
	if err := s.recipes.UpdateRecipe(ctx, r); err != nil {
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			return nil, recipeNotFound(id)
		}
		return nil, err
	}
	s.catalogueChanged(ctx)
	return r, nil
}

// checkRecipe applies the rules a recipe a client wrote must meet: the
// domain's (Validate), true diet tags, and an image URL that is storedImage
// (unchanged) or one a recipe may point at.
func (s *Service) checkRecipe(r *mealsync.Recipe, storedImage string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := truthfulTags(r); err != nil {
		return err
	}
	if r.ImageURL != storedImage {
		return s.checkImageURL(r.ImageURL)
	}
	return nil
}

// truthfulTags refuses diet tags the recipe's own ingredients break (a
// "vegan" recipe with honey): recommendations trust the tags, so a false one
// would put the recipe before people who cannot eat it.
func truthfulTags(r *mealsync.Recipe) error {
	var v mealsync.Validation
	for _, t := range ranking.ContradictedTags(r) {
		v.Add("tags", fmt.Sprintf("The ingredients contradict the tag %q", t))
	}
	return v.Err()
}

// DeleteRecipe deletes the recipe with id, if u may: the rules of
// UpdateRecipe.
func (s *Service) DeleteRecipe(ctx context.Context, u *mealsync.User, id string) error {
	var err error
	if u.Role == mealsync.RoleAdmin {
		err = s.recipes.DeleteRecipe(ctx, id)
	} else if _, err = s.editable(ctx, u, id); err == nil {
		err = s.recipes.DeletePrivateRecipe(ctx, id, u.ID) // still private, still u's
	}
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return recipeNotFound(id)
	}
	if err == nil {
		s.catalogueChanged(ctx)
	}
	return err
}

// editable returns the recipe with id if u may change it.
func (s *Service) editable(ctx context.Context, u *mealsync.User, id string) (*mealsync.Recipe, error) {
	r, err := s.Recipe(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if !mealsync.ViewerOf(u).CanEdit(r) {
		return nil, errNotEditable
	}
	return r, nil
}

// PublishRecipe puts a recipe in the shared catalogue (an admin's call; the
// route checks the role). There is no way back: once others may save and
// plan it, making it private again would leave their records pointing at a
// recipe they may not see. An admin withdraws a catalogue recipe by
// deleting it.
func (s *Service) PublishRecipe(ctx context.Context, id string) (*mealsync.Recipe, error) {
	r, err := s.recipes.PublishRecipe(ctx, id)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, recipeNotFound(id)
	}
	if err == nil {
		s.catalogueChanged(ctx)
	}
	return r, err
}

// checkImageURL accepts no image, an image in our own store, or an https
// URL on an allowed host. Anything else could make every client that shows
// the recipe fetch from a server of the author's choosing.
func (s *Service) checkImageURL(raw string) error {
	if raw == "" || (s.images != nil && s.images.IsImageURL(raw)) {
		return nil
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme == "https" && u.User == nil &&
		s.imageHosts[strings.ToLower(u.Hostname())] {
		return nil
	}
	var v mealsync.Validation
	v.Add("imageUrl", "Image URL must be an image uploaded to MealSync or on an allowed host")
	return v.Err()
}
