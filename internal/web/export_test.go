package web

// Build is build, for tests that hand in their own files.
var Build = build
