// Package config reads MealSync's configuration from the environment (and a
// few flags) into one typed struct, validated before anything starts. Every
// variable here is listed in the README's configuration table.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvStaging     = "staging"
	EnvProduction  = "production"
)

// Config is everything the server can be told.
type Config struct {
	Env  string // development, staging or production
	Addr string // listen address

	DatabaseURL string // postgres://… or sqlite:path
	// DirectDatabaseURL reaches PostgreSQL without a pooler, when
	// DatabaseURL goes through one in transaction mode (PgBouncer): it
	// takes what a pooled session cannot carry — migrations, LISTEN,
	// pg_dump. Empty: DatabaseURL is direct.
	DirectDatabaseURL string
	// ListenDatabaseURL is the connection live sync LISTENs on; default
	// DirectDatabaseURL, else DatabaseURL.
	ListenDatabaseURL string
	// ReplicaURLs are streaming replicas of the PostgreSQL primary that
	// answer the catalogue's reads while they lag less than ReplicaMaxLag.
	ReplicaURLs       []string
	ReplicaMaxLag     time.Duration
	DBMaxOpenConns    int
	DBMaxIdleConns    int
	DBConnMaxLifetime time.Duration
	DBConnMaxIdleTime time.Duration
	MigrateOnStart    bool // PostgreSQL only; SQLite always migrates on start
	DataDir           string

	// JWTSecret signs access tokens. Empty only in development, where the
	// server makes a random key of its own and keeps it in DataDir.
	JWTSecret string
	// JWTPreviousSecrets still verify tokens (never sign): the keys of a
	// rotation's window.
	JWTPreviousSecrets []string
	AccessTokenTTL     time.Duration
	RefreshTokenTTL    time.Duration
	// RefreshRetry: a refresh token sent again this soon after its exchange,
	// its successor unused, gets the same answer (a retry, not a reuse).
	RefreshRetry     time.Duration
	LoginMaxFailures int
	LoginWindow      time.Duration
	TrustedProxies   []netip.Prefix // whose X-Forwarded-For is believed
	// UserCacheSize users are kept in memory per instance (0: none);
	// UserCacheTTL is how often the database is asked which changed.
	UserCacheSize int
	UserCacheTTL  time.Duration
	// RegisterMaxPerAddress sign-ups per client address within
	// RegisterWindow (0: no limit).
	RegisterMaxPerAddress int
	RegisterWindow        time.Duration

	ShutdownDelay   time.Duration // readiness DOWN, still serving, before Shutdown
	ShutdownTimeout time.Duration // for in-flight requests once Shutdown starts

	LogLevel  slog.Level
	LogFormat string // json or text

	ListCacheSize int // catalogue pages cached in memory; 0 turns the cache off
	// MaxInFlight API requests are served at once (0: no bound); past it a
	// request waits up to AdmissionWait for a slot, then is answered 503.
	MaxInFlight         int
	AdmissionWait       time.Duration
	CatalogueIndex      bool          // list and search the catalogue from memory
	CatalogueVersionTTL time.Duration // how stale another instance's catalogue change may be seen

	AIProvider    string // catalog (offline) or openai
	OpenAIBaseURL string
	OpenAIAPIKey  string
	OpenAIModel   string
	OpenAITimeout time.Duration

	BlobDir            string // local image store (when no S3 bucket is set)
	PublicImageBaseURL string // what image URLs start with; "" = /images or the bucket's URL
	S3Endpoint         string // host[:port]
	S3Bucket           string // set: images go to S3 instead of BlobDir
	S3Region           string
	S3AccessKey        string
	S3SecretKey        string
	S3UseSSL           bool

	// The app's own defences, for when no nginx stands in front (defence.go).
	OpsAddr     string   // the ops listener (metrics, build info); "" when MEALSYNC_OPS_ADDR=off
	CORSOrigins []string // browser origins allowed to call the API; none: no CORS headers at all
	// ImageURLHosts are host names, besides our own image store, that a
	// recipe's imageUrl may point at (https only); empty: our store only.
	ImageURLHosts []string
}

// Postgres reports whether DatabaseURL names a PostgreSQL server.
func (c *Config) Postgres() bool { return isPostgresURL(c.DatabaseURL) }

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Pooled says DatabaseURL goes through a transaction pooler: a direct URL
// was given beside it.
func (c *Config) Pooled() bool { return c.DirectDatabaseURL != "" }

// DirectURL is the URL of a session of PostgreSQL's own: the direct URL,
// else DatabaseURL.
func (c *Config) DirectURL() string {
	if c.Pooled() {
		return c.DirectDatabaseURL
	}
	return c.DatabaseURL
}

// SQLitePath is the database file when not on PostgreSQL.
func (c *Config) SQLitePath() string {
	p := strings.TrimPrefix(strings.TrimPrefix(c.DatabaseURL, "sqlite:"), "file:")
	return strings.TrimPrefix(p, "//")
}

// Load reads the environment, then the flags in args (which override it).
// args excludes the program and subcommand names. Every problem found is
// returned at once.
func Load(getenv func(string) string, args []string, stderr io.Writer) (*Config, error) {
	r := reader{getenv: getenv}
	c := &Config{
		Env:                   r.str("MEALSYNC_ENV", EnvDevelopment),
		Addr:                  r.str("MEALSYNC_ADDR", ":8081"),
		DatabaseURL:           r.str("MEALSYNC_DATABASE_URL", "sqlite:data/mealsync.db"),
		DirectDatabaseURL:     r.str("MEALSYNC_DIRECT_DATABASE_URL", ""),
		ListenDatabaseURL:     r.str("MEALSYNC_LISTEN_DATABASE_URL", ""),
		ReplicaURLs:           r.list("MEALSYNC_DATABASE_REPLICA_URLS"),
		ReplicaMaxLag:         r.duration("MEALSYNC_REPLICA_MAX_LAG", 2*time.Second),
		DBMaxOpenConns:        r.int("MEALSYNC_DB_MAX_OPEN_CONNS", 20),
		DBMaxIdleConns:        r.int("MEALSYNC_DB_MAX_IDLE_CONNS", -1), // unset: the pool size (below)
		DBConnMaxLifetime:     r.duration("MEALSYNC_DB_CONN_MAX_LIFETIME", 30*time.Minute),
		DBConnMaxIdleTime:     r.duration("MEALSYNC_DB_CONN_MAX_IDLE_TIME", 10*time.Minute),
		MigrateOnStart:        r.bool("MEALSYNC_MIGRATE_ON_START", false),
		DataDir:               r.str("MEALSYNC_DATA_DIR", ""),
		JWTSecret:             r.str("MEALSYNC_JWT_SECRET", r.str("JWT_SECRET", "")),
		JWTPreviousSecrets:    r.list("MEALSYNC_JWT_PREVIOUS_SECRETS"),
		AccessTokenTTL:        r.duration("MEALSYNC_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:       r.duration("MEALSYNC_REFRESH_TOKEN_TTL", 7*24*time.Hour),
		RefreshRetry:          r.duration("MEALSYNC_REFRESH_RETRY_INTERVAL", 0),
		LoginMaxFailures:      r.int("MEALSYNC_LOGIN_MAX_FAILURES", 5),
		LoginWindow:           r.duration("MEALSYNC_LOGIN_WINDOW", 15*time.Minute),
		TrustedProxies:        r.prefixes("MEALSYNC_TRUSTED_PROXIES"),
		RegisterMaxPerAddress: r.int("MEALSYNC_REGISTER_MAX_PER_ADDRESS", 20),
		RegisterWindow:        r.duration("MEALSYNC_REGISTER_WINDOW", 10*time.Minute),
		UserCacheSize:         r.int("MEALSYNC_USER_CACHE_SIZE", 100_000),
		UserCacheTTL:          r.duration("MEALSYNC_USER_CACHE_TTL", 500*time.Millisecond),
		ShutdownDelay:         r.duration("MEALSYNC_SHUTDOWN_DELAY", 5*time.Second),
		ShutdownTimeout:       r.duration("MEALSYNC_SHUTDOWN_TIMEOUT", 30*time.Second),
		LogFormat:             r.str("MEALSYNC_LOG_FORMAT", ""),
		ListCacheSize:         r.int("MEALSYNC_LIST_CACHE_SIZE", 1000),
		MaxInFlight:           r.int("MEALSYNC_MAX_IN_FLIGHT", 256),
		AdmissionWait:         r.duration("MEALSYNC_ADMISSION_WAIT", time.Second),
		CatalogueIndex:        r.bool("MEALSYNC_CATALOGUE_INDEX", true),
		CatalogueVersionTTL:   r.duration("MEALSYNC_CATALOGUE_VERSION_TTL", time.Second),
		AIProvider:            r.str("MEALSYNC_AI_PROVIDER", "catalog"),
		OpenAIBaseURL:         r.str("MEALSYNC_OPENAI_BASE_URL", "https://api.openai.com/v1"),
		OpenAIAPIKey:          r.str("MEALSYNC_OPENAI_API_KEY", ""),
		OpenAIModel:           r.str("MEALSYNC_OPENAI_MODEL", "gpt-4o-mini"),
		// Two attempts of 25 s fit in the server's 60 s write timeout.
		OpenAITimeout:      r.duration("MEALSYNC_OPENAI_TIMEOUT", 25*time.Second),
		BlobDir:            r.str("MEALSYNC_BLOB_DIR", ""),
		PublicImageBaseURL: r.str("MEALSYNC_PUBLIC_IMAGE_BASE_URL", ""),
		S3Endpoint:         r.str("MEALSYNC_S3_ENDPOINT", ""),
		S3Bucket:           r.str("MEALSYNC_S3_BUCKET", ""),
		S3Region:           r.str("MEALSYNC_S3_REGION", ""),
		S3AccessKey:        r.str("MEALSYNC_S3_ACCESS_KEY", ""),
		S3SecretKey:        r.str("MEALSYNC_S3_SECRET_KEY", ""),
		S3UseSSL:           r.bool("MEALSYNC_S3_USE_SSL", true),
		OpsAddr:            r.opsAddr("MEALSYNC_OPS_ADDR", DefaultOpsAddr),
		CORSOrigins:        r.origins("MEALSYNC_CORS_ORIGINS"),

		ImageURLHosts: r.hosts("MEALSYNC_IMAGE_URL_HOSTS"),
	}
	level := r.str("MEALSYNC_LOG_LEVEL", "info")

	fs := flag.NewFlagSet("mealsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen `address` (MEALSYNC_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres:// URL or sqlite:`path` (MEALSYNC_DATABASE_URL)")
	fs.StringVar(&c.Env, "env", c.Env, "development, staging or production (MEALSYNC_ENV)")
	fs.BoolVar(&c.MigrateOnStart, "migrate-on-start", c.MigrateOnStart, "apply PostgreSQL migrations before serving (MEALSYNC_MIGRATE_ON_START)")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (MEALSYNC_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	dbFlag := false
	fs.Visit(func(f *flag.Flag) { dbFlag = dbFlag || f.Name == "database-url" })
	if c.Env == EnvProduction && !dbFlag && r.str("MEALSYNC_DATABASE_URL", "") == "" {
		// An env file with an empty value must not silently fall back to a
		// local SQLite file that several replicas would then share.
		r.errs = append(r.errs, errors.New("MEALSYNC_DATABASE_URL is required in production"))
	}
	if fs.NArg() > 0 {
		r.errs = append(r.errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		r.errs = append(r.errs, fmt.Errorf("MEALSYNC_LOG_LEVEL: %q is not debug, info, warn or error", level))
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if c.Env == EnvDevelopment {
			c.LogFormat = "text"
		}
	}
	if c.ListenDatabaseURL == "" {
		c.ListenDatabaseURL = c.DirectURL()
	}
	if c.DataDir == "" {
		c.DataDir = "data"
		if !c.Postgres() {
			c.DataDir = filepath.Dir(c.SQLitePath())
		}
	}
	if c.BlobDir == "" {
		c.BlobDir = filepath.Join(c.DataDir, "images")
	}
	if c.DBMaxIdleConns == -1 && getenv("MEALSYNC_DB_MAX_IDLE_CONNS") == "" {
		// Keep the whole pool: a pool that keeps fewer idle connections
		// than it opens closes and reopens them (each a PostgreSQL backend)
		// at every burst; MEALSYNC_DB_CONN_MAX_IDLE_TIME closes them after
		// a quiet spell.
		c.DBMaxIdleConns = c.DBMaxOpenConns
	}
	return c, errors.Join(append(r.errs, c.Validate())...)
}

// Validate checks the values together.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Env {
	case EnvDevelopment, EnvStaging, EnvProduction:
	default:
		bad("MEALSYNC_ENV: %q is not development, staging or production", c.Env)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("MEALSYNC_ADDR: %q is not host:port", c.Addr)
	}
	if !c.Postgres() && c.SQLitePath() == "" {
		bad("MEALSYNC_DATABASE_URL: give a postgres:// URL or sqlite:path")
	}
	if c.Postgres() {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			bad("MEALSYNC_DATABASE_URL: not a valid URL")
		}
	}
	for _, u := range c.ReplicaURLs {
		if _, err := url.Parse(u); err != nil || !isPostgresURL(u) || !c.Postgres() {
			bad("MEALSYNC_DATABASE_REPLICA_URLS: give postgres:// URLs, beside a postgres:// MEALSYNC_DATABASE_URL")
			break
		}
	}
	if c.ReplicaMaxLag <= 0 {
		bad("MEALSYNC_REPLICA_MAX_LAG must be positive")
	}
	if c.DirectDatabaseURL != "" {
		if _, err := url.Parse(c.DirectDatabaseURL); err != nil || !isPostgresURL(c.DirectDatabaseURL) || !c.Postgres() {
			bad("MEALSYNC_DIRECT_DATABASE_URL: give a postgres:// URL, beside a postgres:// MEALSYNC_DATABASE_URL")
		}
	}
	if c.DBMaxOpenConns < 1 {
		bad("MEALSYNC_DB_MAX_OPEN_CONNS must be at least 1")
	}
	if c.DBMaxIdleConns < 0 || c.DBMaxIdleConns > c.DBMaxOpenConns {
		bad("MEALSYNC_DB_MAX_IDLE_CONNS must be between 0 and MEALSYNC_DB_MAX_OPEN_CONNS")
	}
	for name, d := range map[string]time.Duration{
		"MEALSYNC_ACCESS_TOKEN_TTL": c.AccessTokenTTL, "MEALSYNC_REFRESH_TOKEN_TTL": c.RefreshTokenTTL,
		"MEALSYNC_LOGIN_WINDOW": c.LoginWindow, "MEALSYNC_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
		"MEALSYNC_REGISTER_WINDOW": c.RegisterWindow, "MEALSYNC_ADMISSION_WAIT": c.AdmissionWait,
	} {
		if d <= 0 {
			bad("%s must be positive", name)
		}
	}
	if c.ShutdownDelay < 0 {
		bad("MEALSYNC_SHUTDOWN_DELAY must not be negative")
	}
	if c.ListCacheSize < 0 || c.CatalogueVersionTTL < 0 {
		bad("MEALSYNC_LIST_CACHE_SIZE and MEALSYNC_CATALOGUE_VERSION_TTL must not be negative")
	}
	if c.LoginMaxFailures < 1 {
		bad("MEALSYNC_LOGIN_MAX_FAILURES must be at least 1")
	}
	if c.RefreshRetry < 0 || c.RefreshRetry > time.Minute {
		bad("MEALSYNC_REFRESH_RETRY_INTERVAL must be between 0 (every second use of a refresh token is a reuse) and 1m")
	}
	if c.MaxInFlight < 0 {
		bad("MEALSYNC_MAX_IN_FLIGHT must not be negative (0 turns the bound off)")
	}
	if c.UserCacheSize < 0 {
		bad("MEALSYNC_USER_CACHE_SIZE must not be negative (0 turns the cache off)")
	}
	if c.UserCacheTTL < 0 || c.UserCacheTTL > time.Second {
		bad("MEALSYNC_USER_CACHE_TTL must be between 0 and 1s: a ban or sign-out must reach every instance within a second")
	}
	if c.RegisterMaxPerAddress < 0 {
		bad("MEALSYNC_REGISTER_MAX_PER_ADDRESS must not be negative (0 turns the limit off)")
	}
	switch c.AIProvider {
	case "catalog":
	case "openai":
		if c.OpenAIAPIKey == "" {
			bad("MEALSYNC_OPENAI_API_KEY is required with MEALSYNC_AI_PROVIDER=openai")
		}
	default:
		bad("MEALSYNC_AI_PROVIDER: %q is not catalog or openai", c.AIProvider)
	}
	if c.S3Bucket != "" && (c.S3Endpoint == "" || c.S3AccessKey == "" || c.S3SecretKey == "") {
		bad("MEALSYNC_S3_BUCKET needs MEALSYNC_S3_ENDPOINT, MEALSYNC_S3_ACCESS_KEY and MEALSYNC_S3_SECRET_KEY")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("MEALSYNC_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	errs = append(errs, c.validateOps())
	return errors.Join(errs...)
}

// ValidateSecrets checks what only the server needs: `migrate` and
// `healthcheck` run without the JWT secret (a migration job need not hold it).
// Development may go without one: the server then makes a random key.
func (c *Config) ValidateSecrets() error {
	var errs []error
	switch {
	case c.JWTSecret == "" && c.Env != EnvDevelopment:
		errs = append(errs, fmt.Errorf("MEALSYNC_JWT_SECRET is required in %s (e.g. openssl rand -base64 48)", c.Env))
	case c.JWTSecret != "" && len(c.JWTSecret) < minSecretBytes:
		errs = append(errs, fmt.Errorf("MEALSYNC_JWT_SECRET must be at least %d bytes (e.g. openssl rand -base64 48)", minSecretBytes))
	case slices.Contains(publishedSecrets, c.JWTSecret):
		errs = append(errs, errors.New("MEALSYNC_JWT_SECRET is a key published in MealSync's source; anyone could sign tokens with it: set one of your own (e.g. openssl rand -base64 48)"))
	}
	for i, p := range c.JWTPreviousSecrets {
		if len(p) < minSecretBytes {
			errs = append(errs, fmt.Errorf("MEALSYNC_JWT_PREVIOUS_SECRETS: entry %d is shorter than %d bytes", i+1, minSecretBytes))
		}
		if slices.Contains(publishedSecrets, p) {
			errs = append(errs, fmt.Errorf("MEALSYNC_JWT_PREVIOUS_SECRETS: entry %d is a key published in MealSync's source", i+1))
		}
		if p == c.JWTSecret {
			errs = append(errs, fmt.Errorf("MEALSYNC_JWT_PREVIOUS_SECRETS: entry %d is the current secret", i+1))
		}
	}
	if len(c.JWTPreviousSecrets) > 0 && c.JWTSecret == "" {
		errs = append(errs, errors.New("MEALSYNC_JWT_PREVIOUS_SECRETS needs MEALSYNC_JWT_SECRET: previous keys only verify"))
	}
	return errors.Join(errs...)
}

// minSecretBytes is the shortest HMAC key accepted (HS256's output size).
const minSecretBytes = 32

// publishedSecrets are keys anyone can read in MealSync's source or its
// history: the development default of releases before random development
// keys. A server never signs or verifies with one of them.
var publishedSecrets = []string{"mealsync-development-secret-do-not-use-in-production"}

// JWTKeyFile is where a development server without MEALSYNC_JWT_SECRET
// keeps the random key it made.
func (c *Config) JWTKeyFile() string { return filepath.Join(c.DataDir, "jwt-signing-key") }

// LogValue logs the configuration with secrets masked.
func (c *Config) LogValue() slog.Value {
	secret := "(set, " + strconv.Itoa(len(c.JWTSecret)) + " bytes)"
	if c.JWTSecret == "" {
		secret = "(unset: a random key kept in " + c.JWTKeyFile() + ")"
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("addr", c.Addr),
		slog.String("database_url", RedactURL(c.DatabaseURL)),
		slog.String("direct_database_url", RedactURL(c.DirectDatabaseURL)),
		slog.String("listen_database_url", RedactURL(c.ListenDatabaseURL)),
		slog.Any("database_replica_urls", redactAll(c.ReplicaURLs)),
		slog.Duration("replica_max_lag", c.ReplicaMaxLag),
		slog.Int("db_max_open_conns", c.DBMaxOpenConns),
		slog.Int("db_max_idle_conns", c.DBMaxIdleConns),
		slog.Duration("db_conn_max_lifetime", c.DBConnMaxLifetime),
		slog.Duration("db_conn_max_idle_time", c.DBConnMaxIdleTime),
		slog.Bool("migrate_on_start", c.MigrateOnStart),
		slog.String("data_dir", c.DataDir),
		slog.String("jwt_secret", secret),
		slog.Int("jwt_previous_secrets", len(c.JWTPreviousSecrets)),
		slog.Duration("access_token_ttl", c.AccessTokenTTL),
		slog.Duration("refresh_token_ttl", c.RefreshTokenTTL),
		slog.Duration("refresh_retry_interval", c.RefreshRetry),
		slog.Int("login_max_failures", c.LoginMaxFailures),
		slog.Duration("login_window", c.LoginWindow),
		slog.Int("user_cache_size", c.UserCacheSize),
		slog.Duration("user_cache_ttl", c.UserCacheTTL),
		slog.Int("register_max_per_address", c.RegisterMaxPerAddress),
		slog.Duration("register_window", c.RegisterWindow),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Duration("shutdown_delay", c.ShutdownDelay),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Int("list_cache_size", c.ListCacheSize),
		slog.Int("max_in_flight", c.MaxInFlight),
		slog.Duration("admission_wait", c.AdmissionWait),
		slog.Bool("catalogue_index", c.CatalogueIndex),
		slog.Duration("catalogue_version_ttl", c.CatalogueVersionTTL),
		slog.String("ai_provider", c.AIProvider),
		slog.String("openai_base_url", c.OpenAIBaseURL),
		slog.String("openai_api_key", mask(c.OpenAIAPIKey)),
		slog.String("openai_model", c.OpenAIModel),
		slog.Duration("openai_timeout", c.OpenAITimeout),
		slog.String("blob_dir", c.BlobDir),
		slog.String("public_image_base_url", c.PublicImageBaseURL),
		slog.String("s3_endpoint", c.S3Endpoint),
		slog.String("s3_bucket", c.S3Bucket),
		slog.String("s3_access_key", mask(c.S3AccessKey)),
		slog.String("s3_secret_key", mask(c.S3SecretKey)),
		slog.String("ops_addr", opsAddrText(c.OpsAddr)),
		slog.Any("cors_origins", c.CORSOrigins),
		slog.Any("image_url_hosts", c.ImageURLHosts),
	)
}

// mask says whether a secret is set, never what it is.
func mask(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "(set)"
}

// RedactURL hides the password in a database URL, including one given as a
// password= query parameter.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func redactAll(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = RedactURL(u)
	}
	return out
}

// reader reads typed variables, collecting every parse error.
type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not an integer", name, v))
	}
	return n
}

func (r *reader) bool(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", name, v))
	}
	return b
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a duration like 30s or 15m", name, v))
	}
	return d
}

// list splits a comma-separated variable, dropping blanks.
func (r *reader) list(name string) []string {
	var out []string
	for _, f := range strings.Split(r.str(name, ""), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// hosts reads a comma-separated list of host names (or IP addresses),
// lower-cased: no scheme, port or path.
func (r *reader) hosts(name string) []string {
	var out []string
	for _, h := range strings.FieldsFunc(r.str(name, ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		h = strings.ToLower(h)
		if _, err := netip.ParseAddr(h); err != nil && !validHostName(h) {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is not a host name (no scheme, port or path)", name, h))
			continue
		}
		out = append(out, h)
	}
	return out
}

// validHostName accepts DNS names: dot-separated labels of letters, digits
// and inner hyphens, each 1–63 characters, 253 in all.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(r.str(name, ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, err2 := netip.ParseAddr(f)
			if err2 != nil {
				r.errs = append(r.errs, fmt.Errorf("%s: %q is not an address or CIDR", name, f))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}
