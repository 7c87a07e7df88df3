package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Job is one cell of a shard.
type Job struct {
	// Key names the cell's claim: "<analysis>/<model name>".
	Key string
	// Label names the cell in the logs.
	Label string
	// Done reports whether the cell's record is on file (asked when another process holds the claim).
	Done func() bool
	// Run computes the cell (or reads its record).
	Run func() error
}

// Options are how Run drives the jobs.
type Options struct {
	Claims *Claimer
	Log    io.Writer
	// Context stops the run between jobs when done (a job itself is expected to stop on it too).
	Context context.Context
	// Failed reports whether an error of a job is a failed cell, reported and passed over (a model that
	// did not learn); the others end the run.
	Failed func(error) bool
	// Later reports whether an error of a job means "not now": the cell's claim is released and the cell
	// is tried again after the others, every RetryWait (default 30 s) once only such cells are left (a
	// model whose weights another process is training, training.ErrLocked).
	Later     func(error) bool
	RetryWait time.Duration
	// Sleep waits (default: time.After, stopped by Context).
	Sleep func(time.Duration)
}

// Summary is what Run did with the jobs.
type Summary struct {
	Ran, Failed []string
	// Held are the cells left to other processes; those whose record was on file are in DoneElsewhere.
	Held          []*HeldError
	DoneElsewhere []string
	// TookOver are the claims of dead processes that were taken over.
	TookOver []Claim
}

func (s Summary) String() string {
	out := fmt.Sprintf("%d cells run here, %d done by other processes, %d left to other processes, %d failed",
		len(s.Ran), len(s.DoneElsewhere), len(s.Held), len(s.Failed))
	if len(s.TookOver) > 0 {
		out += fmt.Sprintf(", %d claims of dead processes taken over", len(s.TookOver))
	}
	return out
}

// Run runs the jobs in order, each under its claim: it claims the cell (Claimer.Acquire), runs it and
// releases the claim, whatever the job's outcome, so that no claim outlives its process unless the
// process is killed (a claim that its next run, or any process of its host, takes over). A cell
// another process holds is skipped and reported. The error is the first job error that is neither
// Failed nor Later, or the Context's cause when it stopped the run, or one naming the failed cells.
func Run(jobs []Job, opt Options) (Summary, error) {
	var sum Summary
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	wait := opt.RetryWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	sleep := opt.Sleep
	if sleep == nil {
		sleep = func(d time.Duration) {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
	}
	type item struct {
		job       Job
		n         int // position in jobs, from 1
		notBefore time.Time
	}
	queue := make([]item, len(jobs))
	for i, j := range jobs {
		queue[i] = item{job: j, n: i + 1}
	}
	for len(queue) > 0 {
		if ctx.Err() != nil {
			return sum, fmt.Errorf("shard: stopped before cell %d of %d (%s): %w", queue[0].n, len(jobs), queue[0].job.Label, context.Cause(ctx))
		}
		k := -1
		for i, it := range queue {
			if !time.Now().Before(it.notBefore) {
				k = i
				break
			}
		}
		if k < 0 { // only cells to try later are left
			next := queue[0].notBefore
			for _, it := range queue {
				if it.notBefore.Before(next) {
					next = it.notBefore
				}
			}
			sleep(time.Until(next))
			continue
		}
		it := queue[k]
		queue = append(queue[:k:k], queue[k+1:]...)
		tag := fmt.Sprintf("[%d/%d]", it.n, len(jobs))
		lease, err := opt.Claims.Acquire(it.job.Key)
		var held *HeldError
		if errors.As(err, &held) {
			if it.job.Done != nil && it.job.Done() {
				fmt.Fprintf(log, "%s %s: done by %s\n", tag, it.job.Label, holderName(held))
				sum.DoneElsewhere = append(sum.DoneElsewhere, it.job.Label)
			} else {
				fmt.Fprintf(log, "%s %s: skipped, claimed by %s (%s)\n", tag, it.job.Label, holderName(held), held.Why)
				sum.Held = append(sum.Held, held)
			}
			continue
		}
		if err != nil {
			return sum, err
		}
		if lease.TookOver != nil {
			who := "an unreadable claim"
			if lease.TookOver.Token != "" {
				who = "the claim of " + lease.TookOver.String()
			}
			fmt.Fprintf(log, "%s %s: took over %s (%s)\n", tag, it.job.Label, who, lease.Reason)
			sum.TookOver = append(sum.TookOver, *lease.TookOver)
		}
		t0 := time.Now()
		fmt.Fprintf(log, "%s %s ...\n", tag, it.job.Label)
		err = it.job.Run()
		if rerr := lease.Release(); rerr != nil {
			fmt.Fprintf(log, "%s %s: %v\n", tag, it.job.Label, rerr)
		}
		switch {
		case err == nil:
			fmt.Fprintf(log, "%s done in %s\n", tag, time.Since(t0).Round(time.Second))
			sum.Ran = append(sum.Ran, it.job.Label)
		case opt.Failed != nil && opt.Failed(err):
			fmt.Fprintf(log, "%s FAILED: %v\n", tag, err)
			sum.Failed = append(sum.Failed, it.job.Label)
		case opt.Later != nil && opt.Later(err) && ctx.Err() == nil:
			fmt.Fprintf(log, "%s %s: not now (%v); tried again after the others\n", tag, it.job.Label, err)
			it.notBefore = time.Now().Add(wait)
			queue = append(queue, it)
		default:
			return sum, fmt.Errorf("shard: cell %d (%s): %w", it.n, it.job.Label, err)
		}
	}
	if len(sum.Failed) > 0 {
		return sum, fmt.Errorf("shard: %d cells failed: %s", len(sum.Failed), strings.Join(sum.Failed, ", "))
	}
	return sum, nil
}

func holderName(h *HeldError) string {
	if h.Holder == nil {
		return "an unreadable claim " + h.Path
	}
	return h.Holder.String()
}
