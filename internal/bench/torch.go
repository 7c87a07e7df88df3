package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// torchRef is the long-lived PyTorch reference process (torchref.py). Keeping one process alive lets the
// driver interleave Go and PyTorch repetitions of the same row without paying torch's start-up each time.
type torchRef struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	Version string
	Threads int
	// DeviceLine describes the reference's device (e.g. "cuda: NVIDIA H100 80GB HBM3, CUDA 13.0,
	// cuDNN 91300"); Info holds the versions it reports (python, torch, cuda, cudnn, gpu).
	DeviceLine string
	Info       map[string]string
	// BLAS is the reference's report of the BLAS it loaded and its threads; OpenMPDir is the OpenMP
	// OpenBLAS directory pinned first on its LD_LIBRARY_PATH ("" when the machine has none, or on CUDA).
	BLAS      blasRaw
	OpenMPDir string
}

type torchRequest struct {
	Model  string `json:"model"`
	Row    string `json:"row"`
	Batch  int    `json:"batch"`
	Reps   int    `json:"reps"`
	Warmup int    `json:"warmup"`
}

// startTorch starts python on script with threads threads on device ("cpu" or "cuda") and waits for
// its ready line. With "cuda" it fails, in one line, when torch sees no CUDA device. On the CPU the
// process gets the OpenMP OpenBLAS when the machine has it (torchEnv).
func startTorch(python, script string, threads int, device string) (*torchRef, error) {
	cmd := exec.Command(python, script)
	blasDir := ""
	if device == "cpu" {
		blasDir = openMPBLASDir("/")
	}
	cmd.Env = torchEnv(cmd.Environ(), blasDir, threads, device)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting the PyTorch reference (%s %s): %w", python, script, err)
	}
	t := &torchRef{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	t.out.Buffer(make([]byte, 1<<16), 1<<20)
	var ready struct {
		Ready   bool              `json:"ready"`
		Torch   string            `json:"torch"`
		Threads int               `json:"threads"`
		Device  string            `json:"device"`
		Info    map[string]string `json:"info"`
		BLAS    blasRaw           `json:"blas"`
		Error   string            `json:"error"`
	}
	if err := t.read(&ready); err != nil || !ready.Ready {
		t.Close()
		if ready.Error != "" {
			return nil, fmt.Errorf("bench: the PyTorch reference (%s): %s", python, ready.Error)
		}
		return nil, fmt.Errorf("bench: the PyTorch reference did not start (is torch installed for %s?): %v%s", python, err,
			lastLine(stderr.String()))
	}
	t.Version, t.Threads, t.DeviceLine, t.Info = ready.Torch, ready.Threads, ready.Device, ready.Info
	t.BLAS, t.OpenMPDir = ready.BLAS, blasDir
	return t, nil
}

func (t *torchRef) read(v any) error {
	if !t.out.Scan() {
		if err := t.out.Err(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	}
	return json.Unmarshal(t.out.Bytes(), v)
}

// time runs reps repetitions of a row in PyTorch and returns their durations in seconds.
func (t *torchRef) time(req torchRequest) ([]float64, error) {
	line, _ := json.Marshal(req)
	if _, err := t.in.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("bench: PyTorch reference: %w", err)
	}
	var resp struct {
		Seconds []float64 `json:"seconds"`
		Error   string    `json:"error"`
	}
	if err := t.read(&resp); err != nil {
		return nil, fmt.Errorf("bench: PyTorch reference: %w", err)
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("bench: PyTorch reference, %s %s: %s", req.Model, req.Row, resp.Error)
	}
	return resp.Seconds, nil
}

// lastLine is ": " and the last non-empty line of s, or "" (a Python traceback's last line is its error).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return ": " + l
	}
	return ""
}

// Close ends the reference process.
func (t *torchRef) Close() error {
	t.in.Close()
	return t.cmd.Wait()
}
