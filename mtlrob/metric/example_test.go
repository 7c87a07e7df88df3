package metric_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// 001 Table 2 in miniature: one model per row, one evaluation condition per column, cells in
// percent; a combination that was not run stays missing.
func ExampleMainAccuracyTable() {
	evals := []metric.Evaluation{
		{Model: "Main only", Condition: "clean", TaskAccuracy: []float64{0.9889}},
		{Model: "Main only", Condition: "PGD untargeted", TaskAccuracy: []float64{0.9388}},
		{Model: "Main+Aux1+Aux2", Condition: "clean", TaskAccuracy: []float64{0.9899, 0.9953, 0.9951}},
	}
	t, err := metric.MainAccuracyTable("MNIST, PGD-AT", evals)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(t.Markdown())
	csv, _ := t.CSV()
	fmt.Print(csv)
	// Output:
	// **MNIST, PGD-AT**
	//
	// | Model | clean | PGD untargeted |
	// | --- | ---: | ---: |
	// | Main only | 98.89 | 93.88 |
	// | Main+Aux1+Aux2 | 98.99 | – |
	// Model,clean,PGD untargeted
	// Main only,98.89,93.88
	// Main+Aux1+Aux2,98.99,
}

// ARP (004 Eq. 10) of an attack on a two-task classifier: the main task's accuracy falls from
// 0.9 to 0.45 (a 50% drop), the auxiliary task's from 0.8 to 0.6 (25%).
func ExampleARP() {
	tasks, _ := metric.AccuracyMeasurements([]float64{0.9, 0.8}, []float64{0.45, 0.6})
	arp, _ := metric.ARP(tasks)
	perTask, _ := metric.TaskARPs(tasks)
	fmt.Printf("ARP %.2f, per task %.2f\n", arp, perTask)
	// Output:
	// ARP 37.50, per task [50.00 25.00]
}

// Transferability of Single-main (004 §5): the attack on the main task drops it by 80%, and the
// two other tasks by 20% and 40% on average 30%: 30/80 of the damage transfers.
func ExampleTransferability() {
	tr, _ := metric.Transferability([]float64{80, 20, 40}, 0)
	fmt.Printf("%.3f\n", tr)
	// Output:
	// 0.375
}

// Relative task vulnerability (003): per-sample cross-entropy before and after the attack, and
// the dataset-level form on the error rate 1 - accuracy.
func ExampleRelativeVulnerability() {
	clean := []float64{0.5, 0.25, 1}
	adv := []float64{1.5, 0.25, 3}
	v, _ := metric.RelativeVulnerability(clean, adv, 0)
	fmt.Printf("loss-based v = %.3f\n", v) // (2 + 0 + 2)/3
	v, _ = metric.RelativeErrorVulnerability(0.95, 0.80)
	fmt.Printf("error-rate v = %.3f\n", v) // (0.20 - 0.05)/0.05
	// Output:
	// loss-based v = 1.333
	// error-rate v = 3.000
}

// Marginal vulnerability (003 Def. 3): the joint loss over T_N = {main} and over
// T_N+1 = {main, aux}, before and after an attack on each set.
func ExampleMarginalVulnerability() {
	// per-sample losses, task order: main, aux
	cleanLoss := [][]float64{{0.2, 0.4}, {0.1, 0.3}}
	advOnMain := [][]float64{{1.2, 1.4}, {0.5, 0.5}}        // attack on {main}
	advOnBoth := [][]float64{{1.0, 1.0}, {1.1, 0.9}}        // attack on {main, aux}
	cN, _ := metric.JointLoss(cleanLoss, []int{0}, nil)     // L_{main}
	aN, _ := metric.JointLoss(advOnMain, []int{0}, nil)     // |.| changes 1.0, 1.0
	cN1, _ := metric.JointLoss(cleanLoss, []int{0, 1}, nil) // mean of the two losses
	aN1, _ := metric.JointLoss(advOnBoth, []int{0, 1}, nil) // changes 0.9, 0.6
	mv, _ := metric.MarginalVulnerability(cN, aN, cN1, aN1)
	fmt.Printf("%.2f\n", mv)
	// Output:
	// -0.25
}

// The proxy test of 003 RQ4: does a cheap proxy rank task combinations as the true
// vulnerability does?
func ExamplePearson() {
	proxy := []float64{1, 2, 3, 4}
	vulnerability := []float64{1, 3, 2, 4}
	r, p, _ := metric.Pearson(proxy, vulnerability)
	fmt.Printf("Pearson r = %.2f, p = %.2f\n", r, p)
	rho, p, _ := metric.Spearman(proxy, vulnerability)
	fmt.Printf("Spearman rho = %.2f, p = %.2f\n", rho, p)
	// Output:
	// Pearson r = 0.80, p = 0.20
	// Spearman rho = 0.80, p = 0.20
}

// Alignment of per-task input gradients (Mao et al. 2020; 003 Thm. 2): grads[task][sample].
func ExampleGradientCosine() {
	grads := [][][]float32{
		{{1, 0}, {0, 1}},  // main
		{{1, 0}, {0, -1}}, // aux: aligned on sample 0, opposed on sample 1
	}
	cos, _ := metric.GradientCosine(grads)
	fmt.Println(cos)
	// Output:
	// [[1 0] [0 1]]
}
