package api

import "net/http/httptest"

// Fingerprint is fingerprint for the external tests, which reserve keys in
// the store as a crashed attempt would have.
func Fingerprint(method, target string, body []byte) string {
	return fingerprint(httptest.NewRequest(method, target, nil), body)
}
