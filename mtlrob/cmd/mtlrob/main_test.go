package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunRejectsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"trian"}, `unknown command "trian"`},
		{[]string{"train", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"train", "-budget", "huge"}, `-budget: experiment: unknown budget "huge"`},
		{[]string{"train", "extra"}, `unexpected argument "extra"`},
		{[]string{"eval", "-analysis", "vulnerabilty"}, `-analysis "vulnerabilty": want one of [model robustness directions vulnerability]`},
		{[]string{"search", "-dataset", "fashoin"}, `-dataset: task: unknown dataset "fashoin"`},
		{[]string{"search", "-budget", "huge"}, `-budget: experiment: unknown budget "huge"`},
	} {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mtlrob %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestTrainReportsMissingData(t *testing.T) {
	t.Setenv("MTLROB_CIFAR10_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	err := run([]string{"train", "-dataset", "cifar10", "-budget", "quick", "-quiet", "-out", t.TempDir()}, &out, &errOut)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "cifar10") {
		t.Fatalf("error %v, want a data error naming cifar10", err)
	}
	if strings.Count(err.Error(), "\n") > 0 {
		t.Fatalf("error spans several lines: %q", err)
	}
}
