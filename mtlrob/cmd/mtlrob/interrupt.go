package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// signalError is the cancellation cause of a run ended by a signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "signal: " + e.sig.String() }

// exitCode is the conventional status of a process ended by the signal: 128 + its number (130 for
// SIGINT, 143 for SIGTERM).
func (e *signalError) exitCode() int { return 128 + int(e.sig) }

// signalContext returns a context cancelled, with a *signalError cause, on the first SIGINT or SIGTERM,
// after saying on stderr that the run is being ended cleanly. After that first signal, or once stop is
// called, the default handling is back: a second signal ends the process at once.
func signalContext(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			fmt.Fprintf(stderr, "\nmtlrob: %v: ending the run after the current step and keeping a checkpoint of it (signal again to quit at once)\n", s)
			sig, _ := s.(syscall.Signal)
			cancel(&signalError{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedTrain turns the *training.InterruptedError of an interrupted train command into an error
// that says where the checkpoint is and the command that resumes from it (args are the command's
// flags); other errors are returned as they are. The signal cause stays wrapped, for the exit status.
func interruptedTrain(err error, args []string) error {
	var ie *training.InterruptedError
	if !errors.As(err, &ie) {
		return err
	}
	if ie.Dir == "" {
		return fmt.Errorf("%w; nothing was kept, the run must start again", err)
	}
	resume := append([]string{"mtlrob", "train"}, args...)
	where := ""
	if ie.Temporary {
		where = " (kept under the cache: no -checkpoint was given)"
		resume = append(resume, "-checkpoint", ie.Dir)
	}
	return fmt.Errorf("%w%s; resume with: %s", err, where, shellJoin(resume))
}

// interruptedCell adds to the error of a grid or eval command ended by a signal how to go on: the
// same command again, which reads the finished records and resumes the interrupted training from its
// cached checkpoint. Other errors are returned as they are.
func interruptedCell(err error, command string, args []string) error {
	if !errors.Is(err, training.ErrInterrupted) {
		return err
	}
	return fmt.Errorf("%w; finished records are kept: resume with: %s", err, shellJoin(append([]string{"mtlrob", command}, args...)))
}

// shellJoin joins words into a command line, single-quoting those that need it.
func shellJoin(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.IndexFunc(w, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,=+:@", r))
		}) < 0 {
			out[i] = w
		} else {
			out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
