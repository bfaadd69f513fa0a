package rollout

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestScrapeCounters(t *testing.T) {
	cases := []struct {
		name             string
		body             string
		answered, failed float64
		wantErr          bool
	}{
		{"an instance that has answered nothing yet", "# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 7\n", 0, 0, false},
		{"requests by status, its own probes and deliberate 503s left out", `# HELP http_server_requests_seconds x
# TYPE http_server_requests_seconds histogram
http_server_requests_seconds_bucket{method="GET",route="GET /api/v1/recipes",status="200",le="+Inf"} 40
http_server_requests_seconds_sum{method="GET",route="GET /api/v1/recipes",status="200"} 1
http_server_requests_seconds_count{method="GET",route="GET /api/v1/recipes",status="200"} 40
http_server_requests_seconds_bucket{method="GET",route="GET /api/v1/recipes",status="500",le="+Inf"} 3
http_server_requests_seconds_sum{method="GET",route="GET /api/v1/recipes",status="500"} 1
http_server_requests_seconds_count{method="GET",route="GET /api/v1/recipes",status="500"} 3
http_server_requests_seconds_bucket{method="POST",route="POST /api/v1/users/register",status="503",le="+Inf"} 2
http_server_requests_seconds_sum{method="POST",route="POST /api/v1/users/register",status="503"} 1
http_server_requests_seconds_count{method="POST",route="POST /api/v1/users/register",status="503"} 2
http_server_requests_seconds_bucket{method="GET",route="GET /actuator/health/readiness",status="503",le="+Inf"} 9
http_server_requests_seconds_sum{method="GET",route="GET /actuator/health/readiness",status="503"} 1
http_server_requests_seconds_count{method="GET",route="GET /actuator/health/readiness",status="503"} 9
`, 45, 3, false},
		{"not the exposition format", "{\"json\": true}\n", 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			got, err := scrapeCounters(context.Background(), srv.Client(), srv.URL)
			if (err != nil) != c.wantErr || got.answered != c.answered || got.failed != c.failed {
				t.Errorf("scrapeCounters = %+v, %v; want answered %v, failed %v, error %v", got, err, c.answered, c.failed, c.wantErr)
			}
		})
	}
}
