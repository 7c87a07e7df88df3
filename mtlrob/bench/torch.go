package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// torchRef is the long-lived PyTorch reference process (torchref.py). Keeping one process alive lets the
// driver interleave Go and PyTorch repetitions of the same row without paying torch's start-up each time.
type torchRef struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	Version string
	Threads int
}

type torchRequest struct {
	Model  string `json:"model"`
	Row    string `json:"row"`
	Batch  int    `json:"batch"`
	Reps   int    `json:"reps"`
	Warmup int    `json:"warmup"`
}

// startTorch starts python on script with threads threads and waits for its ready line.
func startTorch(python, script string, threads int) (*torchRef, error) {
	cmd := exec.Command(python, script)
	cmd.Env = append(cmd.Environ(), "MTLROB_BENCH_THREADS="+strconv.Itoa(threads), "PYTHONUNBUFFERED=1")
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
		Ready   bool   `json:"ready"`
		Torch   string `json:"torch"`
		Threads int    `json:"threads"`
	}
	if err := t.read(&ready); err != nil || !ready.Ready {
		t.Close()
		return nil, fmt.Errorf("bench: the PyTorch reference did not start (is python3-torch installed for %s?): %v", python, err)
	}
	t.Version, t.Threads = ready.Torch, ready.Threads
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

// Close ends the reference process.
func (t *torchRef) Close() error {
	t.in.Close()
	return t.cmd.Wait()
}
