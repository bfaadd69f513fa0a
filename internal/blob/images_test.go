package blob_test

import (
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// Images is the kitchen's image store: an image goes in under its content
// key and its URL is recognised as the store's; anything else is refused
// before it is stored.
func TestImagesPutsCheckedImagesUnderTheirContent(t *testing.T) {
	store := newLocal(t)
	images := blob.Images{Store: store}
	data := newPNG(t, 4, 3)

	ct, err := images.CheckImage(data)
	if err != nil || ct != "image/png" {
		t.Fatalf("CheckImage = %q, %v; want image/png", ct, err)
	}
	url, err := images.PutImage(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.URL(blob.ContentKey(data, "png")); url != want {
		t.Fatalf("URL %q, want %q", url, want)
	}
	if got, _ := mustRead(t, store, blob.ContentKey(data, "png")); string(got) != string(data) {
		t.Fatal("the stored bytes differ from the upload")
	}
	if !images.IsImageURL(url) || images.IsImageURL(store.URL("recipes/not-a-hash.png")) || images.IsImageURL("https://elsewhere.example/a.png") {
		t.Fatalf("IsImageURL does not tell the store's URL (%s) from others", url)
	}
	_, err = images.PutImage(t.Context(), []byte("GIF89a not accepted"))
	wantCode(t, err, mealsync.EUNSUPPORTED)
}
