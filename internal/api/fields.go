package api

import (
	"slices"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
)

var passwordProblems = auth.PasswordProblems

func sortFields(v mealsync.Validation) {
	slices.SortStableFunc(v, func(a, b mealsync.FieldError) int { return strings.Compare(a.Field, b.Field) })
}
