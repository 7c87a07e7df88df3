package arch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// Hand computations of the parameter counts, independent of the graph code: each layer's weights and
// biases from the architecture's published description.
func convParams(in, out, k int, bias bool) int {
	p := in * out * k * k
	if bias {
		p += out
	}
	return p
}
func bnParams(c int) int           { return 2 * c } // gamma and beta; running stats are buffers
func linearParams(in, out int) int { return in*out + out }

// resnet18Params is kuangliu/pytorch-cifar's ResNet18 with BasicBlocks [2,2,2,2].
func resnet18Params(classes int) int {
	p := convParams(3, 64, 3, false) + bnParams(64)
	in := 64
	for i, planes := range []int{64, 128, 256, 512} {
		for b := range 2 {
			stride := 1
			if i > 0 && b == 0 {
				stride = 2
			}
			p += convParams(in, planes, 3, false) + bnParams(planes) + convParams(planes, planes, 3, false) + bnParams(planes)
			if stride != 1 || in != planes {
				p += convParams(in, planes, 1, false) + bnParams(planes)
			}
			in = planes
		}
	}
	return p + linearParams(512, classes)
}

// wrnParams is xternalz/WideResNet-pytorch's WideResNet(depth, classes, widen).
func wrnParams(depth, widen, classes int) int {
	n := (depth - 4) / 6
	p := convParams(3, 16, 3, false)
	in := 16
	for _, out := range []int{16 * widen, 32 * widen, 64 * widen} {
		for range n {
			p += bnParams(in) + convParams(in, out, 3, false) + bnParams(out) + convParams(out, out, 3, false)
			if in != out {
				p += convParams(in, out, 1, false)
			}
			in = out
		}
	}
	return p + bnParams(in) + linearParams(in, classes)
}

// alexnetParams is torchvision's AlexNet with its last layer replaced by a classes-way linear layer.
func alexnetParams(classes int) int {
	return convParams(3, 64, 11, true) + convParams(64, 192, 5, true) + convParams(192, 384, 3, true) +
		convParams(384, 256, 3, true) + convParams(256, 256, 3, true) +
		linearParams(256*6*6, 4096) + linearParams(4096, 4096) + linearParams(4096, classes)
}

// mustNet returns n, panicking on a constructor error (tests only).
func mustNet(n *Net, err error) *Net {
	if err != nil {
		panic(err)
	}
	return n
}

func TestParamCounts(t *testing.T) {
	one := []string{"main"}
	tests := []struct {
		name      string
		net       func() (*Net, error)
		input     [3]int
		hand      int // from the hand computation above
		reference int // published count, 0 if none
	}{
		{"lenet 28x28x1 10", func() (*Net, error) { return LeNet(one, []int{10}) }, [3]int{28, 28, 1},
			convParams(1, 32, 5, true) + convParams(32, 64, 5, true) + linearParams(7*7*64, 1024) + linearParams(1024, 10), 3_274_634},
		{"smallcnn 28x28x1 10", func() (*Net, error) { return SmallCNN(one, []int{10}, [3]int{28, 28, 1}) }, [3]int{28, 28, 1},
			convParams(1, 16, 3, true) + convParams(16, 32, 3, true) + linearParams(7*7*32, 128) + linearParams(128, 10), 0},
		{"alexnet 112x112x3 43", func() (*Net, error) { return AlexNet(one, []int{43}, [3]int{112, 112, 3}) }, [3]int{112, 112, 3},
			alexnetParams(43), 0},
		{"alexnet 224x224x3 1000 (torchvision)", func() (*Net, error) { return AlexNet(one, []int{1000}, [3]int{224, 224, 3}) }, [3]int{224, 224, 3},
			alexnetParams(1000), 61_100_840},
		{"alexnet 32x32x3 43", func() (*Net, error) { return AlexNet(one, []int{43}, [3]int{32, 32, 3}) }, [3]int{32, 32, 3},
			alexnetParams(43), 0},
		{"resnet18 32x32x3 10", func() (*Net, error) { return ResNet18(one, []int{10}, [3]int{32, 32, 3}) }, [3]int{32, 32, 3},
			resnet18Params(10), 11_173_962},
		{"resnet18 64x64x3 200", func() (*Net, error) { return ResNet18(one, []int{200}, [3]int{64, 64, 3}) }, [3]int{64, 64, 3},
			resnet18Params(200), 0},
		{"wrn-28-10 32x32x3 10", func() (*Net, error) { return WideResNet(28, 10, one, []int{10}, [3]int{32, 32, 3}) }, [3]int{32, 32, 3},
			wrnParams(28, 10, 10), 36_479_194},
		{"wrn-16-4 32x32x3 10", func() (*Net, error) { return WideResNet(16, 4, one, []int{10}, [3]int{32, 32, 3}) }, [3]int{32, 32, 3},
			wrnParams(16, 4, 10), 2_748_890},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.net()
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.ParamCount(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.hand {
				t.Errorf("%s: %d parameters, hand computation %d", n, got, tc.hand)
			}
			if tc.reference != 0 && got != tc.reference {
				t.Errorf("%s: %d parameters, published count %d", n, got, tc.reference)
			}
		})
	}
}

func TestParamCountsSplitAndString(t *testing.T) {
	n := mustNet(LeNet([]string{"main", "category", "region"}, []int{10, 3, 4}))
	backbone, heads, err := n.ParamCounts(n.InputShape)
	if err != nil {
		t.Fatal(err)
	}
	if backbone != 3_264_384 || !slices.Equal(heads, []int{10_250, 3_075, 4_100}) {
		t.Errorf("LeNet counts: backbone %d heads %v, want 3264384 [10250 3075 4100]", backbone, heads)
	}
	if got, want := n.String(), "lenet 28x28x1 3,281,809 params, heads main:10 category:3 region:4"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// A Net made with New knows no input shape: String prints no count.
	bare := mustNet(New("toy", SmallCNNBackbone, []string{"main"}, []int{10}))
	if got, want := bare.String(), "toy heads main:10"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := bare.ParamCount([3]int{0, 28, 1}); err == nil {
		t.Error("ParamCount accepted a zero height")
	}
	// A LeNet too small for its pooling reports an error, not a panic.
	if _, err := n.ParamCount([3]int{2, 2, 1}); err == nil {
		t.Error("ParamCount of LeNet at 2x2 succeeded")
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {36479194, "36,479,194"}, {-1234, "-1,234"}} {
		if got := thousands(tc.n); got != tc.want {
			t.Errorf("thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestByName(t *testing.T) {
	tasks, classes := []string{"main", "aux"}, []int{10, 2}
	in := [3]int{32, 32, 3}
	for _, tc := range []struct{ name, want string }{
		{"lenet", "lenet"}, {"smallcnn", "smallcnn"}, {"alexnet", "alexnet"}, {"resnet18", "resnet18"},
		{"ResNet-18", "resnet18"}, {"wrn-16-4", "wrn-16-4"}, {"wrn-28-10", "wrn-28-10"}, {"WRN_22_2", "wrn-22-2"},
	} {
		n, err := ByName(tc.name, tasks, classes, in)
		if err != nil {
			t.Errorf("ByName(%q): %v", tc.name, err)
			continue
		}
		if n.Name != tc.want || n.InputShape != in || !slices.Equal(n.Tasks, tasks) {
			t.Errorf("ByName(%q) = %s %v %v", tc.name, n.Name, n.InputShape, n.Tasks)
		}
	}
	for _, bad := range []string{"vgg16", "wrn-27-10", "wrn-28-0", "wrn-4-1", ""} {
		_, err := ByName(bad, tasks, classes, in)
		if err == nil {
			t.Errorf("ByName(%q) succeeded", bad)
			continue
		}
		if bad == "vgg16" && !strings.Contains(err.Error(), "resnet18") {
			t.Errorf("ByName(%q) error does not list the names: %v", bad, err)
		}
	}
	if _, err := ByName("resnet18", tasks, []int{10}, in); err == nil {
		t.Error("ByName accepted 2 tasks and 1 class count")
	}
	if _, err := ByName("resnet18", tasks, classes, [3]int{32, 32, 0}); err == nil {
		t.Error("ByName accepted 0 channels")
	}
}

// buildOnly builds fn's graph on a fresh store for input dims without running it and returns the
// logits shapes and the store (whose variables are those the graph created).
func buildOnly(t testing.TB, fn func(s *model.Scope, x *Node) []*Node, dims ...int) ([]shapes.Shape, *model.Store) {
	t.Helper()
	g := NewGraph(testbackends.Go(t), "build_only")
	defer g.Finalize()
	store := model.NewStore()
	x := Parameter(g, "x", shapes.Make(dtypes.Float32, dims...))
	out := fn(store.RootScope(), x)
	shs := make([]shapes.Shape, len(out))
	for i, o := range out {
		shs[i] = o.Shape()
	}
	return shs, store
}

func paperNets(t testing.TB) []struct {
	net   *Net
	run   bool // forward pass on the pure-Go backend at batch 2 (else graph building only)
	short bool // run the forward pass also with -short
} {
	tasks := []string{"main", "aux"}
	return []struct {
		net   *Net
		run   bool
		short bool
	}{
		{mustNet(LeNet(tasks, []int{10, 3})), true, true},
		{mustNet(SmallCNN(tasks, []int{10, 3}, [3]int{28, 28, 1})), true, true},
		{mustNet(AlexNet(tasks, []int{43, 5}, [3]int{112, 112, 3})), true, false},
		{mustNet(AlexNet(tasks, []int{10, 2}, [3]int{32, 32, 3})), true, false},
		{mustNet(ResNet18(tasks, []int{10, 2}, [3]int{32, 32, 3})), true, false},
		{mustNet(WideResNet(16, 4, tasks, []int{10, 2}, [3]int{32, 32, 3})), true, false},
		{mustNet(WideResNet(28, 10, tasks, []int{10, 2}, [3]int{32, 32, 3})), true, false},
	}
}

// TestForwardShapes runs each model once on its paper input size at batch 2 (inference mode) and checks
// one [2, classes] finite logits node per head, in task order.
func TestForwardShapes(t *testing.T) {
	backend := testbackends.Go(t)
	for _, tc := range paperNets(t) {
		n := tc.net
		in := n.InputShape
		t.Run(fmt.Sprintf("%s_%dx%dx%d", n.Name, in[0], in[1], in[2]), func(t *testing.T) {
			if !tc.run || (testing.Short() && !tc.short) {
				shs, _ := buildOnly(t, n.Logits, 2, in[0], in[1], in[2])
				for i, sh := range shs {
					if want := shapes.Make(dtypes.Float32, 2, n.Classes[i]); !sh.Equal(want) {
						t.Errorf("head %s: shape %s, want %s", n.Tasks[i], sh, want)
					}
				}
				return
			}
			start := time.Now()
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(1))
			r := rand.New(rand.NewPCG(9, 9))
			x := make([]float32, 2*in[0]*in[1]*in[2])
			for i := range x {
				x[i] = r.Float32()
			}
			out, err := model.MustNewExec(backend, store, n.Logits).Call(tensors.FromFlatDataAndDimensions(x, 2, in[0], in[1], in[2]))
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(n.Tasks) {
				t.Fatalf("%d outputs, want %d", len(out), len(n.Tasks))
			}
			for i, o := range out {
				if want := shapes.Make(dtypes.Float32, 2, n.Classes[i]); !o.Shape().Equal(want) {
					t.Errorf("head %s: shape %s, want %s", n.Tasks[i], o.Shape(), want)
				}
				for _, v := range tensors.MustCopyFlatData[float32](o) {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("head %s: non-finite logit %g", n.Tasks[i], v)
					}
				}
			}
			t.Logf("%s: forward at batch 2 (init + compile + run) %v", n, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestGrayBoxReadsOnlyBackboneAndMainHead: the graph of the gray-box view creates (and so reads) the
// backbone's and the main head's variables and nothing of the auxiliary heads; the full view creates
// every head.
func TestGrayBoxReadsOnlyBackboneAndMainHead(t *testing.T) {
	for _, tc := range paperNets(t) {
		n := tc.net
		in := n.InputShape
		t.Run(n.Name, func(t *testing.T) {
			shs, store := buildOnly(t, func(s *model.Scope, x *Node) []*Node { return []*Node{n.GrayBox(s, x)} }, 2, in[0], in[1], in[2])
			if want := shapes.Make(dtypes.Float32, 2, n.Classes[0]); !shs[0].Equal(want) {
				t.Errorf("gray-box logits %s, want %s", shs[0], want)
			}
			var backbone, main int
			for v := range store.IterVariables() {
				switch p := v.Path(); {
				case strings.HasPrefix(p, "/backbone/"):
					backbone++
				case strings.HasPrefix(p, "/head_main/"):
					main++
				default:
					t.Errorf("gray-box graph created %s", p)
				}
			}
			if backbone == 0 || main != 2 {
				t.Errorf("gray-box graph created %d backbone and %d main-head variables, want > 0 and 2", backbone, main)
			}
			_, full := buildOnly(t, n.Logits, 2, in[0], in[1], in[2])
			if full.GetVariable("/head_aux/weights") == nil || full.NumVariables() != store.NumVariables()+2 {
				t.Errorf("full view: %d variables, gray-box %d + 2 aux-head variables expected", full.NumVariables(), store.NumVariables())
			}
		})
	}
}
