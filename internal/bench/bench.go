// Package bench measures mtlrob's training and attack steps side by side with a PyTorch reference
// doing identical work on the same machine, in the same run: for every row, rounds of Go repetitions
// and PyTorch repetitions alternate, so that both sides see the same machine state. It reports
// images per second, the ratio mtlrob/PyTorch, the achieved GFLOP/s and the machine's matmul peak.
package bench

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
)

func numCPU() int { return runtime.NumCPU() }

// Backend is a Go backend to benchmark, with the one-line description of package xla.
type Backend struct {
	Name    string // short column name, e.g. "go" or "xla:cpu"
	Line    string
	Backend compute.Backend
}

// Config of a benchmark run. Zero values mean the defaults in the comments.
type Config struct {
	Models []Model  // default: LeNet
	Rows   []string // default: every row with a Go workload
	Batch  int      // default 128
	Rounds int      // interleaved rounds per row; default 3
	Reps   int      // repetitions per round and side; default 3
	// RowSeconds caps the timed work per row and side (default 20 s; negative: no cap): after the
	// warm-up, a side whose repetition takes longer than RowSeconds/(Rounds*Reps) is timed fewer
	// times, down to one repetition in one round, so that slow rows (ResNet-18 on the pure-Go
	// backend) are measured rather than dropped. Result.Reps says how many repetitions were timed.
	RowSeconds float64
	Python     string // default /usr/bin/python3 (Debian's python3-torch)
	Script     string // path of torchref.py; default internal/bench/torchref.py
	Threads    int    // PyTorch threads; default: the number of CPUs
	// Device of the PyTorch reference: "cpu" (default) or "cuda". With "cuda" the reference fails
	// at start when torch sees no CUDA device, and synchronises the device around every repetition.
	Device string
	// AllowReference, when not empty, is the reason to record the table against a CPU reference that
	// is misconfigured (see Reference.Problems); the report keeps the reason and the problems. Empty:
	// such a reference is an error before any row runs.
	AllowReference string
	Log            io.Writer
}

// Rows are the benchmark rows, in table order.
var Rows = []string{"train", "forward", "pgd_step", "pgd7", "pgd7_train"}

// GPURows are the rows of the GPU benchmark (issue 8 item 3): a PGD-10 adversarial training step and
// PGD-20 robust evaluation (the attack and the main head's logits on its result).
var GPURows = []string{"pgd10_train", "pgd20_eval"}

// RowTitles are the rows' names in the printed table.
var RowTitles = map[string]string{
	"train": "natural train step", "forward": "forward only", "pgd_step": "one PGD step",
	"pgd7": "PGD-7 attack", "pgd7_train": "PGD-7 adversarial train step",
	"pgd10_train": "PGD-10 adversarial train step", "pgd20_eval": "PGD-20 evaluation",
}

// Result is one row of the report.
type Result struct {
	Model string `json:"model"`
	Row   string `json:"row"`
	Batch int    `json:"batch"`
	// Seconds per repetition (median over every repetition of every round), by side: "torch" and each Go backend.
	Seconds map[string]float64 `json:"seconds"`
	// Reps is the number of timed repetitions by side (Rounds*Reps unless the row was capped by RowSeconds).
	Reps map[string]int `json:"reps"`
	// ImagesPerSecond = Batch / Seconds; GFLOPs = nominal FLOPs / Seconds / 1e9; Ratio = torch seconds / backend seconds (> 1: mtlrob faster).
	ImagesPerSecond map[string]float64 `json:"images_per_second"`
	GFLOPs          map[string]float64 `json:"gflops"`
	Ratio           map[string]float64 `json:"ratio_vs_torch"`
	NominalGFLOP    float64            `json:"nominal_gflop"`
}

// Report is the whole benchmark.
type Report struct {
	Backends     []string          `json:"backends"`
	BackendLines map[string]string `json:"backend_lines"`
	Torch        string            `json:"torch"`
	TorchThreads int               `json:"torch_threads"`
	// Device is the PyTorch reference's device ("cpu" or "cuda"); TorchDevice describes it (the GPU
	// model, torch's CUDA and cuDNN versions) and Environment holds the versions of both sides.
	Device      string            `json:"device"`
	TorchDevice string            `json:"torch_device,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	// CPU is the machine's processor: model, cores and vector extensions.
	CPU CPU `json:"cpu"`
	// Reference is the CPU reference's BLAS build and threads, as it reported them (nil on CUDA).
	Reference *Reference `json:"reference,omitempty"`
	// Rounds, Reps and RowSeconds are the run's settings (see Config).
	Rounds     int     `json:"rounds"`
	Reps       int     `json:"reps"`
	RowSeconds float64 `json:"row_seconds"`
	// MatmulPeakGFLOPs is PyTorch's (its BLAS, see Reference) float32 2048x2048 matrix product rate: the machine's matmul peak for reference.
	MatmulPeakGFLOPs float64  `json:"matmul_peak_gflops"`
	Results          []Result `json:"results"`
}

func (c Config) withDefaults() Config {
	if len(c.Models) == 0 {
		c.Models = []Model{LeNet}
	}
	if len(c.Rows) == 0 {
		c.Rows = Rows
	}
	if c.Batch == 0 {
		c.Batch = 128
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.Reps == 0 {
		c.Reps = 3
	}
	if c.RowSeconds == 0 {
		c.RowSeconds = 20
	}
	if c.Device == "" {
		c.Device = "cpu"
	}
	if c.Python == "" {
		c.Python = "/usr/bin/python3"
	}
	if c.Script == "" {
		c.Script = "internal/bench/torchref.py"
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// Validate refuses a negative Batch, Rounds, Reps or Threads (zero means the default, see Config),
// naming the field and the accepted range.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Batch", c.Batch}, {"Rounds", c.Rounds}, {"Reps", c.Reps}, {"Threads", c.Threads}} {
		if f.v < 0 {
			return fmt.Errorf("bench: Config.%s = %d: want a count >= 1 (0: the default)", f.name, f.v)
		}
	}
	return nil
}

// Run benchmarks every (model, row) on every backend and on PyTorch, interleaved. A Config that
// Validate refuses is an error before anything runs.
func Run(backends []Backend, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	threads := cfg.Threads
	if threads == 0 {
		threads = numCPU()
	}
	torch, err := startTorch(cfg.Python, cfg.Script, threads, cfg.Device)
	if err != nil {
		return nil, err
	}
	defer torch.Close()
	rep := &Report{Torch: torch.Version, TorchThreads: torch.Threads, BackendLines: map[string]string{},
		Device: cfg.Device, TorchDevice: torch.DeviceLine, Environment: environment(torch),
		Rounds: cfg.Rounds, Reps: cfg.Reps, RowSeconds: cfg.RowSeconds, CPU: readCPU()}
	fmt.Fprintf(cfg.Log, "CPU: %s\n", rep.CPU.Line())
	if cfg.Device == "cpu" {
		ref := newReference(torch.BLAS, threads, numCPU(), torch.OpenMPDir)
		rep.Reference = &ref
		fmt.Fprintf(cfg.Log, "PyTorch reference: %s\n", ref.Line())
		if err := checkReference(&ref, cfg.AllowReference); err != nil {
			return nil, err
		}
		if ref.AllowedBecause != "" {
			fmt.Fprintf(cfg.Log, "PyTorch reference accepted (-allow-reference %q) despite: %s\n", ref.AllowedBecause,
				strings.Join(ref.Problems, "; "))
		}
	}
	for _, b := range backends {
		rep.Backends = append(rep.Backends, b.Name)
		rep.BackendLines[b.Name] = b.Line
	}
	if cfg.Device == "cpu" {
		mm, err := torch.time(torchRequest{Row: "matmul", Batch: 2048, Reps: 5, Warmup: 2})
		if err != nil {
			return nil, err
		}
		rep.MatmulPeakGFLOPs = 2 * 2048 * 2048 * 2048 / median(mm) / 1e9
		fmt.Fprintf(cfg.Log, "matmul peak (PyTorch/%s, 2048^3, %d threads): %.1f GFLOP/s\n", rep.Reference.Kind, torch.Threads, rep.MatmulPeakGFLOPs)
	} else {
		fmt.Fprintf(cfg.Log, "PyTorch %s on %s\n", torch.Version, torch.DeviceLine)
	}

	for _, m := range cfg.Models {
		for _, row := range cfg.Rows {
			res, err := runRow(torch, backends, cfg, m, row)
			if err != nil {
				return nil, err
			}
			rep.Results = append(rep.Results, *res)
			fmt.Fprintf(cfg.Log, "%-9s %-30s %s\n", m.Name, RowTitles[row], res.summary(rep.Backends))
		}
	}
	return rep, nil
}

// runRow times one (model, row): a warm-up run per side (which also compiles and estimates the time of
// a repetition), then rounds in which every Go backend and then PyTorch run their repetitions.
func runRow(torch *torchRef, backends []Backend, cfg Config, m Model, row string) (*Result, error) {
	res := &Result{Model: m.Name, Row: row, Batch: cfg.Batch, Seconds: map[string]float64{}, Reps: map[string]int{},
		ImagesPerSecond: map[string]float64{}, GFLOPs: map[string]float64{}, Ratio: map[string]float64{},
		NominalGFLOP: nominalFLOPs(row, m, cfg.Batch) / 1e9}
	works := make([]*goWorkload, len(backends))
	est := map[string]float64{}
	for i, b := range backends {
		w, err := newGoWorkload(b.Backend, m, row, cfg.Batch)
		if err != nil {
			return nil, fmt.Errorf("bench: %s %s on %s: %w", m.Name, row, b.Name, err)
		}
		// The first run compiles (XLA takes seconds for ResNet-18); a second one estimates a
		// repetition, unless the first alone took longer than the row's budget.
		for range 2 {
			start := time.Now()
			if err := w.run(); err != nil {
				return nil, fmt.Errorf("bench: %s %s on %s: %w", m.Name, row, b.Name, err)
			}
			est[b.Name] = time.Since(start).Seconds()
			if cfg.RowSeconds < 0 || est[b.Name] > cfg.RowSeconds {
				break
			}
		}
		works[i] = w
	}
	ts, err := torch.time(torchRequest{Model: m.Name, Row: row, Batch: cfg.Batch, Reps: 1, Warmup: 1})
	if err != nil {
		return nil, err
	}
	est["torch"] = ts[0]
	rounds, reps := plan(est, cfg)

	samples := map[string][]float64{}
	for range rounds {
		for i, b := range backends {
			for range reps[b.Name] {
				start := time.Now()
				if err := works[i].run(); err != nil {
					return nil, fmt.Errorf("bench: %s %s on %s: %w", m.Name, row, b.Name, err)
				}
				samples[b.Name] = append(samples[b.Name], time.Since(start).Seconds())
			}
		}
		ts, err := torch.time(torchRequest{Model: m.Name, Row: row, Batch: cfg.Batch, Reps: reps["torch"], Warmup: 0})
		if err != nil {
			return nil, err
		}
		samples["torch"] = append(samples["torch"], ts...)
	}
	for side, s := range samples {
		sec := median(s)
		res.Seconds[side] = sec
		res.Reps[side] = len(s)
		res.ImagesPerSecond[side] = float64(cfg.Batch) / sec
		res.GFLOPs[side] = res.NominalGFLOP / sec
	}
	for _, b := range backends {
		res.Ratio[b.Name] = res.Seconds["torch"] / res.Seconds[b.Name]
	}
	return res, nil
}

// plan chooses the rounds of a row and the repetitions per round of each side from the estimated
// seconds of one repetition, so that each side's timed work stays within cfg.RowSeconds: a side gets
// floor(RowSeconds/estimate) repetitions in all (at least one, at most Rounds*Reps); the row gets as
// many rounds as its slowest side has repetitions (at most Rounds), and each side spreads its
// repetitions evenly over them.
func plan(est map[string]float64, cfg Config) (rounds int, reps map[string]int) {
	total := map[string]int{}
	rounds = cfg.Rounds
	for side, e := range est {
		n := cfg.Rounds * cfg.Reps
		if cfg.RowSeconds > 0 && e > 0 {
			n = max(1, min(n, int(cfg.RowSeconds/e)))
		}
		total[side] = n
		rounds = min(rounds, n)
	}
	reps = map[string]int{}
	for side, n := range total {
		reps[side] = max(1, min(cfg.Reps, n/rounds))
	}
	return rounds, reps
}

func (r Result) summary(backends []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "torch %.4fs", r.Seconds["torch"])
	for _, name := range backends {
		fmt.Fprintf(&b, "  %s %.4fs (x%.2f)", name, r.Seconds[name], r.Ratio[name])
	}
	return b.String()
}

// Markdown renders the report as a table: one line per (model, row), columns per side.
func (rep *Report) Markdown() string {
	var b strings.Builder
	if rep.CPU.Model != "" {
		fmt.Fprintf(&b, "CPU: %s\n\n", rep.CPU.Line())
	}
	if r := rep.Reference; r != nil {
		fmt.Fprintf(&b, "PyTorch reference: %s\n\n", r.Line())
		if r.AllowedBecause != "" {
			fmt.Fprintf(&b, "**Reference accepted with -allow-reference %q despite:** %s\n\n", r.AllowedBecause,
				strings.Join(r.Problems, "; "))
		}
	}
	if rep.Device == "" || rep.Device == "cpu" {
		blas := "OpenBLAS"
		if rep.Reference != nil {
			blas = rep.Reference.BLAS
		}
		fmt.Fprintf(&b, "Matmul peak (PyTorch %s, %s, %d threads, 2048x2048 float32): %.1f GFLOP/s\n\n",
			rep.Torch, blas, rep.TorchThreads, rep.MatmulPeakGFLOPs)
	} else {
		fmt.Fprintf(&b, "PyTorch %s (eager) on %s\n\n", rep.Torch, rep.TorchDevice)
	}
	b.WriteString("| model | row | batch | PyTorch s (img/s, GFLOP/s) |")
	for _, name := range rep.Backends {
		fmt.Fprintf(&b, " %s s (img/s, GFLOP/s) | %s / PyTorch |", name, name)
	}
	b.WriteString("\n|---|---|---|---|")
	for range rep.Backends {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %s | %d | %.4f (%.0f, %.1f) |", r.Model, RowTitles[r.Row], r.Batch,
			r.Seconds["torch"], r.ImagesPerSecond["torch"], r.GFLOPs["torch"])
		for _, name := range rep.Backends {
			fmt.Fprintf(&b, " %.4f (%.0f, %.1f) | %.2f |", r.Seconds[name], r.ImagesPerSecond[name], r.GFLOPs[name], r.Ratio[name])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nRatio = PyTorch time / mtlrob time (above 1: mtlrob is faster). Seconds are the median "+
		"of %d rounds x %d repetitions per side, PyTorch's interleaved with mtlrob's, after a warm-up", rep.Rounds, rep.Reps)
	if rep.RowSeconds > 0 {
		fmt.Fprintf(&b, "; a side whose repetition takes longer than %.0f s / %d is timed fewer times (at least once)",
			rep.RowSeconds, rep.Rounds*rep.Reps)
	}
	b.WriteString(".\n")
	var fewer []string
	for _, r := range rep.Results {
		var sides []string
		for _, side := range append([]string{"torch"}, rep.Backends...) {
			if n, ok := r.Reps[side]; ok && n < rep.Rounds*rep.Reps {
				sides = append(sides, fmt.Sprintf("%s %d", side, n))
			}
		}
		if len(sides) > 0 {
			fewer = append(fewer, fmt.Sprintf("%s %s (%s)", r.Model, RowTitles[r.Row], strings.Join(sides, ", ")))
		}
	}
	if len(fewer) > 0 {
		fmt.Fprintf(&b, "Rows timed fewer times: %s.\n", strings.Join(fewer, "; "))
	}
	b.WriteString("Backends:\n")
	for _, name := range rep.Backends {
		fmt.Fprintf(&b, "- %s: %s\n", name, rep.BackendLines[name])
	}
	if len(rep.Environment) > 0 {
		keys := slices.Sorted(maps.Keys(rep.Environment))
		b.WriteString("Environment:")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s %s;", k, rep.Environment[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func median(s []float64) float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	n := len(c)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}
