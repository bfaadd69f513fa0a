package blob

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// defaultRegion is what S3 calls its original region. Requests about a
// bucket whose region is not known yet are signed for it, and so is every
// request to a store that answers no better (MinIO's default region is
// this one too).
const defaultRegion = "us-east-1"

// signingRegion is the region requests are signed for: the configured one,
// else the bucket's own, asked once with GetBucketLocation. A failed
// lookup is not remembered, so the next request asks again.
//
// Asking, rather than assuming us-east-1, keeps an empty MEALSYNC_S3_REGION
// working for stores that check the region: AWS buckets outside
// us-east-1, Garage, Backblaze B2, MinIO with a region set.
func (s *S3) signingRegion(ctx context.Context) (string, error) {
	if s.region != "" {
		return s.region, nil
	}
	s.mu.Lock()
	region := s.discovered
	s.mu.Unlock()
	if region != "" {
		return region, nil
	}
	// Not under the lock: concurrent first requests may each ask, which
	// is harmless, and none waits on another's context.
	region, err := s.bucketRegion(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.discovered = region
	s.mu.Unlock()
	return region, nil
}

// bucketRegion asks the server for the bucket's region (GET /bucket/?location,
// signed for us-east-1 as AWS expects of this call).
func (s *S3) bucketRegion(ctx context.Context) (string, error) {
	req, err := s.newRequest(ctx, http.MethodGet, "", nil)
	if err != nil {
		return "", err
	}
	req.URL.RawQuery = "location="
	resp, err := s.signAndSend(req, defaultRegion)
	if err != nil {
		return "", err
	}
	defer discard(resp)
	if resp.StatusCode != http.StatusOK {
		return regionFromError(responseError(resp, codeNoSuchBucket))
	}
	var location string
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err == nil {
		err = xml.Unmarshal(body, &location)
	}
	if err != nil {
		return "", err
	}
	switch location = strings.TrimSpace(location); location {
	case "": // S3's answer for us-east-1
		return defaultRegion, nil
	case "EU": // a legacy name
		return "eu-west-1", nil
	}
	return location, nil
}

// regionFromError reads the region from a refused GetBucketLocation, as
// minio-go did before us: a wrong-region refusal names the bucket's
// region; credentials not allowed to ask, or a store that does not
// implement the call, leave us-east-1. Anything else (no such bucket, bad
// credentials) is the error.
func regionFromError(e *s3Error) (string, error) {
	switch e.Code {
	case "AuthorizationHeaderMalformed", "InvalidRegion", "AccessDenied":
		if e.Region != "" {
			return e.Region, nil
		}
		return defaultRegion, nil
	case "NotImplemented":
		return defaultRegion, nil
	}
	return "", e
}
