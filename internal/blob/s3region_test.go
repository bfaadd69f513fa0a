package blob

import (
	"io"
	"net/http"
	"testing"

	"github.com/mealsync/mealsync"
)

// locationServer answers GetBucketLocation with status and body and every
// other request with 200, checking and recording signatures.
func locationServer(t *testing.T, status int, body string) *signingServer {
	t.Helper()
	return newSigningServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.URL.Query()["location"]; ok {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}))
}

// lookups counts the GetBucketLocation requests among seen, and collects
// the regions the others were signed for.
func lookups(seen []seenRequest) (n int, regions []string) {
	for _, r := range seen {
		if r.URI == "/"+stubBucket+"/?location=" {
			n++
			if r.Region != "us-east-1" {
				regions = append(regions, "lookup signed for "+r.Region)
			}
			continue
		}
		regions = append(regions, r.Region)
	}
	return n, regions
}

// With no region configured, the store asks the bucket once and signs
// everything after for the answer.
func TestS3AsksTheBucketForItsRegion(t *testing.T) {
	const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	wrongRegion := func(code, region string) string {
		return `<Error><Code>` + code + `</Code><Message>the region is wrong</Message><Region>` + region + `</Region></Error>`
	}
	for _, tt := range []struct {
		name       string
		configured string
		status     int
		body       string
		want       string
		lookups    int
	}{
		{"configured: no lookup", "ap-south-1", 500, "", "ap-south-1", 0},
		{"us-east-1 answers empty", "", 200, `<LocationConstraint` + ns + `/>`, "us-east-1", 1},
		{"named region", "", 200, `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<LocationConstraint` + ns + `>eu-central-1</LocationConstraint>`, "eu-central-1", 1},
		{"legacy EU", "", 200, `<LocationConstraint>EU</LocationConstraint>`, "eu-west-1", 1},
		{"self-hosted region name", "", 200, `<LocationConstraint>garage</LocationConstraint>`, "garage", 1},
		{"refused for the wrong region", "", 400, wrongRegion("AuthorizationHeaderMalformed", "ap-southeast-2"), "ap-southeast-2", 1},
		{"invalid region", "", 400, wrongRegion("InvalidRegion", "us-west-2"), "us-west-2", 1},
		{"not allowed to ask", "", 403, `<Error><Code>AccessDenied</Code></Error>`, "us-east-1", 1},
		{"store without the call", "", 501, `<Error><Code>NotImplemented</Code></Error>`, "us-east-1", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := locationServer(t, tt.status, tt.body)
			s := newStubS3(t, srv.URL, tt.configured)
			ctx := t.Context()
			for range 2 {
				if err := s.Check(ctx); err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			if err := s.Put(ctx, "recipes/a.png", "image/png", []byte("x")); err != nil {
				t.Fatalf("Put: %v", err)
			}
			n, regions := lookups(srv.requests())
			if n != tt.lookups {
				t.Errorf("%d region lookups, want %d", n, tt.lookups)
			}
			if len(regions) != 3 {
				t.Fatalf("signed for %q, want three requests", regions)
			}
			for _, got := range regions {
				if got != tt.want {
					t.Errorf("signed for %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// A lookup that fails is an unavailable store, and is not remembered: the
// next call asks again.
func TestS3RegionLookupFailure(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"no such bucket", 404, `<Error><Code>NoSuchBucket</Code></Error>`},
		{"bare 404", 404, ""},
		{"bad credentials", 403, `<Error><Code>InvalidAccessKeyId</Code></Error>`},
		{"bad signature", 403, `<Error><Code>SignatureDoesNotMatch</Code></Error>`},
		{"not XML", 200, `{"location": "us-east-1"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := locationServer(t, tt.status, tt.body)
			s := newStubS3(t, srv.URL, "")
			ctx := t.Context()
			for range 2 {
				if got := mealsync.ErrorCode(s.Check(ctx)); got != mealsync.EUNAVAILABLE {
					t.Errorf("Check: code %q, want unavailable", got)
				}
			}
			_, _, err := s.Open(ctx, "recipes/a.png")
			if got := mealsync.ErrorCode(err); got != mealsync.EUNAVAILABLE {
				t.Errorf("Open: code %q (%v), want unavailable", got, err)
			}
			n, regions := lookups(srv.requests())
			if n != 3 || len(regions) != 0 {
				t.Errorf("%d lookups and %d other requests, want 3 lookups and nothing else", n, len(regions))
			}
		})
	}
}
