// Package buildinfo says which build is running. The variables are set at
// link time (-ldflags "-X …"); a plain `go build` falls back to the VCS
// stamp the Go toolchain embeds. They are the only globals of the program.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/mealsync/mealsync/internal/buildinfo.Version=…".
var (
	Version   = "dev"
	Commit    = ""
	BuildTime = ""
)

// Info is the build, as reported by /actuator/info and `mealsync version`.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildTime string `json:"time"`
	GoVersion string `json:"goVersion"`
}

// Get returns the running build's info.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, BuildTime: BuildTime, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && i.Commit == "":
				i.Commit = s.Value
			case s.Key == "vcs.time" && i.BuildTime == "":
				i.BuildTime = s.Value
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}
