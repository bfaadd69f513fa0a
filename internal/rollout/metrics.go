package rollout

import (
	"fmt"
	"sort"
	"strings"
)

// WriteMetrics writes <state-dir>/metrics.prom for node_exporter's textfile
// collector. The names are a contract with the alert rules:
//
//	mealsync_deploys_total{outcome}                counter
//	mealsync_deploy_last_timestamp_seconds{outcome} gauge, Unix seconds
//	mealsync_deploy_duration_seconds               gauge, the last deploy's
//	mealsync_release_info{version}                 1 for the serving release
//
// Outcomes are "succeeded" and "rolled_back" (always present, 0 before the
// first), plus "interrupted" and "failed" once they have happened.
func (s *Store) WriteMetrics(st *State) error {
	return WriteFileAtomic(s.Path(metricsFile), []byte(renderMetrics(st)), 0o644)
}

func renderMetrics(st *State) string {
	counts := map[Outcome]int{Succeeded: 0, RolledBack: 0}
	for o, n := range st.Stats.Deploys {
		counts[o] = n
	}
	outcomes := make([]string, 0, len(counts))
	for o := range counts {
		outcomes = append(outcomes, string(o))
	}
	sort.Strings(outcomes)

	var b strings.Builder
	b.WriteString("# HELP mealsync_deploys_total Deploys and rollbacks run by mealsyncctl, by outcome.\n")
	b.WriteString("# TYPE mealsync_deploys_total counter\n")
	for _, o := range outcomes {
		fmt.Fprintf(&b, "mealsync_deploys_total{outcome=%q} %d\n", o, counts[Outcome(o)])
	}
	b.WriteString("# HELP mealsync_deploy_last_timestamp_seconds When the last deploy with this outcome ended (Unix time).\n")
	b.WriteString("# TYPE mealsync_deploy_last_timestamp_seconds gauge\n")
	for _, o := range outcomes {
		if t, ok := st.Stats.LastByResult[Outcome(o)]; ok {
			fmt.Fprintf(&b, "mealsync_deploy_last_timestamp_seconds{outcome=%q} %.3f\n", o, float64(t.UnixMilli())/1000)
		}
	}
	b.WriteString("# HELP mealsync_deploy_duration_seconds How long the last deploy took, from command to old instances gone.\n")
	b.WriteString("# TYPE mealsync_deploy_duration_seconds gauge\n")
	fmt.Fprintf(&b, "mealsync_deploy_duration_seconds %.3f\n", st.Stats.LastDuration)
	b.WriteString("# HELP mealsync_release_info The release mealsyncctl last put into service; always 1.\n")
	b.WriteString("# TYPE mealsync_release_info gauge\n")
	if st.Current != nil {
		fmt.Fprintf(&b, "mealsync_release_info{version=%q} 1\n", st.Current.Version)
	}
	return b.String()
}
