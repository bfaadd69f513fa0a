package api

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/mealsync/mealsync"
)

// Every string that comes in — query parameters, the path, each string of
// a JSON body — is checked here, at the edge, to be valid UTF-8 without NUL
// (mealsync.ValidText) before a handler sees it: PostgreSQL refuses such
// text (a 500 if it got there) where SQLite would store it, so the check
// makes both databases answer alike, with a 400 that names the field.

const badText = "Must be valid UTF-8 text without NUL characters"

// checkRequestText checks the path and the query string of r. A query that
// does not parse (a stray %) is refused too: the handlers' r.URL.Query()
// would silently drop the pair, and the client would never learn why its
// filter did nothing.
func checkRequestText(r *http.Request) error {
	if !mealsync.ValidText(r.URL.Path) {
		return fieldError("path", badText)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fieldError("query", "Malformed query string: "+strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	var v mealsync.Validation
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // every problem, in a stable order
	for _, k := range keys {
		name := k
		if !mealsync.ValidText(k) {
			name = "query"
		}
		for _, val := range q[k] {
			if !mealsync.ValidText(k) || !mealsync.ValidText(val) {
				v.Add(name, badText)
				break
			}
		}
	}
	return v.Err()
}

// checkText walks a decoded request value and reports each string field
// that is not valid text, named by its JSON path ("ingredients[2].name").
func checkText(v any) error {
	var problems mealsync.Validation
	walkText(reflect.ValueOf(v), "", &problems)
	return problems.Err()
}

func walkText(v reflect.Value, path string, problems *mealsync.Validation) {
	switch v.Kind() {
	case reflect.String:
		if !mealsync.ValidText(v.String()) {
			problems.Add(strings.TrimPrefix(path, "."), badText)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, problems)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw JSON or bytes: not text
		}
		for i := range v.Len() {
			walkText(v.Index(i), fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			walkText(k, path, problems)
			walkText(v.MapIndex(k), path+"."+fmt.Sprint(k), problems)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			walkText(v.Field(i), path+"."+name, problems)
		}
	}
}
