package nb

import (
	"fmt"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// TaskTable returns a task set's label maps as a Markdown table: one row per main class y, with y,
// its name and, for every auxiliary task m, P_m(y) as "name (label)" (001 §III-B, y^m = P_m(y)).
func TaskTable(set task.Set) string {
	var b strings.Builder
	b.WriteString("| y | " + mdEscape(set.Main.Name) + " class |")
	sep := "|---:|---|"
	for _, m := range set.Aux {
		fmt.Fprintf(&b, " %s (K_m = %d) |", mdEscape(m.Name), m.Km())
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	for y, name := range set.Main.ClassNames {
		fmt.Fprintf(&b, "| %d | %s |", y, mdEscape(name))
		for _, m := range set.Aux {
			c := m.Table[y]
			fmt.Fprintf(&b, " %s (%d) |", mdEscape(m.TargetClasses[c]), c)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdEscape keeps a cell's text from breaking a Markdown table or turning into markup.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`).Replace(s)
}
