package scripts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --help explains the options, the dry run and the testing seams, and changes nothing.
func TestScriptsHelp(t *testing.T) {
	t.Parallel()
	for _, name := range []string{initialSetup, setupSSL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t)
			before := sb.Snapshot()
			r := sb.Run(name, "--help")
			if r.Code != 0 {
				t.Fatalf("--help failed:\n%s", r)
			}
			mustContain(t, "--help", r.Stdout, "Usage: "+name, "--dry-run", "would: ", "--force",
				"MEALSYNC_OS_RELEASE", "MEALSYNC_SYSROOT")
			sb.requireUnchanged(before, r)
		})
	}
}

// monitor.sh hands its arguments to `mealsyncctl monitor`, and says what to do
// when mealsyncctl is not installed.
func TestMonitorWrapper(t *testing.T) {
	t.Parallel()
	script := scriptPath(t, "monitor.sh")
	bin := t.TempDir()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "mealsyncctl")); err == nil {
			t.Skipf("mealsyncctl is installed in %s", dir)
		}
	}
	run := func() result {
		t.Helper()
		return runCommand(t, []string{"bash", script, "--once", "--json"}, []string{"PATH=" + bin + ":/usr/bin:/bin"}, bin)
	}

	missing := run()
	if missing.Code == 0 {
		t.Fatalf("succeeded without mealsyncctl:\n%s", missing)
	}
	mustContain(t, "stderr", missing.Stderr, "mealsyncctl is not on PATH", "mealsyncctl monitor")

	fake := "#!/bin/sh\necho \"mealsyncctl $*\"\n"
	if err := os.WriteFile(filepath.Join(bin, "mealsyncctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	found := run()
	if found.Code != 0 || strings.TrimSpace(found.Stdout) != "mealsyncctl monitor --once --json" {
		t.Errorf("did not exec mealsyncctl monitor with the arguments:\n%s", found)
	}
}
