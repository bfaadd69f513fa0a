package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/api"
)

// pngImage is a real w×h PNG of one colour.
func pngImage(t *testing.T, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegImage is a real w×h JPEG.
func jpegImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 10), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody puts data in a part named field with a file name and a
// claimed Content-Type, as a browser would; it returns the body and the
// request's Content-Type.
func multipartBody(t *testing.T, field, filename, claimedType string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename))
	h.Set("Content-Type", claimedType)
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// upload posts data as the image part to path.
func upload(t *testing.T, e *env, path, token, filename, claimedType string, data []byte) response {
	t.Helper()
	body, ct := multipartBody(t, "image", filename, claimedType, data)
	return e.do("POST", path, token, body, "Content-Type", ct)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// padded returns a valid PNG followed by zero bytes up to n bytes: the
// header still parses, and the size is exact.
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b := pngImage(t, 2, 2, color.White)
	return append(b, make([]byte, n-len(b))...)
}

var textFile = []byte("name,quantity\ntomato,2\n")

func TestImageUpload(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("photographer@example.com")
		admin := e.newAdmin("editor@example.com")
		id := createRecipe(t, e, u.token, recipeBody("Photogenic"))["id"].(string)
		path := "/api/v1/recipes/" + id + "/image"

		for _, c := range []struct {
			name, ext, contentType string
			data                   []byte
		}{
			{"png", "png", "image/png", pngImage(t, 8, 6, color.RGBA{200, 30, 30, 255})},
			{"jpeg", "jpg", "image/jpeg", jpegImage(t, 16, 12)},
		} {
			t.Run(c.name, func(t *testing.T) {
				// The file name and claimed type lie; the bytes decide.
				r := e.expect(upload(t, e, path, admin.token, "photo.bin", "application/octet-stream", c.data), 200)
				if keys := objectKeys(t, mustField(t, r.raw, "data")); !slices.Equal(keys, recipeKeys) {
					t.Fatalf("keys %v", keys)
				}
				want := "/images/recipes/" + sha256Hex(c.data) + "." + c.ext
				d := r.data()
				if d["imageUrl"] != want {
					t.Fatalf("imageUrl %v, want %s", d["imageUrl"], want)
				}
				if d["updatedAt"] == nil {
					t.Fatal("updatedAt not set by the upload")
				}
				if got := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data()["imageUrl"]; got != want {
					t.Fatalf("stored imageUrl %v", got)
				}

				// Served publicly, immutable, byte for byte.
				img := e.expect(e.do("GET", want, "", nil), 200)
				if ct := img.header.Get("Content-Type"); ct != c.contentType {
					t.Errorf("Content-Type %q, want %q", ct, c.contentType)
				}
				if cc := img.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
					t.Errorf("Cache-Control %q", cc)
				}
				if !bytes.Equal(img.raw, c.data) {
					t.Errorf("served %d bytes, uploaded %d", len(img.raw), len(c.data))
				}

				// The same bytes again: the same URL.
				again := e.expect(upload(t, e, path, admin.token, "other-name.jpg", c.contentType, c.data), 200)
				if again.data()["imageUrl"] != want {
					t.Fatalf("second upload %v, want %s", again.data()["imageUrl"], want)
				}
			})
		}
		before := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data()

		// A text file named .png is refused by its content.
		r := e.expect(upload(t, e, path, admin.token, "photo.png", "image/png", textFile), 415)
		if got := r.errors(); !slices.Equal(got, []string{"Content-Type: Only JPEG, PNG and WebP images are accepted"}) {
			t.Fatalf("415: %q", got)
		}
		// A PNG header over a body that is not one.
		r = e.expect(upload(t, e, path, admin.token, "photo.png", "image/png", []byte("\x89PNG\r\n\x1a\nnot really")), 400)
		if got := r.errors(); !slices.Equal(got, []string{"Bad Request: The file is not a valid image"}) {
			t.Fatalf("corrupt PNG: %q", got)
		}
		pic := pngImage(t, 3, 3, color.Black)
		r = e.expect(upload(t, e, path, u.token, "photo.png", "image/png", pic), 403)
		if got := r.errors(); !slices.Equal(got, []string{"Forbidden: Access Denied"}) {
			t.Fatalf("403: %q", got)
		}
		e.expect(upload(t, e, path, "", "photo.png", "image/png", pic), 401)
		after := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data()
		if after["imageUrl"] != before["imageUrl"] || after["updatedAt"] != before["updatedAt"] {
			t.Fatalf("a refused upload changed the recipe: %v -> %v", before["imageUrl"], after["imageUrl"])
		}
		// Nothing was stored for the refused picture.
		e.expect(e.do("GET", "/images/recipes/"+sha256Hex(pic)+".png", "", nil), 404)

		unknown := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		r = e.expect(upload(t, e, "/api/v1/recipes/"+unknown+"/image", admin.token, "p.png", "image/png", pic), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + unknown}) {
			t.Fatalf("unknown recipe: %q", got)
		}
		e.expect(upload(t, e, "/api/v1/recipes/nope/image", admin.token, "p.png", "image/png", pic), 400)
	})
}

func TestImageUploadSizeLimit(t *testing.T) {
	e := sqliteEnv(t)
	u := e.newUser("big@example.com")
	admin := e.newAdmin("bigadmin@example.com")
	id := createRecipe(t, e, u.token, recipeBody("Heavy"))["id"].(string)
	path := "/api/v1/recipes/" + id + "/image"

	exact := padded(t, api.MaxUploadBytes)
	r := e.expect(upload(t, e, path, admin.token, "big.png", "image/png", exact), 200)
	want := r.data()["imageUrl"]

	r = e.expect(upload(t, e, path, admin.token, "big.png", "image/png", padded(t, api.MaxUploadBytes+1)), 413)
	if got := r.errors(); !slices.Equal(got, []string{"body: The image exceeds 10 MB"}) {
		t.Fatalf("413: %q", got)
	}
	if got := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data()["imageUrl"]; got != want {
		t.Fatalf("the refused upload changed imageUrl to %v", got)
	}
}

func TestImageUploadNeedsMultipart(t *testing.T) {
	e := sqliteEnv(t)
	u := e.newUser("form@example.com")
	admin := e.newAdmin("formadmin@example.com")
	id := createRecipe(t, e, u.token, recipeBody("Formless"))["id"].(string)
	path := "/api/v1/recipes/" + id + "/image"

	r := e.expect(e.do("POST", path, admin.token, `{"image": "base64?"}`), 415)
	if got := r.errors(); !slices.Equal(got, []string{"Content-Type: Content-Type must be multipart/form-data, with the image in a part named image"}) {
		t.Fatalf("JSON body: %q", got)
	}
	r = e.expect(e.do("POST", path, admin.token, "--x--", "Content-Type", "multipart/form-data"), 400)
	if got := r.errors(); !slices.Equal(got, []string{"image: Send the image as multipart/form-data in a part named image"}) {
		t.Fatalf("no boundary: %q", got)
	}
	body, ct := multipartBody(t, "photo", "p.png", "image/png", pngImage(t, 2, 2, color.White))
	r = e.expect(e.do("POST", path, admin.token, body, "Content-Type", ct), 400)
	if got := r.errors(); !slices.Equal(got, []string{"image: The multipart body has no part named image"}) {
		t.Fatalf("wrong part name: %q", got)
	}
}

func TestImageServeUnknown(t *testing.T) {
	e := sqliteEnv(t)
	for _, p := range []string{"/images/recipes/unknown.png", "/images/recipes/" + strings.Repeat("a", 64) + ".png", "/images/..%2Fsecret"} {
		r := e.expect(e.do("GET", p, "", nil), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Image not found"}) {
			t.Errorf("%s: %q (%s)", p, got, r.header.Get("Content-Type"))
		}
	}
}

func TestDetectIngredientsWithCatalogProvider(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("detective@example.com")
		pic := pngImage(t, 10, 10, color.RGBA{255, 99, 71, 255})
		for _, path := range []string{"/api/v1/recipes/detect-ingredients", "/api/v1/ingredient-recognition/detect"} {
			t.Run(strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
				r := e.expect(upload(t, e, path, u.token, "fridge.png", "image/png", pic), 503)
				if got := r.errors(); len(got) != 1 || !strings.Contains(got[0], "openai provider") {
					t.Fatalf("503: %q", got)
				}
				if r.body["data"] != nil {
					t.Fatalf("data must be null: %s", r.raw)
				}
				r = e.expect(upload(t, e, path, u.token, "fridge.png", "image/png", textFile), 415)
				if got := r.errors(); !slices.Equal(got, []string{"Content-Type: Only JPEG, PNG and WebP images are accepted"}) {
					t.Fatalf("415: %q", got)
				}
				r = e.expect(e.do("POST", path, u.token, `{"image": "x"}`), 415)
				if got := r.errors(); !slices.Equal(got, []string{"Content-Type: Content-Type must be multipart/form-data, with the image in a part named image"}) {
					t.Fatalf("no multipart: %q", got)
				}
				r = e.expect(upload(t, e, path, u.token, "fridge.png", "image/png", padded(t, api.MaxUploadBytes+1)), 413)
				if got := r.errors(); !slices.Equal(got, []string{"body: The image exceeds 10 MB"}) {
					t.Fatalf("413: %q", got)
				}
				e.expect(upload(t, e, path, "", "fridge.png", "image/png", pic), 401)
			})
		}
	})
}
