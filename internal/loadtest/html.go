package loadtest

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// palette colours the requests, by their place in RequestNames.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
	"#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
	"#31a354", "#756bb1"}

func colorOf(name string) string {
	i := slices.Index(RequestNames, name)
	if i < 0 {
		return "#000"
	}
	return palette[i%len(palette)]
}

// Percentile lines share a look on every latency chart.
var percentileLines = []struct {
	name, color, dash string
	get               func(Latency) float64
}{
	{"p50", "#2ca02c", "", func(l Latency) float64 { return l.P50 }},
	{"p95", "#ff7f0e", "", func(l Latency) float64 { return l.P95 }},
	{"p99", "#d62728", "", func(l Latency) float64 { return l.P99 }},
	{"max", "#7f7f7f", "3 3", func(l Latency) float64 { return l.Max }},
}

// WriteHTMLFile writes the report as a self-contained HTML page.
func (rep *Report) WriteHTMLFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteHTML writes the report as one HTML page with its charts inline (SVG):
// throughput and latency percentiles over time, for all requests and for
// each kind, errors marked on the time axis, and the summary tables.
func (rep *Report) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, rep.page())
}

type htmlPage struct {
	R        *Report
	Charts   []template.HTML
	Legend   []legendItem
	Sections []requestSection
	Text     string
}

type legendItem struct{ Name, Color string }

type requestSection struct {
	Name   string
	Charts []template.HTML
}

func (rep *Report) page() htmlPage {
	p := htmlPage{R: rep}
	var text strings.Builder
	rep.WriteText(&text)
	p.Text = text.String()
	tl := rep.Timeline
	xs := make([]float64, len(tl.Windows))
	for i, w := range tl.Windows {
		xs[i] = w.Start + tl.WindowSeconds/2 // a window's figures belong to its middle
	}
	xMax := float64(len(tl.Windows)) * tl.WindowSeconds
	ws := max(tl.WindowSeconds, 1e-9)

	names := rep.timelineNames()
	thr := &chart{id: "throughput", title: "Throughput (requests per second, by completion)", yLabel: "req/s",
		xMax: xMax, rampEnd: rep.RampUpSeconds, width: 960, height: 300}
	all := line{name: "all", color: "#000", xs: xs, ys: make([]float64, len(xs))}
	for i, w := range tl.Windows {
		all.ys[i] = float64(w.Requests) / ws
	}
	thr.series = append(thr.series, all)
	for _, n := range names {
		s := line{name: n, color: colorOf(n), xs: xs, ys: make([]float64, len(xs))}
		for i, w := range tl.Windows {
			s.ys[i] = float64(w.Actions[n].Requests) / ws
		}
		thr.series = append(thr.series, s)
		p.Legend = append(p.Legend, legendItem{n, colorOf(n)})
	}
	thr.marks = errorMarks(tl, "")
	lat := &chart{id: "latency", title: "Latency of all requests, from the intended start (ms, log scale)", yLabel: "ms",
		logY: true, xMax: xMax, rampEnd: rep.RampUpSeconds, width: 960, height: 300, marks: thr.marks}
	lat.series = percentiles(xs, tl.Windows, func(w Window) (Latency, int64) { return w.Latency, w.Requests })
	p.Charts = []template.HTML{template.HTML(thr.svg()), template.HTML(lat.svg())}

	for _, n := range names {
		get := func(w Window) (Latency, int64) { a := w.Actions[n]; return a.Latency, a.Requests }
		l := &chart{id: "latency-" + n, title: n + ": latency (ms, log scale)", yLabel: "ms", logY: true,
			xMax: xMax, rampEnd: rep.RampUpSeconds, width: 470, height: 220, marks: errorMarks(tl, n)}
		l.series = percentiles(xs, tl.Windows, get)
		t := &chart{id: "throughput-" + n, title: n + ": requests per second", yLabel: "req/s",
			xMax: xMax, rampEnd: rep.RampUpSeconds, width: 470, height: 220, marks: l.marks}
		s := line{name: n, color: colorOf(n), xs: xs, ys: make([]float64, len(xs))}
		for i, w := range tl.Windows {
			s.ys[i] = float64(w.Actions[n].Requests) / ws
		}
		t.series = []line{s}
		p.Sections = append(p.Sections, requestSection{Name: n, Charts: []template.HTML{template.HTML(l.svg()), template.HTML(t.svg())}})
	}
	return p
}

// timelineNames are the requests that appear on the timeline, in report order.
func (rep *Report) timelineNames() []string {
	seen := map[string]bool{}
	for _, w := range rep.Timeline.Windows {
		for n := range w.Actions {
			seen[n] = true
		}
	}
	var out []string
	for _, n := range RequestNames {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// percentiles are the p50, p95, p99 and max lines of windows, with gaps
// where a window had no request.
func percentiles(xs []float64, ws []Window, get func(Window) (Latency, int64)) []line {
	var out []line
	for _, pl := range percentileLines {
		s := line{name: pl.name, color: pl.color, dash: pl.dash, xs: xs, ys: make([]float64, len(xs))}
		for i, w := range ws {
			l, n := get(w)
			s.ys[i] = math.NaN()
			if n > 0 {
				s.ys[i] = pl.get(l)
			}
		}
		out = append(out, s)
	}
	return out
}

// errorMarks marks each window with errors (of one request, or of all when
// name is empty).
func errorMarks(tl Timeline, name string) []mark {
	var out []mark
	for _, w := range tl.Windows {
		n := w.Errors
		if name != "" {
			n = w.Actions[name].Errors
		}
		if n == 0 {
			continue
		}
		label := fmt.Sprintf("%s–%s: %d errors", formatSeconds(w.Start), formatSeconds(w.Start+tl.WindowSeconds), n)
		if name == "" {
			label += " (" + countList(w.ErrorsByKind)
			if len(w.ErrorsByStatus) > 0 {
				label += "; HTTP " + countList(w.ErrorsByStatus)
			}
			label += ")"
		}
		out = append(out, mark{x: w.Start + tl.WindowSeconds/2, count: n, label: label})
	}
	return out
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":  ms,
	"pct": func(a, b int64) string { return fmt.Sprintf("%.2f %%", 100*ratio(a, b)) },
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"kb":  func(v float64) string { return fmt.Sprintf("%.1f KB", v/1e3) },
	"mb":  func(v int64) string { return fmt.Sprintf("%.1f MB", float64(v)/1e6) },
	"cl":  countList,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MealSync load test — {{.R.Target}} — {{.R.Users}} users</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.outcome { font-weight: 600; } .bad { color: #c00; }
svg.chart { display: block; margin: 8px 0; background: #fff; }
svg.chart .title { font-weight: 600; font-size: 13px; }
svg.chart .axis line { stroke: #e4e4e4; } svg.chart .axis text { font-size: 11px; fill: #555; }
svg.chart .axis.y text { text-anchor: end; } svg.chart .axis.x text { text-anchor: middle; }
svg.chart .label { font-size: 11px; text-anchor: middle; fill: #555; }
svg.chart path.series { fill: none; stroke-width: 1.6; } svg.chart path.series[data-series="all"] { stroke-width: 2.6; }
svg.chart .ramp-end { stroke: #888; stroke-dasharray: 5 4; }
svg.chart .error-marker { fill: #d62728; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; list-style: none; font-size: 12px; }
.legend span { display: inline-block; width: 18px; height: 3px; margin-right: 5px; vertical-align: middle; }
.pair { display: flex; flex-wrap: wrap; gap: 12px; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; font-size: 12px; }
</style>
</head>
<body>
<h1>MealSync load test</h1>
<p>{{.R.Users}} virtual users against <code>{{.R.Target}}</code>, think time {{f1 .R.ThinkMeanSeconds}} s (mean, exponential),
ramp-up {{f1 .R.RampUpSeconds}} s, steady phase {{f1 .R.DurationSeconds}} s, seed <code>{{.R.Seed}}</code>.
Started {{.R.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}.
Outcome: <span class="outcome{{if ne .R.Outcome "completed"}} bad{{end}}">{{.R.Outcome}}</span>{{with .R.Detail}} — {{.}}{{end}}.</p>
<p>Every latency is measured from the moment the user's schedule meant to send the request, not from when it was
sent: a server that stalls is charged for the whole wait (no coordinated omission). Throughput counts requests by
the time they completed, as the server's own counters do. Red triangles on the time axis mark windows with errors
(hover for the count and kinds); the dashed line is the end of the ramp-up.</p>

<h2>Over time</h2>
{{index .Charts 0}}
<ul class="legend"><li><span style="background:#000"></span>all</li>{{range .Legend}}<li><span style="background:{{.Color}}"></span>{{.Name}}</li>{{end}}</ul>
{{index .Charts 1}}
<ul class="legend"><li><span style="background:#2ca02c"></span>p50</li><li><span style="background:#ff7f0e"></span>p95</li><li><span style="background:#d62728"></span>p99</li><li><span style="background:#7f7f7f"></span>max</li></ul>

<h2>Steady phase</h2>
<p>{{.R.Steady.Requests}} requests in {{f1 .R.Steady.Seconds}} s: {{f1 .R.Steady.Throughput}} req/s, {{.R.Steady.Errors}} errors ({{pct .R.Steady.Errors .R.Steady.Requests}}).</p>
<table>
<tr><th>request</th><th>requests</th><th>req/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>errors</th><th>by kind</th><th>by status</th></tr>
{{range .R.Steady.ByRequest}}<tr><td>{{.Name}}</td><td>{{.Requests}}</td><td>{{f1 .Throughput}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P95}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Latency.Max}}</td><td>{{.Errors}}</td><td>{{if .Errors}}{{cl .ErrorsBy.Kind}}{{end}}</td><td>{{if .ErrorsBy.Status}}{{cl .ErrorsBy.Status}}{{end}}</td></tr>
{{end}}<tr><th>all</th><th>{{.R.Steady.Requests}}</th><th>{{f1 .R.Steady.Throughput}}</th><th>{{ms .R.Steady.Latency.P50}}</th><th>{{ms .R.Steady.Latency.P95}}</th><th>{{ms .R.Steady.Latency.P99}}</th><th>{{ms .R.Steady.Latency.Max}}</th><th>{{.R.Steady.Errors}}</th><th>{{if .R.Steady.Errors}}{{cl .R.Steady.ErrorsBy.Kind}}{{end}}</th><th>{{if .R.Steady.ErrorsBy.Status}}{{cl .R.Steady.ErrorsBy.Status}}{{end}}</th></tr>
</table>

<h2>Each request over time</h2>
{{range .Sections}}<h3>{{.Name}}</h3><div class="pair">{{range .Charts}}{{.}}{{end}}</div>
{{end}}

<h2>The whole summary</h2>
<pre>{{.Text}}</pre>
<p>Users' client addresses: {{.R.SourceAddrs}}. Mix: <code>{{.R.Mix}}</code>.</p>
</body>
</html>
`))
