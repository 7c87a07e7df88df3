package experiment

import (
	"fmt"
	"slices"
	"strings"
)

// NaturalTable renders natural-training records as a Markdown table in the spirit of 001 Table 2:
// one row per run with its task combination (ComboLabel), the final test accuracy of every head
// (a column per head, in first-seen order; "–" where a run has no such head), the steps and the
// seconds per step. Every record must hold NaturalResults (RunNatural, ReadNatural).
func NaturalTable(recs []*Record) (string, error) {
	var heads []string
	results := make([]NaturalResults, len(recs))
	for i, r := range recs {
		res, ok := r.Results.(NaturalResults)
		if !ok {
			return "", fmt.Errorf("experiment: record %q holds %T, want NaturalResults", r.Name, r.Results)
		}
		results[i] = res
		for _, t := range res.Final.Tasks {
			if !slices.Contains(heads, t) {
				heads = append(heads, t)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| tasks |")
	for _, h := range heads {
		fmt.Fprintf(&b, " %s accuracy |", h)
	}
	b.WriteString(" steps | s/step |\n|---|")
	b.WriteString(strings.Repeat("---:|", len(heads)+2) + "\n")
	for _, res := range results {
		fmt.Fprintf(&b, "| %s |", ComboLabel(res.Tasks))
		for _, h := range heads {
			if t := slices.Index(res.Final.Tasks, h); t >= 0 {
				fmt.Fprintf(&b, " %.4f |", res.Final.Accuracy[t])
			} else {
				b.WriteString(" – |")
			}
		}
		steps := 0
		if n := len(res.Curve.Step); n > 0 {
			steps = res.Curve.Step[n-1]
		}
		fmt.Fprintf(&b, " %d | %.3f |\n", steps, res.StepSeconds)
	}
	return b.String(), nil
}
