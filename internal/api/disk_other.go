//go:build !unix

package api

// diskHealth cannot measure free space on this platform; it reports UP.
func diskHealth(dir string) component {
	return component{Status: "UP", Details: map[string]any{"path": dir}}
}
