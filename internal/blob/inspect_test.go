package blob_test

import (
	"bytes"
	"image/gif"
	"testing"

	"golang.org/x/image/webp"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// The WebP fixtures must be real images, or the WebP cases below prove
// nothing.
func TestWebPFixturesDecode(t *testing.T) {
	for name, data := range map[string][]byte{"lossless": webpLossless, "lossy": webpLossy} {
		img, err := webp.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
			t.Errorf("%s: bounds %v, want 1x1", name, b)
		}
	}
}

func TestInspect(t *testing.T) {
	const (
		notImage    = "The file is not a valid image"
		unsupported = "Only JPEG, PNG and WebP images are accepted"
	)
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, testImage(2, 2), nil); err != nil {
		t.Fatal(err)
	}
	realPNG := newPNG(t, 4, 3)

	tests := []struct {
		name     string
		data     []byte
		wantType string
		wantExt  string
		wantCode string
		wantMsg  string // checked when set
	}{
		{name: "jpeg", data: newJPEG(t, 4, 3), wantType: "image/jpeg", wantExt: "jpg"},
		{name: "png", data: realPNG, wantType: "image/png", wantExt: "png"},
		{name: "webp lossless", data: webpLossless, wantType: "image/webp", wantExt: "webp"},
		{name: "webp lossy", data: webpLossy, wantType: "image/webp", wantExt: "webp"},
		{name: "at the size limit", data: pngSized(t, 10000, 10000), wantType: "image/png", wantExt: "png"},

		{name: "text file renamed", data: []byte("Grandma's pancakes: flour, eggs, milk.\n"), wantCode: mealsync.EUNSUPPORTED, wantMsg: unsupported},
		{name: "gif", data: gifData.Bytes(), wantCode: mealsync.EUNSUPPORTED, wantMsg: unsupported},
		{name: "riff but not webp", data: []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), wantCode: mealsync.EUNSUPPORTED, wantMsg: unsupported},
		{name: "empty", data: nil, wantCode: mealsync.EINVALID, wantMsg: "The file is empty"},

		{name: "png magic then garbage", data: []byte("\x89PNG\r\n\x1a\nthis is not a png at all, just text"), wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "png magic only", data: []byte("\x89PNG\r\n\x1a\n"), wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "png truncated in header", data: realPNG[:20], wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "jpeg magic then garbage", data: []byte("\xff\xd8\xffthis is not a jpeg either"), wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "jpeg magic only", data: []byte{0xFF, 0xD8, 0xFF}, wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "webp magic then garbage", data: []byte("RIFF\x20\x00\x00\x00WEBPnot a webp chunk at all"), wantCode: mealsync.EINVALID, wantMsg: notImage},
		{name: "webp truncated", data: webpLossless[:len(webpLossless)-10], wantCode: mealsync.EINVALID, wantMsg: notImage},

		{name: "png too wide", data: pngSized(t, 10001, 1), wantCode: mealsync.EINVALID,
			wantMsg: "The image is 10001x1 pixels; at most 10000x10000 are accepted"},
		{name: "png bomb", data: pngSized(t, 50000, 50000), wantCode: mealsync.EINVALID,
			wantMsg: "The image is 50000x50000 pixels; at most 10000x10000 are accepted"},
		{name: "jpeg too tall", data: jpegSized(t, 1, 10001), wantCode: mealsync.EINVALID,
			wantMsg: "The image is 1x10001 pixels; at most 10000x10000 are accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, ext, err := blob.Inspect(tt.data)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				if tt.wantMsg != "" && publicMessage(err) != tt.wantMsg {
					t.Errorf("message = %q, want %q", publicMessage(err), tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if ct != tt.wantType || ext != tt.wantExt {
				t.Errorf("Inspect = %q, %q; want %q, %q", ct, ext, tt.wantType, tt.wantExt)
			}
		})
	}
}
