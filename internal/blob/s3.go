package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
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
type S3 struct {
	client  *minio.Client
	bucket  string
	baseURL string
}

var _ Store = (*S3)(nil)

// NewS3 builds the client. It makes no request: call Check to find out
// whether the bucket is there.
func NewS3(cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	base := cfg.PublicBaseURL
	if base == "" {
		scheme := "http"
		if cfg.UseSSL {
			scheme = "https"
		}
		base = scheme + "://" + cfg.Endpoint + "/" + cfg.Bucket
	}
	return &S3{client: client, bucket: cfg.Bucket, baseURL: base}, nil
}

// Check confirms the bucket exists and the credentials reach it; run calls
// it at startup so a misconfigured store fails there, not on the first
// upload. The error is EUNAVAILABLE.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return unavailable("bucket "+s.bucket, err)
	}
	if !ok {
		return unavailable("bucket "+s.bucket, errors.New("bucket does not exist"))
	}
	return nil
}

// Put uploads data with its Content-Type and an immutable Cache-Control.
func (s *S3) Put(ctx context.Context, key, contentType string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType:  contentType,
		CacheControl: CacheControl,
	})
	if err != nil {
		return unavailable("put "+key, err)
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
	body, st, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.openError(key, err)
	}
	return body, Info{Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

// openError maps the S3 API's answer: only a missing key is "not found"; a
// missing bucket is a misconfiguration, so storage is unavailable.
func (s *S3) openError(key string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return notFound(key)
	}
	return unavailable("open "+key, err)
}

// URL is the public base URL joined with key.
func (s *S3) URL(key string) string { return joinURL(s.baseURL, key) }
