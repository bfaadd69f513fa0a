package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pgconnConfig parses url without echoing it: a parse error from the driver
// may quote the URL, password included, and that must not reach the logs.
func pgconnConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: the database URL does not parse")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5e9 // 5 s: fail readiness fast instead of hanging
	}
	return cfg, nil
}
