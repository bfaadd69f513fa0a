//go:build !linux

package loadtest

// Elsewhere the generator does not measure itself: the report's generator
// figures are 0.
func rss() int64             { return 0 }
func cpuTime() float64       { return 0 }
func openFilesLimit() uint64 { return 0 }
