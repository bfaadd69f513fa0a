package loadtest_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/loadtest"
)

// TestCapacityChart draws the knee chart of docs/SCALING_GUIDE.md from the
// points TestCapacityFigures wrote: p95 and p99 latency against users, one
// line per instance count, and the goal (p95 < 100 ms). A generator, not a
// CI test: it runs only with MEALSYNC_CAPACITY_CHART set to the SVG to
// write, reading every *.json in MEALSYNC_CAPACITY_OUT (folders separated
// by commas).
func TestCapacityChart(t *testing.T) {
	dst := os.Getenv("MEALSYNC_CAPACITY_CHART")
	if dst == "" {
		t.Skip("set MEALSYNC_CAPACITY_CHART=FILE.svg and MEALSYNC_CAPACITY_OUT to draw the chart")
	}
	var pts []capacityPoint
	defaultMix := loadtest.DefaultMix().String()
	for i, dir := range strings.Split(os.Getenv("MEALSYNC_CAPACITY_OUT"), ",") {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var p capacityPoint
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if p.Report.Mix != defaultMix || p.Report.Outcome == loadtest.OutcomeSetupFailed {
				continue // the chart is about the default mix, and runs that ran
			}
			if i > 0 {
				p.series = filepath.Base(dir) // a later session: a line of its own
			}
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		t.Fatal("no points")
	}
	svg := kneeSVG(pts)
	if err := os.WriteFile(dst, []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d points", dst, len(pts))
}

// kneeSVG draws p95 (solid) and p99 (dashed) against users on a log latency
// scale, one colour per instance count; a point with errors is a hollow red
// ring.
func kneeSVG(pts []capacityPoint) string {
	const w, h, left, right, top, bottom = 820.0, 420.0, 70.0, 230.0, 30.0, 50.0
	pw, ph := w-left-right, h-top-bottom
	maxUsers := 0
	for _, p := range pts {
		maxUsers = max(maxUsers, p.Users)
	}
	xMax := math.Ceil(float64(maxUsers)/2000) * 2000
	lo, hi := 1.0, 1_000_000.0 // ms, log scale
	x := func(u int) float64 { return left + pw*float64(u)/xMax }
	y := func(ms float64) float64 {
		ms = math.Min(math.Max(ms, lo), hi)
		return top + ph*(1-math.Log10(ms/lo)/math.Log10(hi/lo))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">Latency against users (15 s think time, default mix, through nginx, 10,000 recipes)</text>`+"\n", left)
	for _, ms := range []float64{1, 10, 100, 1000, 10_000, 100_000, 1_000_000} {
		label := fmt.Sprintf("%g ms", ms)
		if ms >= 1000 {
			label = fmt.Sprintf("%g s", ms/1000)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+pw, y(ms), y(ms), left-6, y(ms)+4, label)
	}
	for u := 0; u <= int(xMax); u += 2000 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n",
			x(u), x(u), top, top+ph, x(u), top+ph+16, u)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">concurrent users</text>`+"\n", left+pw/2, h-10)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/><text x="%.1f" y="%.1f" fill="#c00">goal: p95 &lt; 100 ms</text>`+"\n",
		left, left+pw, y(100), y(100), left+pw+6, y(100)+4)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)

	type key struct {
		instances int
		series    string
	}
	byInst := map[key][]capacityPoint{}
	for _, p := range pts {
		k := key{p.Instances, p.series}
		byInst[k] = append(byInst[k], p)
	}
	var insts []key
	for k := range byInst {
		insts = append(insts, k)
	}
	sort.Slice(insts, func(a, b int) bool {
		if insts[a].instances != insts[b].instances {
			return insts[a].instances < insts[b].instances
		}
		return insts[a].series < insts[b].series
	})
	colours := []string{"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"}
	for i, k := range insts {
		ps := byInst[k]
		n := k.instances
		label := fmt.Sprintf("%d instance(s)", n)
		if k.series != "" {
			label += ", " + k.series
		}
		sort.Slice(ps, func(a, b int) bool { return ps[a].Users < ps[b].Users })
		c := colours[i%len(colours)]
		for _, q := range []struct {
			name string
			get  func(capacityPoint) float64
			dash string
		}{{"p95", func(p capacityPoint) float64 { return p.Report.Steady.Latency.P95 }, ""},
			{"p99", func(p capacityPoint) float64 { return p.Report.Steady.Latency.P99 }, ` stroke-dasharray="3 3"`}} {
			var path []string
			for _, p := range ps {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.Users), y(q.get(p))))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(path, " "), c, q.dash)
			for _, p := range ps {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%d instance(s), %d users: %s %.1f ms, %.1f req/s, %d errors, load average %.1f–%.1f</title></circle>`+"\n",
					x(p.Users), y(q.get(p)), c, n, p.Users, q.name, q.get(p), p.Report.Steady.Throughput, steadyErrors(p), p.LoadAvgMin, p.LoadAvgMax)
				if steadyErrors(p) > 0 {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="7" fill="none" stroke="#c00"/>`+"\n", x(p.Users), y(q.get(p)))
				}
			}
		}
		ly := top + 20 + float64(i)*40
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f">%s p95</text>`+"\n",
			left+pw+6, left+pw+30, ly, ly, c, left+pw+34, ly+4, label)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="3 3"/><text x="%.1f" y="%.1f">%s p99</text>`+"\n",
			left+pw+6, left+pw+30, ly+16, ly+16, c, left+pw+34, ly+20, label)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#c00">red ring: errors</text>`+"\n", left+pw+6, top+20+float64(len(insts))*40+10)
	b.WriteString("</svg>\n")
	return b.String()
}

func steadyErrors(p capacityPoint) int64 {
	var n int64
	for _, a := range p.Report.Steady.ByRequest {
		n += a.Errors
	}
	return n
}
