// Package advexamples computes the adversarial examples the notebooks show (a few test images, one per
// class, attacked on a trained model, with the model's main-task predictions) and keeps them as records
// (kind "adversarial-examples"), so that drawing them (figure.AdversarialGrid) needs no model weights: a
// fresh clone renders the figure from the committed record.
//
// The attack is the budget's gray-box PGD of the robustness records (experiment.EvalAttacks), whose
// images are the first test image of each of the first N classes of the model's test subset.
package advexamples

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// Kind is the record kind; records live under <results>/adversarial-examples/.
const Kind = "adversarial-examples"

// FingerprintRoot roots the records' code fingerprint at this package (experiment.NewProvenanceAt): it
// covers experiment's files and this package's.
const FingerprintRoot = datasets.ModulePath + "/mtlrob/advexamples"

// Spec names one set of examples: the model, how many images (one per class, at most the number of
// classes), and the name of the figure row.
type Spec struct {
	Model experiment.ModelSpec `json:"model"`
	N     int                  `json:"n"`
	Row   string               `json:"row"` // the row's name in the figure, e.g. "natural"
}

// Name identifies the record: the model's name with the attack and the number of images,
// "fashion-mnist_smallcnn_main+category+region_pgd-at_standard_seed1_graybox-pgd_n10".
func (s Spec) Name() string { return fmt.Sprintf("%s_graybox-pgd_n%d", s.Model.Name(), s.N) }

// Validate checks the spec; the error names the field.
func (s Spec) Validate() error {
	switch {
	case s.N <= 0:
		return fmt.Errorf("advexamples: spec.N %d: want at least one image", s.N)
	case s.Row == "":
		return errors.New("advexamples: spec.Row is empty: want the figure row's name")
	case !slices.Contains(experiment.Trainings, s.Model.Training):
		return fmt.Errorf("advexamples: spec.Model.Training %q: want one of %v", s.Model.Training, experiment.Trainings)
	}
	return nil
}

// Examples is what one model does with a few images and their adversarial versions under one attack:
// the images (HWC float32 in [0,1], as in datasets.Dataset) with their true classes, and the model's
// main-task predictions on both; figure.AdversarialGrid draws them.
type Examples struct {
	Name                    string // the model, as the figure's rows name it, e.g. "natural" or "PGD-AT"
	Attack                  string // the attack, e.g. attack.PGD.Name()
	Height, Width, Channels int
	Clean, Adversarial      [][]float32
	Labels                  []string // true class of each image
	CleanPred, AdvPred      []string // main-task predictions on the clean and the adversarial image
}

// Results is the Results part of a record. The clean images are not stored: they are the test images
// Indices names, reloaded from the dataset.
type Results struct {
	Attack  string `json:"attack"` // attack.PGD.Name()
	Victim  string `json:"victim"`
	Indices []int  `json:"indices"` // into the model's test subset (experiment.Data)
	Height  int    `json:"height"`
	Width   int    `json:"width"`
	// Channels of the HWC images.
	Channels int `json:"channels"`
	// Adversarial holds each attacked image, HWC float32 in [0,1].
	Adversarial [][]float32 `json:"adversarial"`
	Labels      []string    `json:"labels"`     // true class of each image
	CleanPred   []string    `json:"clean_pred"` // main-task prediction on the clean image
	AdvPred     []string    `json:"adv_pred"`   // and on the adversarial one
	// MaxPerturbation is the largest |x' - x| over every pixel (at most the attack's eps).
	MaxPerturbation float64 `json:"max_perturbation"`
}

// Craft runs atk with victim against m on the first test image of each of the first n classes of m's
// test subset, with the attack's random start seeded by seed, and returns the examples, with the main
// head's predictions on the clean and the adversarial images. It compiles the attack once for the batch.
func Craft(backend compute.Backend, m *experiment.Model, atk attack.Attack, victim attack.Victim, n int, seed int64) (Results, error) {
	ds := m.Test
	idx, err := FirstOfEachClass(ds, n)
	if err != nil {
		return Results{}, err
	}
	sub, err := ds.Subset(idx)
	if err != nil {
		return Results{}, err
	}
	labels, err := m.Tasks.Labels(sub.Labels)
	if err != nil {
		return Results{}, err
	}
	runner, err := attack.NewRunner(backend, m.Store, victim, atk)
	if err != nil {
		return Results{}, err
	}
	runner.Seed = seed
	x := tensors.FromFlatDataAndDimensions(slices.Clone(sub.Images), n, sub.Height, sub.Width, sub.Channels)
	ls := make([]*tensors.Tensor, len(labels))
	for t, l := range labels {
		ls[t] = tensors.FromFlatDataAndDimensions(slices.Clone(l), n)
	}
	out, err := runner.Run(x, ls)
	if err != nil {
		return Results{}, fmt.Errorf("advexamples: attacking %s: %w", m.Spec.Name(), err)
	}
	adv := tensors.MustCopyFlatData[float32](out)
	out.FinalizeAll()
	clean, err := reject.Predict(backend, m.Store, m.Net, sub.Images, n, sub.Height, sub.Width, sub.Channels, n)
	if err != nil {
		return Results{}, err
	}
	advPred, err := reject.Predict(backend, m.Store, m.Net, adv, n, sub.Height, sub.Width, sub.Channels, n)
	if err != nil {
		return Results{}, err
	}
	res := Results{Attack: atk.Name(), Victim: victim.String(), Indices: idx, Height: sub.Height, Width: sub.Width, Channels: sub.Channels}
	size := sub.ImageSize()
	for i := range n {
		a := adv[i*size : (i+1)*size]
		for j, v := range a {
			res.MaxPerturbation = math.Max(res.MaxPerturbation, math.Abs(float64(v-sub.Images[i*size+j])))
		}
		res.Adversarial = append(res.Adversarial, a)
		res.Labels = append(res.Labels, sub.ClassNames[sub.Labels[i]])
		res.CleanPred = append(res.CleanPred, sub.ClassNames[clean[0][i]])
		res.AdvPred = append(res.AdvPred, sub.ClassNames[advPred[0][i]])
	}
	return res, nil
}

// FirstOfEachClass returns the index of the first example of each of the classes 0..n-1 of ds.
func FirstOfEachClass(ds *datasets.Dataset, n int) ([]int, error) {
	if n <= 0 || n > ds.NumClasses() {
		return nil, fmt.Errorf("advexamples: %d examples: want 1 to %d, one per class", n, ds.NumClasses())
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = -1
	}
	for i, y := range ds.Labels {
		if int(y) < n && idx[y] < 0 {
			idx[y] = i
		}
	}
	for y, i := range idx {
		if i < 0 {
			return nil, fmt.Errorf("advexamples: %s/%s has no example of class %q", ds.Name, ds.Split, ds.ClassNames[y])
		}
	}
	return idx, nil
}

// ToExamples turns a record's results into what figure.AdversarialGrid draws, named row, with the clean
// images taken from test (the model's test subset). Results that do not fit test (an index out of range,
// another image size, a true class that is not the test image's) are an error: the record was made on
// other data.
func ToExamples(res Results, test *datasets.Dataset, row string) (Examples, error) {
	ex := Examples{Name: row, Attack: res.Attack, Height: res.Height, Width: res.Width, Channels: res.Channels,
		Labels: res.Labels, CleanPred: res.CleanPred, AdvPred: res.AdvPred, Adversarial: res.Adversarial}
	if res.Height != test.Height || res.Width != test.Width || res.Channels != test.Channels {
		return ex, fmt.Errorf("advexamples: %dx%dx%d images, the test set's are %dx%dx%d", res.Height, res.Width, res.Channels, test.Height, test.Width, test.Channels)
	}
	n := len(res.Indices)
	if len(res.Adversarial) != n || len(res.Labels) != n || len(res.CleanPred) != n || len(res.AdvPred) != n {
		return ex, fmt.Errorf("advexamples: %d indices, %d adversarial images, %d labels, %d and %d predictions: want as many of each",
			n, len(res.Adversarial), len(res.Labels), len(res.CleanPred), len(res.AdvPred))
	}
	for i, k := range res.Indices {
		if k < 0 || k >= test.N {
			return ex, fmt.Errorf("advexamples: index %d of image %d: the test set has %d images", k, i, test.N)
		}
		if got := test.ClassNames[test.Labels[k]]; got != res.Labels[i] {
			return ex, fmt.Errorf("advexamples: image %d (test image %d) is a %q in the test set, %q in the record", i, k, got, res.Labels[i])
		}
		if len(res.Adversarial[i]) != test.ImageSize() {
			return ex, fmt.Errorf("advexamples: adversarial image %d has %d values, want %d", i, len(res.Adversarial[i]), test.ImageSize())
		}
		ex.Clean = append(ex.Clean, test.Image(k))
	}
	return ex, nil
}

// LoadOrCraft returns the examples of spec for figure.AdversarialGrid, and their record: the record
// under env.ResultsDir (adversarial-examples/<Name>.json) when it was made with the same spec and its
// code fingerprint is current (or kept under experiment.StaleEnv's policy), with the clean images
// reloaded from the dataset and no model weights needed; else new ones, crafted on the model
// (experiment.LoadOrTrain loads or trains it) with the budget's gray-box PGD, written there first. A
// record that exists but cannot be read is an error, never silently overwritten.
func LoadOrCraft(env experiment.Env, spec Spec) (Examples, *experiment.Record, error) {
	if err := spec.Validate(); err != nil {
		return Examples{}, nil, err
	}
	_, test, err := experiment.Data(spec.Model.Dataset, spec.Model.Budget, spec.Model.Seed)
	if err != nil {
		return Examples{}, nil, err
	}
	path := Path(env.ResultsDir, spec)
	switch rec, err := Read(path); {
	case err == nil:
		stored, _ := experiment.As[Spec](rec.Config)
		use, err := experiment.UseStored(rec, reflect.DeepEqual(stored, spec), spec.Model.Budget.Name, env.BackendLine)
		if err != nil {
			return Examples{}, nil, err
		}
		if use {
			res, _ := experiment.As[Results](rec.Results)
			ex, err := ToExamples(res, test, spec.Row)
			if err != nil {
				return ex, nil, fmt.Errorf("%s: %w", path, err)
			}
			return ex, rec, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Examples{}, nil, fmt.Errorf("%w (remove the file to recompute it)", err)
	}
	start := time.Now()
	m, err := experiment.LoadOrTrain(env, spec.Model)
	if err != nil {
		return Examples{}, nil, err
	}
	pgd, _, _, err := experiment.EvalAttacks(spec.Model.Dataset, spec.Model.Budget)
	if err != nil {
		return Examples{}, nil, err
	}
	res, err := Craft(env.Backend, m, pgd, attack.GrayBox(m.Net), spec.N, spec.Model.Seed)
	if err != nil {
		return Examples{}, nil, err
	}
	rec := &experiment.Record{Kind: Kind, Name: spec.Name(), Provenance: experiment.NewProvenanceAt(FingerprintRoot, spec.Model.Seed, env.BackendLine),
		Config: spec, Results: res, Seconds: time.Since(start).Seconds()}
	if err := experiment.WriteJSON(path, rec); err != nil {
		return Examples{}, nil, err
	}
	ex, err := ToExamples(res, m.Test, spec.Row)
	return ex, rec, err
}

// Path is where the record of spec lives under resultsDir.
func Path(resultsDir string, spec Spec) string {
	return experiment.RecordPath(resultsDir, &experiment.Record{Kind: Kind, Name: spec.Name()})
}

// Read reads a record of this kind, its Config a Spec and its Results a Results; unknown fields, a record
// that fails validation and one of another kind are errors naming the file.
func Read(path string) (*experiment.Record, error) {
	return experiment.ReadRecord[Spec, Results](path, Kind)
}
