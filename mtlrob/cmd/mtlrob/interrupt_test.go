package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// TestSignalEndsRunWithConventionalStatus: SIGINT and SIGTERM cancel the train command's context with a
// cause whose exit status is 130 and 143, and the error of the interrupted run says where the checkpoint
// is and the command that resumes from it.
func TestSignalEndsRunWithConventionalStatus(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			ctx, stop := signalContext(io.Discard)
			defer stop()
			if err := syscall.Kill(syscall.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("%v did not cancel the context", tc.sig)
			}
			ie := &training.InterruptedError{Step: 7, Steps: 300, Dir: "/cache/interrupted/x", Temporary: true, Cause: context.Cause(ctx)}
			err := interruptedTrain(fmt.Errorf("wrapped: %w", ie), []string{"-aux", "category", "-out", "my figs"})
			var sig *signalError
			if !errors.As(err, &sig) || sig.exitCode() != tc.code {
				t.Fatalf("error %v: want a signal cause with exit status %d", err, tc.code)
			}
			want := "resume with: mtlrob train -aux category -out 'my figs' -checkpoint /cache/interrupted/x"
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no -checkpoint was given") {
				t.Fatalf("error %q, want it to contain %q and say why the checkpoint is under the cache", err, want)
			}
		})
	}
}

// TestInterruptedCellSaysHowToResume: an interrupted grid or eval says to run the same command again; any
// other error is left as it is.
func TestInterruptedCellSaysHowToResume(t *testing.T) {
	ie := &training.InterruptedError{Step: 3, Steps: 10, Dir: "/c/models/m", Cause: &signalError{syscall.SIGINT}}
	err := interruptedCell(fmt.Errorf("experiment: cell 2: %w", ie), "grid", []string{"-grid", "headline", "-seeds", "1,2"})
	var sig *signalError
	if !errors.As(err, &sig) || sig.exitCode() != 130 || !strings.Contains(err.Error(), "resume with: mtlrob grid -grid headline -seeds 1,2") {
		t.Errorf("interrupted grid: %v", err)
	}
	other := errors.New("disk full")
	if got := interruptedCell(other, "eval", nil); got != other {
		t.Errorf("other error rewritten: %v", got)
	}
}
