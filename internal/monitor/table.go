package monitor

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable renders a frame for people: a header line with the time, the
// readiness count and the last deploy, then one row per instance. A figure
// that is not known is "-". Instances that could not be read fully get a
// NOTE saying why.
func WriteTable(w io.Writer, f Frame) error {
	var b strings.Builder
	fmt.Fprintf(&b, "MealSync monitor  %s  every %s  %d/%d ready\n",
		f.Time.Local().Format("2006-01-02 15:04:05"), f.Interval, f.Ready(), len(f.Instances))
	fmt.Fprintf(&b, "last deploy: %s\n", deployLine(f))
	if f.TargetsError != "" {
		fmt.Fprintf(&b, "instance list: %s (showing the last one read)\n", f.TargetsError)
	}
	b.WriteString("\n")
	if len(f.Instances) == 0 {
		b.WriteString("no instances: deploy first, or name them with --targets\n")
		_, err := io.WriteString(w, b.String())
		return err
	}

	notes := false
	for _, s := range f.Instances {
		notes = notes || s.Error != "" || s.Restarted
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header := "INSTANCE\tVERSION\tREADY\tUPTIME\tREQ/S\tP95\t5XX%\tDB(USE/MAX)"
	if notes {
		header += "\tNOTE"
	}
	fmt.Fprintln(tw, header)
	for _, s := range f.Instances {
		row := []string{
			orDash(s.Name), orDash(s.Version), readyCell(s), uptimeCell(s.Uptime),
			rateCell(s.RequestRate), latencyCell(s.P95), percentCell(s.ErrorRatio), dbCell(s.DBInUse, s.DBMax),
		}
		if notes {
			row = append(row, noteCell(s))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads a row's empty last cell; trailing blanks only wrap
	// narrow terminals.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func deployLine(f Frame) string {
	switch {
	case f.DeployError != "":
		return "unknown (" + f.DeployError + ")"
	case f.LastDeploy == nil:
		return "none recorded"
	}
	d := f.LastDeploy
	s := d.Kind + " " + orDash(d.Version) + " " + strings.ReplaceAll(d.Outcome, "_", " ")
	if !d.Time.IsZero() {
		s += " at " + d.Time.Local().Format("2006-01-02 15:04:05")
		if ago := f.Time.Sub(d.Time); ago >= 0 {
			s += " (" + durationCell(ago) + " ago)"
		}
	}
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func readyCell(s Snapshot) string {
	switch {
	case s.Ready:
		return "UP"
	case strings.HasPrefix(s.Error, "unreachable"):
		return "unreachable"
	case strings.HasPrefix(s.Error, "readiness"):
		return "?" // it answered, but not like a MealSync readiness probe
	}
	return "DOWN"
}

func noteCell(s Snapshot) string {
	note := s.Error
	if s.Restarted {
		if note != "" {
			note += "; "
		}
		note += "restarted since the last refresh"
	}
	return note
}

func uptimeCell(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return durationCell(*d)
}

// durationCell is a compact duration: 45s, 12m05s, 3h07m, 2d04h.
func durationCell(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

func rateCell(r *float64) string {
	if r == nil {
		return "-"
	}
	if *r >= 100 {
		return strconv.FormatFloat(*r, 'f', 0, 64)
	}
	return strconv.FormatFloat(*r, 'f', 1, 64)
}

func latencyCell(sec *float64) string {
	switch {
	case sec == nil:
		return "-"
	case *sec < 0.01:
		return strconv.FormatFloat(*sec*1000, 'f', 1, 64) + "ms"
	case *sec < 1:
		return strconv.FormatFloat(*sec*1000, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(*sec, 'f', 2, 64) + "s"
}

func percentCell(ratio *float64) string {
	if ratio == nil {
		return "-"
	}
	return strconv.FormatFloat(*ratio*100, 'f', 1, 64) + "%"
}

func dbCell(inUse, max *int) string {
	if inUse == nil && max == nil {
		return "-"
	}
	use, limit := "-", "-"
	if inUse != nil {
		use = strconv.Itoa(*inUse)
	}
	if max != nil {
		limit = strconv.Itoa(*max)
		if *max == 0 {
			limit = "unlimited"
		}
	}
	return use + "/" + limit
}
