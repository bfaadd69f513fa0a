package loadtest

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// chart is a line chart drawn as inline SVG: no script, no library, no
// network, so the report opens anywhere and prints.
type chart struct {
	id      string // data-chart attribute: what a test looks for
	title   string
	yLabel  string
	logY    bool    // latency spans decades: a log scale keeps p50 readable beside p99
	xMax    float64 // seconds
	rampEnd float64 // a dashed line where the steady phase begins
	series  []line
	marks   []mark // errors on the timeline
	width   float64
	height  float64
}

// line is one series; NaN y values are gaps (a window without requests).
type line struct {
	name  string
	color string
	dash  string
	xs    []float64
	ys    []float64
}

// mark is a window with errors, drawn as a red triangle on the time axis
// with a tooltip that counts them.
type mark struct {
	x     float64
	count int64
	label string
}

const (
	marginLeft   = 58.0
	marginRight  = 14.0
	marginTop    = 26.0
	marginBottom = 30.0
)

func (c *chart) svg() string {
	w, h := c.width, c.height
	pw, ph := w-marginLeft-marginRight, h-marginTop-marginBottom
	xmax := max(c.xMax, 1)
	xOf := func(x float64) float64 { return marginLeft + pw*x/xmax }

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, y := range s.ys {
			if math.IsNaN(y) || (c.logY && y <= 0) {
				continue
			}
			lo, hi = min(lo, y), max(hi, y)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
		if c.logY {
			lo, hi = 0.1, 1
		}
	}
	var yticks []float64
	var yOf func(float64) float64
	if c.logY {
		dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if dhi <= dlo {
			dhi = dlo + 1
		}
		yOf = func(y float64) float64 {
			y = max(y, math.Pow(10, dlo))
			return marginTop + ph*(1-(math.Log10(y)-dlo)/(dhi-dlo))
		}
		for d := dlo; d <= dhi; d++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, d)
				if v <= math.Pow(10, dhi) && (m == 1 || dhi-dlo <= 3) {
					yticks = append(yticks, v)
				}
			}
		}
	} else {
		lo = 0
		step := niceStep(hi, 5)
		top := math.Max(step, math.Ceil(hi/step)*step)
		yOf = func(y float64) float64 { return marginTop + ph*(1-y/top) }
		for v := 0.0; v <= top+step/2; v += step {
			yticks = append(yticks, v)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		attr(c.id), w, h, w, h, attr(c.title))
	fmt.Fprintf(&b, `<text class="title" x="%.1f" y="16">%s</text>`, marginLeft, html.EscapeString(c.title))
	// Grid and axes.
	b.WriteString(`<g class="axis y">`)
	for _, v := range yticks {
		y := yOf(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f">%s</text>`,
			marginLeft, marginLeft+pw, y, y, marginLeft-6, y+4, html.EscapeString(formatTick(v)))
	}
	fmt.Fprintf(&b, `<text class="label" transform="translate(12 %.1f) rotate(-90)">%s</text></g>`, marginTop+ph/2, html.EscapeString(c.yLabel))
	b.WriteString(`<g class="axis x">`)
	xstep := niceStep(xmax, 8)
	for v := 0.0; v <= xmax+xstep/100; v += xstep {
		x := xOf(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f">%s</text>`,
			x, x, marginTop, marginTop+ph, x, marginTop+ph+16, formatSeconds(v))
	}
	b.WriteString(`</g>`)
	if c.rampEnd > 0 && c.rampEnd < xmax {
		x := xOf(c.rampEnd)
		fmt.Fprintf(&b, `<line class="ramp-end" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"><title>steady phase from %s</title></line>`,
			x, x, marginTop, marginTop+ph, formatSeconds(c.rampEnd))
	}
	// Series.
	for _, s := range c.series {
		var d strings.Builder
		pen := false
		for i, x := range s.xs {
			y := s.ys[i]
			if math.IsNaN(y) || (c.logY && y <= 0) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, xOf(x), yOf(y))
			pen = true
		}
		dash := ""
		if s.dash != "" {
			dash = ` stroke-dasharray="` + s.dash + `"`
		}
		fmt.Fprintf(&b, `<path class="series" data-series="%s" stroke="%s"%s d="%s"><title>%s</title></path>`,
			attr(s.name), s.color, dash, strings.TrimSpace(d.String()), html.EscapeString(s.name))
		// A lone point draws no line: mark it with a dot.
		for i, x := range s.xs {
			y := s.ys[i]
			prevGap := i == 0 || math.IsNaN(s.ys[i-1])
			nextGap := i == len(s.xs)-1 || math.IsNaN(s.ys[i+1])
			if !math.IsNaN(y) && prevGap && nextGap && (!c.logY || y > 0) {
				fmt.Fprintf(&b, `<circle class="point" data-series="%s" cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, attr(s.name), xOf(x), yOf(y), s.color)
			}
		}
	}
	// Errors.
	b.WriteString(`<g class="errors">`)
	for _, m := range c.marks {
		x, y := xOf(m.x), marginTop+ph
		fmt.Fprintf(&b, `<path class="error-marker" data-errors="%d" d="M%.1f %.1f l-5 9 h10 z"><title>%s</title></path>`,
			m.count, x, y-9, html.EscapeString(m.label))
	}
	b.WriteString(`</g></svg>`)
	return b.String()
}

// niceStep is a 1-2-5 step that cuts span into about n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func formatTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'g', 3, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// formatSeconds is m:ss on the time axis.
func formatSeconds(s float64) string {
	t := int(math.Round(s))
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}

func attr(s string) string { return html.EscapeString(s) }
