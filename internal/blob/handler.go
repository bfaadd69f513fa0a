package blob

import (
	"bytes"
	"io"
	"net/http"

	"github.com/mealsync/mealsync"
)

// FailFunc writes err as the response. The HTTP layer passes its one error
// writer, so image errors get the same JSON envelope as every other.
type FailFunc func(w http.ResponseWriter, r *http.Request, err error)

// Handler serves GET and HEAD for images in store. Mount it on a pattern
// whose last wildcard is {key...}, e.g. "GET /images/{key...}" (a GET
// pattern matches HEAD too).
//
// Responses are cacheable forever (keys are content-addressed), carry a
// strong ETag (the key's SHA-256) that If-None-Match answers with 304,
// and are never sniffed. Ranges are served too.
//
// Errors go to fail: a missing key, or one that could name no image, is
// ENOTFOUND "Image not found"; a storage failure is EUNAVAILABLE. A nil
// fail writes plain text.
func Handler(store Store, fail FailFunc) http.Handler {
	if fail == nil {
		fail = failPlain
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// Only when mounted without a method; ServeMux answers the same.
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		key := r.PathValue("key")
		if err := ValidateKey(key); err != nil {
			// No stored image has this name; say so rather than 400.
			fail(w, r, notFound(key))
			return
		}
		rc, info, err := store.Open(r.Context(), key)
		if err != nil {
			fail(w, r, err)
			return
		}
		defer rc.Close()

		content, ok := rc.(io.ReadSeeker)
		if !ok {
			// A Store whose reader cannot seek: images are small, so hold
			// it in memory and let ServeContent do ranges from there.
			data, err := io.ReadAll(rc)
			if err != nil {
				fail(w, r, unavailable("read "+key, err))
				return
			}
			content = bytes.NewReader(data)
		}

		h := w.Header()
		if info.ContentType == "" {
			info.ContentType = "application/octet-stream" // never let ServeContent sniff
		}
		h.Set("Content-Type", info.ContentType)
		h.Set("Cache-Control", CacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		// Should anything but an image ever be stored, it still runs nothing
		// when opened on the API's origin.
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		if hash := contentHash(key); hash != "" {
			h.Set("ETag", `"`+hash+`"`)
		}
		// ServeContent answers If-None-Match (from the ETag above) and
		// If-Modified-Since, ranges and HEAD, and sets Content-Length.
		http.ServeContent(w, r, "", info.ModTime, content)
	})
}

// failPlain is the fallback error writer: a status and a line of text.
func failPlain(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "An unexpected error occurred"
	switch mealsync.ErrorCode(err) {
	case mealsync.ENOTFOUND:
		status, msg = http.StatusNotFound, "Image not found"
	case mealsync.EUNAVAILABLE:
		status, msg = http.StatusServiceUnavailable, "Image storage is unavailable"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}
