package attack_test

import (
	"testing"

	"github.com/gomlx/compute"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/attack/attacktest"
)

// TestConformance runs the attacktest suite on every base attack and every direction.
func TestConformance(t *testing.T) {
	testbackends.ForEachSlowXLA(t, "the conformance suite on XLA CPU compiles every attack (minutes)", testConformance)
}

func testConformance(t *testing.T, backend compute.Backend) {
	m := attacktest.NewModel(t, backend, 1)
	const eps = 0.3
	gray := func(net *arch.Net) attack.Victim { return attack.GrayBox(net) }
	dirs := []attack.Direction{attack.Single(0), attack.Total{}, attack.SignTotal{}, attack.WeightedTotal{0.5, 0.3, 0.2},
		attack.WGD{}, attack.WGD{Variant: attack.WGDCode}, attack.DGBA{}}
	cases := []attacktest.Case{
		{Name: "FGSM", Attack: func(int) attack.Attack { return attack.FGSM{Eps: eps} }, Eps: eps, BatchInvariant: true, MustFool: true, Victim: gray},
		{Name: "FGSM-L2", Attack: func(int) attack.Attack { return attack.FGSM{Eps: 1, Norm: attack.L2} }, Norm: attack.L2, Eps: 1, BatchInvariant: true, MustFool: true},
		{Name: "PGD", Attack: func(k int) attack.Attack { return attack.PGD{Eps: eps, Alpha: 0.05, Steps: k} }, Eps: eps, Monotone: true, MustFool: true, Victim: gray},
		{Name: "PGD-no-random-start", Attack: func(k int) attack.Attack { return attack.PGD{Eps: eps, Alpha: 0.05, Steps: k, NoRandomStart: true} },
			Eps: eps, Monotone: true, BatchInvariant: true, MustFool: true},
		{Name: "PGD-restarts", Attack: func(k int) attack.Attack { return attack.PGD{Eps: eps, Alpha: 0.05, Steps: k, Restarts: 3} }, Eps: eps, Monotone: true, MustFool: true},
		{Name: "PGD-targeted", Attack: func(k int) attack.Attack {
			return attack.PGD{Eps: eps, Alpha: 0.05, Steps: k, Target: attack.NextClass}
		},
			Eps: eps, Targeted: true, Monotone: true, MustFool: true},
		{Name: "PGD-L2", Attack: func(k int) attack.Attack { return attack.PGDL2{Eps: 1, Alpha: 0.25, Steps: k} }, Norm: attack.L2, Eps: 1, Monotone: true, MustFool: true},
		{Name: "PGD-L2-no-random-start", Attack: func(k int) attack.Attack { return attack.PGDL2{Eps: 1, Alpha: 0.25, Steps: k, NoRandomStart: true} },
			Norm: attack.L2, Eps: 1, Monotone: true, BatchInvariant: true, MustFool: true},
		{Name: "MIM", Attack: func(k int) attack.Attack { return attack.MIM{Eps: eps, Alpha: 0.06, Steps: k} }, Eps: eps, Monotone: true, BatchInvariant: true, MustFool: true},
		{Name: "APGD-CE", Attack: func(k int) attack.Attack { return attack.APGD{Eps: eps, Steps: k} }, Eps: eps, Steps: 10, MustFool: true},
		{Name: "APGD-DLR", Attack: func(k int) attack.Attack {
			return attack.APGD{Eps: eps, Steps: k, Loss: attack.DLR, NoRandomStart: true}
		},
			Eps: eps, Steps: 10, BatchInvariant: true, MustFool: true},
		{Name: "APGD-DLR-targeted", Attack: func(k int) attack.Attack {
			return attack.APGD{Eps: eps, Steps: k, Loss: attack.DLR, Target: attack.NextClass}
		},
			Eps: eps, Steps: 10, Targeted: true, MustFool: true},
		{Name: "CW", Attack: func(k int) attack.Attack { return attack.CW{BinarySteps: 3, MaxIterations: 10 * k, LearningRate: 0.05} },
			Eps: -1, BatchInvariant: true, MustFool: true, Victim: gray},
		{Name: "CW-targeted", Attack: func(k int) attack.Attack {
			return attack.CW{BinarySteps: 3, MaxIterations: 10 * k, LearningRate: 0.05, Target: attack.NextClass}
		},
			Eps: -1, Targeted: true, BatchInvariant: true, MustFool: true},
		{Name: "MP", Attack: func(k int) attack.Attack { return attack.MP{Base: attack.PGD{Eps: eps, Alpha: 0.05, Steps: k}} }, Eps: eps, MustFool: true},
		// FAT with tau = 0 on one head is monotone (a sample fooled at x_k is frozen there by a longer
		// run); with tau > 0, or several heads that must all be fooled to stop, a sample can step past
		// a fooling iterate and end correctly classified, so only tau = 0 on the main head claims it.
		{Name: "FAT", Attack: func(k int) attack.Attack { return attack.FAT{Eps: eps, Alpha: 0.05, Steps: k} }, Eps: eps, Monotone: true, MustFool: true, Victim: gray},
		{Name: "FAT-tau2-no-random-start", Attack: func(k int) attack.Attack {
			return attack.FAT{Eps: eps, Alpha: 0.05, Steps: k, Tau: 2, NoRandomStart: true}
		},
			Eps: eps, BatchInvariant: true, MustFool: true},
	}
	for _, d := range dirs {
		cases = append(cases,
			attacktest.Case{Name: "PGD-" + d.Name(), Attack: func(k int) attack.Attack {
				return attack.PGD{Eps: eps, Alpha: 0.05, Steps: k, Direction: d, NoRandomStart: true}
			}, Eps: eps, Tasks: []int{0, 1, 2}, Monotone: true, MustFool: true, BatchInvariant: !isWGD(d)},
			attacktest.Case{Name: "APGD-" + d.Name(), Attack: func(k int) attack.Attack {
				return attack.APGD{Eps: eps, Steps: k, Direction: d}
			}, Eps: eps, Steps: 10, Tasks: []int{0, 1, 2}, MustFool: true},
			attacktest.Case{Name: "FAT-" + d.Name(), Attack: func(k int) attack.Attack {
				return attack.FAT{Eps: eps, Alpha: 0.05, Steps: k, Tau: 1, Direction: d, NoRandomStart: true}
			}, Eps: eps, Tasks: []int{0, 1, 2}, MustFool: true, BatchInvariant: !isWGD(d)},
			attacktest.Case{Name: "CW-" + d.Name(), Attack: func(k int) attack.Attack {
				return attack.CW{BinarySteps: 2, MaxIterations: 10 * k, LearningRate: 0.05, Direction: d}
			}, Eps: -1, Tasks: []int{0, 1, 2}},
		)
	}
	for _, c := range cases {
		attacktest.Run(t, m, c)
	}
}

func isWGD(d attack.Direction) bool { _, ok := d.(attack.WGD); return ok }
