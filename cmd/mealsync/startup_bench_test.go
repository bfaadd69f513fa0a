package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStartToReady measures a real process from exec to readiness UP on
// a fresh SQLite database (migrations included), and reports its resident
// memory once idle. See docs/BENCHMARKS.md.
func BenchmarkStartToReady(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "mealsync")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var rssKB float64
	client := &http.Client{Timeout: time.Second}
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		port := freePort(b)
		cmd := exec.Command(bin, "serve")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MEALSYNC_ADDR=127.0.0.1:"+port, "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_SHUTDOWN_DELAY=0s",
			"MEALSYNC_DATABASE_URL=sqlite:"+filepath.Join(dir, "m.db"))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := "http://127.0.0.1:" + port + "/actuator/health/readiness"
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatal("not ready within 10 s")
			}
			time.Sleep(time.Millisecond) // polling interval
		}
		b.StopTimer()
		rssKB = residentKB(b, cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("exit: %v", err)
		}
		b.StartTimer()
	}
	b.ReportMetric(rssKB, "idle-RSS-KB")
}

func freePort(b testing.TB) string {
	b.Helper()
	// Port 0 cannot be used here: the benchmark must know the port before
	// the process prints it. Ask the kernel for a free one and release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func residentKB(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0 // not Linux: no figure
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb
		}
	}
	return 0
}
