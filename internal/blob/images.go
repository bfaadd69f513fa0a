package blob

import (
	"context"

	"github.com/mealsync/mealsync"
)

// Images is the image store the kitchen uses (mealsync.ImageStore): the
// content checks of Inspect and the names of ContentKey over any Store.
type Images struct{ Store Store }

var _ mealsync.ImageStore = Images{}

// CheckImage implements mealsync.ImageStore (Inspect).
func (im Images) CheckImage(data []byte) (string, error) {
	ct, _, err := Inspect(data)
	return ct, err
}

// PutImage implements mealsync.ImageStore: data, once Inspect accepts it,
// is stored under its ContentKey.
func (im Images) PutImage(ctx context.Context, data []byte) (string, error) {
	ct, ext, err := Inspect(data)
	if err != nil {
		return "", err
	}
	key := ContentKey(data, ext)
	if err := im.Store.Put(ctx, key, ct, data); err != nil {
		return "", err
	}
	return im.Store.URL(key), nil
}

// IsImageURL implements mealsync.ImageStore (IsStoreURL).
func (im Images) IsImageURL(raw string) bool { return IsStoreURL(im.Store, raw) }
