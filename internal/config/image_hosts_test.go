package config

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestImageURLHosts(t *testing.T) {
	c, err := Load(env(nil), nil, io.Discard)
	if err != nil || c.ImageURLHosts != nil {
		t.Fatalf("default: %q, %v; want none", c.ImageURLHosts, err)
	}
	c, err = Load(env(map[string]string{"MEALSYNC_IMAGE_URL_HOSTS": "Images.Example.com, cdn-2.example.org,192.0.2.7"}), nil, io.Discard)
	if want := []string{"images.example.com", "cdn-2.example.org", "192.0.2.7"}; err != nil || !slices.Equal(c.ImageURLHosts, want) {
		t.Fatalf("got %q, %v; want %q", c.ImageURLHosts, err, want)
	}
	for _, bad := range []string{"https://images.example.com", "images.example.com:443", "images.example.com/x",
		"user@images.example.com", "-bad.example.com", "a..b", "*.example.com", strings.Repeat("a", 64) + ".com"} {
		_, err := Load(env(map[string]string{"MEALSYNC_IMAGE_URL_HOSTS": "ok.example.com," + bad}), nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "MEALSYNC_IMAGE_URL_HOSTS") {
			t.Errorf("%q: %v, want an error naming the variable", bad, err)
		}
	}
}
