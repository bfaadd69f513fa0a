package catalog

import (
	"bytes"
	"os"
	"testing"
)

// The embedded, gzipped catalogue must be the current recipes.json.
func TestEmbeddedCatalogueIsCurrent(t *testing.T) {
	want, err := os.ReadFile("recipes.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := source()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("recipes.json.gz is stale: run `go generate ./internal/catalog`")
	}
}
