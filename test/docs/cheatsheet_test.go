// Package docs_test keeps docs/DEPLOYMENT_CHEATSHEET.md true: every
// mealsync, mealsyncctl and scripts/ command in it must exist, and every flag
// it uses must appear in that command's --help.
package docs_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/testenv"
)

// command is one command line of the cheat sheet.
type command struct {
	line  int
	words []string // without "sudo", the comment and line continuations
}

// commands returns the lines of the sheet's code blocks that run one of our
// programs.
func commands(t *testing.T, path string) []command {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []command
	inCode, pending, start := false, "", 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		if pending == "" {
			start = n
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if cont, ok := strings.CutSuffix(strings.TrimSpace(line), "\\"); ok {
			pending += cont + " "
			continue
		}
		words := strings.Fields(pending + line)
		pending = ""
		if len(words) > 0 && words[0] == "sudo" {
			words = words[1:]
		}
		if len(words) > 0 && (words[0] == "mealsync" || words[0] == "mealsyncctl" || strings.HasPrefix(words[0], "scripts/")) {
			out = append(out, command{start, words})
		}
	}
	return out
}

func TestCheatSheetCommandsExist(t *testing.T) {
	root := testenv.RepoRoot(t)
	bins := map[string]string{
		"mealsync":    testenv.Build(t, "./cmd/mealsync"),
		"mealsyncctl": testenv.Build(t, "./cmd/mealsyncctl"),
	}
	cmds := commands(t, filepath.Join(root, "docs", "DEPLOYMENT_CHEATSHEET.md"))
	if len(cmds) < 15 {
		t.Fatalf("found only %d commands in the cheat sheet: is the parser broken?", len(cmds))
	}
	for _, c := range cmds {
		prog := bins[c.words[0]]
		args := c.words[1:]
		var sub string
		if prog == "" { // a script in scripts/
			prog = filepath.Join(root, c.words[0])
		} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			sub, args = args[0], args[1:]
		}
		cmdArgs := []string{"--help"}
		if sub != "" {
			cmdArgs = []string{sub, "--help"}
		}
		cmd := exec.Command(prog, cmdArgs...)
		// scripts/monitor.sh runs mealsyncctl from PATH.
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bins["mealsyncctl"])+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("line %d: %s %s: %v\n%s", c.line, c.words[0], strings.Join(cmdArgs, " "), err, out)
			continue
		}
		help := string(out)
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.Contains(help, "-"+name) {
				t.Errorf("line %d: %s %s has no flag -%s in its help", c.line, c.words[0], sub, name)
			}
		}
	}
}
