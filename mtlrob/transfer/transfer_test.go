package transfer

import (
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
	"github.com/mtlrob/mtlrob/xla"
)

// tiny is a budget small enough for a unit test: a few training steps of the small CNN, PGD-3, and 40
// attacked images.
var tiny = experiment.Budget{Name: "tiny", TrainExamples: 200, TestExamples: 100, Steps: 20, BatchSize: 20, EvalEvery: 10,
	EvalExamples: 50, AdvSteps: 4, AdvEvalEvery: 2, TrainPGDSteps: 2, SelectExamples: 50,
	AttackExamples: 100, EvalPGDSteps: 3, CWSearchSteps: 1, CWIterations: 3, DirectionSteps: 2, HeavyExamples: 40}

func tinySpec() Spec {
	s := Spec{Dataset: "fashion-mnist", Arch: "smallcnn", Budget: tiny, Seed: 1, Directions: []string{Single, SingleAux, Total}}
	for _, aux := range [][]string{{}, {"category"}} {
		s.Models = append(s.Models, experiment.ModelSpec{Dataset: s.Dataset, Arch: s.Arch, Aux: aux, Training: "natural", Budget: tiny, Seed: 1})
	}
	return s
}

func TestSpecValidate(t *testing.T) {
	def, err := DefaultSpec("fashion-mnist", "smallcnn", tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := def.Validate(); err != nil {
		t.Fatalf("the default spec: %v", err)
	}
	var got []string
	for _, m := range def.Models {
		got = append(got, Label(m))
	}
	if want := []string{"main only, natural", "main+category+region, natural", "main only, pgd-at", "main+category+region, pgd-at"}; !slices.Equal(got, want) {
		t.Fatalf("default models %q, want %q", got, want)
	}
	if !slices.Equal(def.Directions, DirectionNames) || def.FigureName() != "transfer_fashion-mnist_smallcnn_tiny_seed1" {
		t.Fatalf("default directions %q, figure %q", def.Directions, def.FigureName())
	}
	if _, err := DefaultSpec("fashoin", "smallcnn", tiny, 1); err == nil || !strings.Contains(err.Error(), "spec.Dataset") {
		t.Errorf("DefaultSpec of an unknown dataset: %v, want an error naming spec.Dataset", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string
	}{
		{"dataset", func(s *Spec) { s.Dataset = "fashoin" }, "spec.Dataset"},
		{"arch", func(s *Spec) { s.Arch = "resnet99" }, "spec.Arch"},
		{"no arch", func(s *Spec) { s.Arch = "" }, "spec.Arch is empty"},
		{"budget", func(s *Spec) { s.Budget.Name = "" }, "spec.Budget"},
		{"examples", func(s *Spec) { s.Examples = -1 }, "spec.Examples"},
		{"one model", func(s *Spec) { s.Models = s.Models[:1] }, "spec.Models has 1"},
		{"model dataset", func(s *Spec) { s.Models[1].Dataset = "mnist" }, "spec.Models[1].Dataset"},
		{"model arch", func(s *Spec) { s.Models[0].Arch = "lenet" }, "spec.Models[0].Arch"},
		{"model seed", func(s *Spec) { s.Models[1].Seed = 2 }, "spec.Models[1].Seed"},
		{"model budget", func(s *Spec) { s.Models[1].Budget.Steps++ }, "spec.Models[1].Budget"},
		{"model training", func(s *Spec) { s.Models[0].Training = "adversarial" }, "spec.Models[0].Training"},
		{"model aux", func(s *Spec) { s.Models[1].Aux = []string{"colour"} }, "spec.Models[1].Aux"},
		{"model twice", func(s *Spec) { s.Models = append(s.Models, s.Models[0]) }, "spec.Models[2] is spec.Models[0] again"},
		{"no direction", func(s *Spec) { s.Directions = nil }, "spec.Directions is empty"},
		{"direction", func(s *Spec) { s.Directions = []string{"total", "dgbaa"} }, `spec.Directions[1] "dgbaa"`},
		{"direction twice", func(s *Spec) { s.Directions = []string{"total", "total"} }, "spec.Directions[1] \"total\" is listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySpec()
			s.Models = slices.Clone(s.Models)
			tc.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want one naming %q", err, tc.field)
			}
		})
	}
}

func TestAttackedImageCount(t *testing.T) {
	for _, tc := range []struct {
		examples, attack, heavy, n, want int
	}{
		{0, 200, 0, 2000, 200},    // quick: the attack set
		{0, 0, 1000, 10000, 1000}, // standard: the heavy share of the whole test set
		{0, 100, 40, 100, 40},
		{0, 0, 0, 500, 500},
		{30, 0, 1000, 500, 30},
		{900, 0, 0, 500, 500},
	} {
		s := Spec{Examples: tc.examples, Budget: experiment.Budget{AttackExamples: tc.attack, HeavyExamples: tc.heavy}}
		if got := s.examples(tc.n); got != tc.want {
			t.Errorf("examples %d, attack %d, heavy %d of %d: %d images, want %d", tc.examples, tc.attack, tc.heavy, tc.n, got, tc.want)
		}
	}
}

// TaskTransferability from a hand-made table of accuracies equals 004 §5's closed form: clean [0.9 0.8
// 0.5], adversarial [0.45 0.6 0.5] give ARPs [50 25 0], so Single(main) transfers (25+0)/2/50 = 0.25 and
// Single(category) (50+0)/2/25 = 1.
func TestTaskTransferabilityClosedForm(t *testing.T) {
	tasks := []string{"main", "category", "region"}
	const n = 20
	clean, adv := make(scores, 3), make(scores, 3)
	for i, k := range [][2]int{{18, 9}, {16, 12}, {10, 10}} {
		clean[i], adv[i] = make([]bool, n), make([]bool, n)
		for j := range n {
			clean[i][j], adv[i][j] = j < k[0], j < k[1]
		}
	}
	hs, err := attacked(tasks, clean, adv)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{50, 25, 0} {
		if hs[i].ARP == nil || math.Abs(*hs[i].ARP-want) > 1e-9 {
			t.Fatalf("ARP of %s = %v, want %g", tasks[i], hs[i].ARP, want)
		}
	}
	for _, tc := range []struct {
		x    string
		want float64 // NaN: none
	}{{"main", 0.25}, {"category", 1}, {"region", math.NaN()}, {"", math.NaN()}, {"colour", math.NaN()}} {
		got := TaskTransferability(hs, tc.x)
		switch {
		case math.IsNaN(tc.want) && got != nil:
			t.Errorf("Single(%s): transferability %g, want none (ARP-x is 0, or no such task)", tc.x, *got)
		case !math.IsNaN(tc.want) && (got == nil || math.Abs(*got-tc.want) > 1e-12):
			t.Errorf("Single(%s): transferability %v, want %g", tc.x, got, tc.want)
		}
	}
	if got := TaskTransferability(hs[:1], "main"); got != nil {
		t.Errorf("a main-only target has a transferability %g", *got)
	}
	// The McNemar test pairs clean and adversarial outcomes: main lost 9 images and gained none.
	if m := hs[0].McNemar; m.B01 != 9 || m.B10 != 0 || m.P != metric.McNemarP(9, 0) {
		t.Errorf("main McNemar %+v, want 9 discordant pairs against the attack", m)
	}
}

func TestMaxPerturbation(t *testing.T) {
	clean := []float32{0, 0.5, 1}
	for _, tc := range []struct {
		adv  []float32
		want float64 // NaN: an error
	}{
		{[]float32{0.1, 0.4, 0.9}, 0.1},
		{[]float32{0, 0.5, 1}, 0},
		{[]float32{0.2, 0.5, 1}, math.NaN()},
		{[]float32{0, 0.5, 1.05}, math.NaN()},
		{[]float32{-0.05, 0.5, 1}, math.NaN()},
		{[]float32{0, 0.5}, math.NaN()},
	} {
		got, err := MaxPerturbation(clean, tc.adv, 0.1)
		if math.IsNaN(tc.want) != (err != nil) || (err == nil && math.Abs(got-tc.want) > 1e-6) {
			t.Errorf("MaxPerturbation(%v) = %g, %v; want %g", tc.adv, got, err, tc.want)
		}
	}
}

// testEnv is an environment in temporary directories on the pure-Go backend unless $MTLROB_BACKEND
// names another: at the test's tiny sizes it compiles in a fraction of XLA's time (10 s against 45 s for
// TestLoadOrRun on two busy cores), and nothing here depends on the backend.
func testEnv(t *testing.T) experiment.Env {
	t.Helper()
	name := os.Getenv(xla.EnvBackend)
	if name == "" {
		name = "go"
	}
	backend, line, err := xla.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	return experiment.Env{Backend: backend, BackendLine: line, ResultsDir: t.TempDir(), CacheDir: t.TempDir(), Quiet: true}
}

// TestLoadOrRun runs the experiment end to end on two tiny Fashion-MNIST models and checks it against
// computations made here independently: the adversarial images stay in the eps-ball and [0, 1]; the
// diagonal is the white-box attack computed directly; a target that is a copy of the source gives the
// diagonal's numbers; main-only sources share Single(main)'s images; the record is read, not recomputed,
// the second time; and its tables render.
func TestLoadOrRun(t *testing.T) {
	env := testEnv(t)
	spec := tinySpec()
	start := time.Now()
	rec, err := LoadOrRun(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadOrRun: %.1f s (the attacks and evaluations: %.1f s)", time.Since(start).Seconds(), runSeconds(rec))
	res, ok := experiment.As[Results](rec.Results)
	if !ok || rec.Kind != Kind || rec.Name != "fashion-mnist_smallcnn_tiny_seed1" {
		t.Fatalf("record %s of kind %s holds %T", rec.Name, rec.Kind, rec.Results)
	}
	if fp := rec.Provenance.Fingerprint; fp == nil || fp.Root != FingerprintRoot {
		t.Fatalf("fingerprint %+v: want one rooted at %s", fp, FingerprintRoot)
	}
	th, err := tiny.Threat("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 40 || len(res.Models) != 2 || res.Threat.Eps != th.Eps {
		t.Fatalf("n %d, %d models, eps %g: want 40 images, 2 models, eps %g", res.N, len(res.Models), res.Threat.Eps, th.Eps)
	}
	var dirs []string
	for _, r := range res.Runs {
		dirs = append(dirs, r.Direction+" on "+r.Source)
	}
	want := []string{"Single(main) on main only, natural", "Total on main only, natural",
		"Single(main) on main+category, natural", "Single(category) on main+category, natural", "Total on main+category, natural"}
	if !slices.Equal(dirs, want) {
		t.Fatalf("runs %q, want %q", dirs, want)
	}
	for i, r := range res.Runs {
		if r.MaxPerturbation <= 0 || r.MaxPerturbation > th.Eps+1e-6 {
			t.Errorf("%s: max perturbation %g, want in (0, %g]", dirs[i], r.MaxPerturbation, th.Eps)
		}
		if (r.Degenerate != "") != (i == 1) {
			t.Errorf("%s: degenerate %q", dirs[i], r.Degenerate)
		}
		for j, tg := range r.Targets {
			if r.Degenerate != "" && !reflect.DeepEqual(tg.Heads, res.Runs[0].Targets[j].Heads) {
				t.Errorf("%s: degenerate, but its scores on %s are not Single(main)'s", dirs[i], tg.Target)
			}
		}
		for j, tg := range r.Targets {
			if tg.WhiteBox != (res.Models[j].Label == r.Source) || len(tg.Heads) != len(res.Models[j].Tasks) {
				t.Errorf("%s, target %s: white-box %v, %d heads", dirs[i], tg.Target, tg.WhiteBox, len(tg.Heads))
			}
			for k, h := range tg.Heads {
				ok, err := metric.DecodeOutcomes(h.Correct)
				if err != nil || metric.ProportionOf(ok) != h.Accuracy {
					t.Errorf("%s, target %s, head %s: accuracy %+v is not its outcomes' (%v)", dirs[i], tg.Target, h.Task, h.Accuracy, err)
				}
				cl, _ := metric.DecodeOutcomes(res.Models[j].Clean[k].Correct)
				if mc, _ := metric.McNemar(cl, ok); mc != h.McNemar {
					t.Errorf("%s, target %s, head %s: McNemar %+v, want %+v", dirs[i], tg.Target, h.Task, h.McNemar, mc)
				}
			}
			if (tg.Transferability != nil) && (r.Attacked == "" || len(tg.Heads) < 2) {
				t.Errorf("%s, target %s: a transferability where none is defined", dirs[i], tg.Target)
			}
		}
	}
	if res.Runs[2].Targets[1].Heads[0].Accuracy.Value >= res.Models[1].Clean[0].Accuracy.Value {
		t.Errorf("white-box Single(main) left the main accuracy at %g (clean %g)", res.Runs[2].Targets[1].Heads[0].Accuracy.Value,
			res.Models[1].Clean[0].Accuracy.Value)
	}

	// Independently: the multi-task source's Total attack, crafted with a runner of our own on the same
	// images and seed and classified by reject.Predict, is the record's diagonal; every image is inside
	// the eps-ball and [0, 1].
	m, err := experiment.LoadOrTrain(env, spec.Models[1])
	if err != nil {
		t.Fatal(err)
	}
	test, labels, err := AttackSet(spec, m)
	if err != nil {
		t.Fatal(err)
	}
	atk := th.PGD()
	atk.Direction = attack.Total{}
	runner, err := attack.NewRunner(env.Backend, m.Store, attack.WhiteBox(m.Net), atk)
	if err != nil {
		t.Fatal(err)
	}
	runner.Seed = spec.Seed
	x := tensors.FromFlatDataAndDimensions(slices.Clone(test.Images), test.N, test.Height, test.Width, test.Channels)
	ls := make([]*tensors.Tensor, len(labels))
	for i, l := range labels {
		ls[i] = tensors.FromFlatDataAndDimensions(slices.Clone(l), test.N)
	}
	out, err := runner.Run(x, ls)
	if err != nil {
		t.Fatal(err)
	}
	adv := tensors.MustCopyFlatData[float32](out)
	for i, a := range adv {
		if d := math.Abs(float64(a) - float64(test.Images[i])); d > th.Eps+1e-6 || a < 0 || a > 1 {
			t.Fatalf("adversarial value %d = %g for clean %g: outside the %g-ball or [0, 1]", i, a, test.Images[i], th.Eps)
		}
	}
	preds, err := reject.Predict(env.Backend, m.Store, m.Net, adv, test.N, test.Height, test.Width, test.Channels, 100)
	if err != nil {
		t.Fatal(err)
	}
	diag := res.Runs[4].Targets[1]
	for k := range m.Net.Tasks {
		ok, err := metric.Outcomes(preds[k], labels[k])
		if err != nil {
			t.Fatal(err)
		}
		if got := metric.EncodeOutcomes(ok); got != diag.Heads[k].Correct {
			t.Errorf("Total white-box on %s, head %s: outcomes %s computed directly, %s in the record", m.Spec.Name(), m.Net.Tasks[k], got, diag.Heads[k].Correct)
		}
	}

	// A target that is an exact copy of the source (the same weights) scores as the diagonal, and as a
	// source crafts the same images.
	cp := spec
	cp.Directions = []string{Single, Total}
	twins, err := Compute(env, cp, []Member{{"source", m}, {"copy", m}})
	if err != nil {
		t.Fatal(err)
	}
	if len(twins.Runs) != 4 {
		t.Fatalf("%d runs on the twins, want Single(main) and Total on each", len(twins.Runs))
	}
	for i, r := range twins.Runs {
		a, b := r.Targets[0], r.Targets[1]
		if !reflect.DeepEqual(a.Heads, b.Heads) || !reflect.DeepEqual(a.Transferability, b.Transferability) {
			t.Errorf("%s on %s: the copy scores %+v, the source %+v", r.Direction, r.Source, b, a)
		}
		if !reflect.DeepEqual(r.Targets[0].Heads, twins.Runs[i%2].Targets[0].Heads) {
			t.Errorf("%s: the copy crafted other images than the source", r.Direction)
		}
	}
	for i, want := range []Target{res.Runs[2].Targets[1], diag} { // Single(main) and Total on the multi-task model
		got := twins.Runs[i].Targets[1]
		if !reflect.DeepEqual(got.Heads, want.Heads) || !reflect.DeepEqual(got.Transferability, want.Transferability) {
			t.Errorf("%s on a copy: %+v, want the diagonal's %+v", twins.Runs[i].Direction, got, want)
		}
	}

	// Read, not recomputed, the second time; its fingerprint is current at its root.
	path := Path(env.ResultsDir, spec)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrRun(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !after.ModTime().Equal(before.ModTime()) || again.Seconds != rec.Seconds || len(again.Stale) > 0 {
		t.Fatalf("the second call recomputed the record (or found it stale: %q)", again.Stale)
	}
	stale, _, err := experiment.StaleRecords(env.ResultsDir, env.BackendLine)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		for _, r := range s.Reasons {
			if !strings.Contains(r, "uncommitted") {
				t.Errorf("%s: stale: %s", s.Path, r)
			}
		}
	}
	if recs, err := ReadAll(env.ResultsDir); err != nil || len(recs) != 1 {
		t.Fatalf("ReadAll: %d records, %v", len(recs), err)
	}
	if err := experiment.CheckRecords(env.ResultsDir); err != nil {
		t.Fatal(err)
	}

	tables, err := Tables(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 4 { // Single(main), Single(category), Total, p-values, and transferability when defined
		t.Fatalf("%d tables, want at least 4", len(tables))
	}
	if d := Directions(res); !slices.Equal(d, []string{"Single(main)", "Single(category)", "Total"}) {
		t.Fatalf("directions %q", d)
	}
	total := tables[2]
	v, err := total.At("main+category, natural", "main only, natural: main")
	if err != nil || math.Abs(v-100*res.Runs[4].Targets[0].Heads[0].Accuracy.Value) > 1e-9 {
		t.Errorf("Total table, main+category source, main-only target: %g (%v)", v, err)
	}
	if got := total.Rows; !slices.Equal(got, []string{"clean", "main only, natural", "main+category, natural"}) {
		t.Errorf("Total table rows %q", got)
	}
	md, err := Markdown(rec)
	if err != nil || !strings.Contains(md, "white-box") || !strings.Contains(md, "Wilson") || !strings.Contains(md, "McNemar") {
		t.Errorf("markdown (%v):\n%s", err, md)
	}
}

// runSeconds is the time a record's runs took.
func runSeconds(rec *experiment.Record) float64 {
	res, _ := experiment.As[Results](rec.Results)
	var s float64
	for _, r := range res.Runs {
		s += r.Seconds
	}
	return s
}

// The fingerprint of transfer records covers package experiment's files and this package's computing
// files (spec.go, transfer.go), not its tables (table.go, experiment.RenderOnlyFiles).
func TestFingerprintCoversThePackage(t *testing.T) {
	def, err := experiment.CodeFingerprint("go")
	if err != nil {
		t.Fatal(err)
	}
	fp, err := experiment.CodeFingerprintAt(FingerprintRoot, "go")
	if err != nil {
		t.Fatal(err)
	}
	if fp.Root != FingerprintRoot || fp.Files != def.Files+2 || fp.Code == def.Code {
		t.Fatalf("fingerprint at %s: root %q, %d files, code %s; want experiment's %d files and spec.go and transfer.go, another code than %s",
			FingerprintRoot, fp.Root, fp.Files, fp.Code, def.Files, def.Code)
	}
	if !slices.Contains(experiment.RenderOnlyFiles, "mtlrob/transfer/table.go") {
		t.Error("table.go is not among the render-only files")
	}
}
