package monitor

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Target
		wantErr string
	}{
		{in: "127.0.0.1:8081", want: []Target{{"127.0.0.1:8081", "http://127.0.0.1:8081"}}},
		{in: " http://10.0.0.5:8081/ , https://app.example.com ,[::1]:9000", want: []Target{
			{"10.0.0.5:8081", "http://10.0.0.5:8081"},
			{"app.example.com", "https://app.example.com"},
			{"[::1]:9000", "http://[::1]:9000"},
		}},
		{in: "http://10.0.0.5:8081/mealsync/", want: []Target{{"10.0.0.5:8081", "http://10.0.0.5:8081/mealsync"}}},
		{in: "", wantErr: "no targets"},
		{in: " , ", wantErr: "no targets"},
		{in: "localhost", wantErr: "needs a port"},
		{in: "ftp://host:21", wantErr: "scheme must be http or https"},
		{in: "http://:8081", wantErr: "no host"},
		{in: "http://h:1/?x=1", wantErr: "without user, query or fragment"},
		{in: "h:1,http://h:1", wantErr: "listed twice"},
		{in: "http://h:port", wantErr: "not a URL"},
	} {
		got, err := ParseTargets(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTargets(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseTargets(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
