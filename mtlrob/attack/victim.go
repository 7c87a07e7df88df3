package attack

import (
	"fmt"
	"slices"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// Victim is the network under attack as the threat model lets the attacker see it (001 §III-B,
// docs/algorithms.md §4.1): the multi-task network and the heads the attacker's graph holds.
//
//   - White-box (WhiteBox): the attacker differentiates through every head it lists.
//   - Gray-box (GrayBox, 001 Eq. 4): only the shared backbone and the main head are visible. The
//     attack's graph is built with arch.Net.Heads(s, x, 0), so the auxiliary heads' variables are
//     not part of it at all: they are neither read nor differentiated, and changing them cannot
//     change the adversarial example.
//
// Labels passed to an attack are indexed by the network's task order; the labels of heads the
// victim hides are never read (a gray-box attacker does not know them) and may be nil.
type Victim struct {
	// Net is the multi-task network; its weights live in the model.Store the graph is built on.
	Net *arch.Net
	// Heads are the task indices (into Net.Tasks, 0 = main) of the heads the attacker sees.
	// Default (nil): every head, the white-box view of the whole network.
	Heads []int
}

// WhiteBox is the white-box view of net over the given heads (task indices, 0 = main); with no
// heads, over every head.
func WhiteBox(net *arch.Net, heads ...int) Victim {
	return Victim{Net: net, Heads: append([]int(nil), heads...)}
}

// GrayBox is the gray-box view of net (001 Eq. 4): the backbone and the main head only.
func GrayBox(net *arch.Net) Victim { return Victim{Net: net, Heads: []int{0}} }

// Tasks returns the visible heads, sorted and validated; it panics on an invalid victim (a
// graph-building error).
func (v Victim) Tasks() []int {
	if v.Net == nil {
		panic("attack: Victim has no network")
	}
	if v.Heads == nil {
		all := make([]int, len(v.Net.Tasks))
		for i := range all {
			all[i] = i
		}
		return all
	}
	heads := slices.Clone(v.Heads)
	slices.Sort(heads)
	for i, h := range heads {
		if h < 0 || h >= len(v.Net.Tasks) {
			panic(fmt.Sprintf("attack: victim head %d: %s has tasks 0..%d", h, v.Net, len(v.Net.Tasks)-1))
		}
		if i > 0 && heads[i-1] == h {
			panic(fmt.Sprintf("attack: victim head %d listed twice", h))
		}
	}
	if len(heads) == 0 {
		panic("attack: victim with an empty (non-nil) list of heads")
	}
	return heads
}

// String describes the view, e.g. "gray-box lenet (main)" or "white-box lenet (main, category)".
func (v Victim) String() string {
	kind := "white-box"
	tasks := v.Tasks()
	if len(tasks) == 1 && tasks[0] == 0 && len(v.Net.Tasks) > 1 {
		kind = "gray-box"
	}
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = v.Net.Tasks[t]
	}
	return fmt.Sprintf("%s %s %v", kind, v.Net.Name, names)
}

// Logits builds the visible part of the network on x and returns one logits node per task of the
// network, in task order, with nil for the hidden heads (which are not in the graph).
func (v Victim) Logits(s *model.Scope, x *Node) []*Node {
	tasks := v.Tasks()
	got := v.Net.Heads(s, x, tasks...)
	out := make([]*Node, len(v.Net.Tasks))
	for i, t := range tasks {
		out[t] = got[i]
	}
	return out
}
