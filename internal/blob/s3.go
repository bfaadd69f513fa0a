package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3Config says where an S3-compatible bucket is and how clients reach its
// objects.
type S3Config struct {
	Endpoint  string // host[:port], no scheme: "s3.eu-west-1.amazonaws.com", "minio:9000"
	Region    string // "" lets the client ask the server
	Bucket    string
	AccessKey string
	SecretKey string
	UseSSL    bool
	// PublicBaseURL is what clients fetch objects from: a CDN or the
	// bucket's own URL; URL(key) is PublicBaseURL + "/" + key. ""
	// means the endpoint's path-style bucket URL.
	PublicBaseURL string
}

// Validate reports every missing setting at once.
func (c S3Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("S3 endpoint is required"))
	} else if strings.Contains(c.Endpoint, "/") {
		errs = append(errs, fmt.Errorf("S3 endpoint %q must be host[:port], without scheme or path", c.Endpoint))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("S3 bucket is required"))
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		errs = append(errs, errors.New("S3 access key and secret key are required"))
	}
	return errors.Join(errs...)
}

// S3 is a Store in an S3-compatible bucket. Objects carry their Content-Type
// and CacheControl, so a CDN in front of the bucket can serve them as they
// are.
//
// It speaks the S3 REST API itself: path-style requests over net/http,
// signed with AWS's own SigV4 signer. (A full S3 SDK cost a megabyte of
// the binary for the four calls below.)
type S3 struct {
	client   *http.Client
	signer   *v4.Signer
	creds    aws.Credentials
	scheme   string
	endpoint string
	bucket   string
	baseURL  string

	region string // configured; "" means ask the bucket (see s3region.go)

	mu         sync.Mutex
	discovered string // the bucket's region, once asked
}

var _ Store = (*S3)(nil)

// NewS3 builds the client. It makes no request: call Check to find out
// whether the bucket is there.
func NewS3(cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	scheme := "http"
	if cfg.UseSSL {
		scheme = "https"
	}
	base := cfg.PublicBaseURL
	if base == "" {
		base = scheme + "://" + cfg.Endpoint + "/" + cfg.Bucket
	}
	return &S3{
		client: &http.Client{
			// S3 redirects only when the endpoint or region is wrong; a
			// redirected request would carry a signature for another host,
			// so the 3xx is reported as the configuration error it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		// S3's canonical path is the request path escaped once, as
		// objectURL already escapes it; the signer must not escape it again.
		signer:   v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		creds:    aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, Source: "MealSync S3 config"},
		scheme:   scheme,
		endpoint: cfg.Endpoint,
		bucket:   cfg.Bucket,
		baseURL:  base,
		region:   cfg.Region,
	}, nil
}

// Check confirms the bucket exists and the credentials reach it (HEAD on
// the bucket); run calls it at startup so a misconfigured store fails
// there, not on the first upload. The error is EUNAVAILABLE.
func (s *S3) Check(ctx context.Context) error {
	req, err := s.newRequest(ctx, http.MethodHead, "", nil)
	if err != nil {
		return unavailable("bucket "+s.bucket, err)
	}
	resp, err := s.do(req)
	if err != nil {
		return unavailable("bucket "+s.bucket, err)
	}
	defer discard(resp)
	if resp.StatusCode/100 != 2 {
		return unavailable("bucket "+s.bucket, responseError(resp, codeNoSuchBucket))
	}
	return nil
}

// Put uploads data with its Content-Type and an immutable Cache-Control.
func (s *S3) Put(ctx context.Context, key, contentType string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	req, err := s.newRequest(ctx, http.MethodPut, key, data)
	if err != nil {
		return unavailable("put "+key, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Cache-Control", CacheControl)
	resp, err := s.do(req)
	if err != nil {
		return unavailable("put "+key, err)
	}
	defer discard(resp)
	if resp.StatusCode/100 != 2 {
		return unavailable("put "+key, responseError(resp, codeNoSuchKey))
	}
	return nil
}

// Open fetches key with one GET, whose error body (unlike HEAD's bare 404)
// tells a missing key from a missing bucket. The reader streams the body
// and cannot seek.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	req, err := s.newRequest(ctx, http.MethodGet, key, nil)
	if err != nil {
		return nil, Info{}, unavailable("open "+key, err)
	}
	// The stored bytes exactly, so Size is their length: no transparent
	// gzip from the transport.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.do(req)
	if err != nil {
		return nil, Info{}, unavailable("open "+key, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer discard(resp)
		return nil, Info{}, openError(key, responseError(resp, codeNoSuchKey))
	}
	modTime, _ := http.ParseTime(resp.Header.Get("Last-Modified")) // zero when absent
	return resp.Body, Info{Size: resp.ContentLength, ContentType: resp.Header.Get("Content-Type"), ModTime: modTime}, nil
}

// openError maps the S3 API's answer: only a missing key is "not found"; a
// missing bucket is a misconfiguration, so storage is unavailable.
func openError(key string, err *s3Error) error {
	if err.Code == codeNoSuchKey {
		return notFound(key)
	}
	return unavailable("open "+key, err)
}

// URL is the public base URL joined with key.
func (s *S3) URL(key string) string { return joinURL(s.baseURL, key) }
