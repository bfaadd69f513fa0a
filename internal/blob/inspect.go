package blob

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/mealsync/mealsync"
)

// MaxDimension bounds an image's width and height. A small file can declare
// a huge canvas (a decompression bomb); anything that ever decodes an upload
// — a thumbnailer, a client — must not be handed one.
const MaxDimension = 10000

// format is one accepted image type: how to recognise it by its first
// bytes, and how to read its header.
type format struct {
	contentType, ext string
	magic            func([]byte) bool
	decodeConfig     func(io.Reader) (image.Config, error)
}

// formats are the accepted types. Each is decoded with its own package's
// DecodeConfig rather than image.DecodeConfig, so a file must be what its
// magic says, and nothing depends on decoders registered as a side effect
// of imports.
var formats = []format{
	{"image/jpeg", "jpg", func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }, jpeg.DecodeConfig},
	{"image/png", "png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }, png.DecodeConfig},
	{"image/webp", "webp", func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	}, webp.DecodeConfig},
}

// Inspect decides what data is by its content, never by a file name or a
// client's Content-Type: JPEG, PNG or WebP, whose header must parse as an
// image no larger than MaxDimension on either side. It returns the
// Content-Type to store and the extension for ContentKey.
//
// Only headers are parsed (the pixels are never decoded, so inspecting
// costs little whatever the file claims): a file with a sound header and
// corrupt pixel data passes, and shows as a broken image.
//
// Errors: EUNSUPPORTED for any other type; EINVALID for an empty file, one
// whose header does not parse, or one too large in pixels.
func Inspect(data []byte) (contentType, ext string, err error) {
	if len(data) == 0 {
		return "", "", mealsync.Errorf(mealsync.EINVALID, "The file is empty")
	}
	for _, f := range formats {
		if !f.magic(data) {
			continue
		}
		cfg, err := f.decodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 1 || cfg.Height < 1 {
			return "", "", mealsync.Errorf(mealsync.EINVALID, "The file is not a valid image")
		}
		if cfg.Width > MaxDimension || cfg.Height > MaxDimension {
			return "", "", mealsync.Errorf(mealsync.EINVALID,
				"The image is %dx%d pixels; at most %dx%d are accepted", cfg.Width, cfg.Height, MaxDimension, MaxDimension)
		}
		return f.contentType, f.ext, nil
	}
	return "", "", mealsync.Errorf(mealsync.EUNSUPPORTED, "Only JPEG, PNG and WebP images are accepted")
}
