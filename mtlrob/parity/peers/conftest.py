"""Session fixtures of the parity suite: the mtlrob export, the PyTorch rebuild, the peer runs.

Environment:
  MTLROB_PARITY_EXPORT  an existing export directory (with mtlrob.json) to reuse; default: run
                        `go run ./mtlrob/parity/export` into a temporary directory
  MTLROB_PARITY_OUT     where parity.json and parity.md go; default: a temporary directory
                        (make parity sets figures/parity)
"""
import os
import subprocess
import sys

# PyTorch's OpenMP threads spin while they wait by default: on a machine whose cores are busy with
# other work that makes every step 3x slower than one thread (measured here: 0.28 s vs 0.09 s per
# PGD step at batch 100 on 2 loaded cores); passive waiting keeps 2 threads at least as fast as 1.
# libgomp reads this when torch is first imported, below.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402
from lenet import LeNet  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class _Session:
    pass


def _say(config, msg):
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        print(msg, file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def export_dir(request, tmp_path_factory):
    given = os.environ.get("MTLROB_PARITY_EXPORT")
    if given:
        if not os.path.exists(os.path.join(given, "mtlrob.json")):
            pytest.fail("MTLROB_PARITY_EXPORT=%s holds no mtlrob.json" % given)
        return given
    out = str(tmp_path_factory.mktemp("export"))
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "go1.27.0")
    env.setdefault("GOEXPERIMENT", "simd")
    env.setdefault("GOMLX_NO_AUTO_INSTALL", "1")
    _say(request.config, "\nparity: go run ./mtlrob/parity/export -out %s" % out)
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        proc = subprocess.run(["go", "run", "./mtlrob/parity/export", "-out", out], cwd=REPO, env=env)
    if proc.returncode != 0:
        pytest.fail("go run ./mtlrob/parity/export failed with exit status %d" % proc.returncode)
    return out


@pytest.fixture(scope="session")
def parity(request, export_dir, tmp_path_factory):
    """Everything the tests check, computed once; parity.json and parity.md are written before any
    assertion."""
    torch.set_num_threads(os.cpu_count() or 1)
    s = _Session()
    s.manifest, s.weights, s.data, s.adversarial = peers.load_export(export_dir)
    s.net = LeNet(s.weights, s.manifest["tasks"])
    s.logit_diffs, s.clean_logits = peers.clean_logit_diffs(s.net, s.manifest, s.data)
    s.grad = peers.gradient_diff(s.net, s.manifest, s.data)
    s.peer_runs = peers.run_peers(s.manifest, s.net, s.data, log=lambda m: _say(request.config, m))
    s.rows, s.checks = peers.compare(s.manifest, s.manifest["runs"], s.peer_runs, s.logit_diffs, s.clean_logits,
                                     s.data, s.adversarial, s.grad)
    s.record = peers.make_record(s.manifest, s.rows, s.checks, s.logit_diffs, s.manifest["runs"], s.peer_runs,
                                 s.grad)
    out = os.environ.get("MTLROB_PARITY_OUT") or str(tmp_path_factory.mktemp("parity"))
    s.json_path, s.md_path = peers.write(s.record, out)
    request.config._parity_report = (s.md_path, peers.render(s.record))
    return s


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = getattr(config, "_parity_report", None)
    if report:
        terminalreporter.write_sep("=", "parity table (%s)" % report[0])
        terminalreporter.write_line(report[1])


def pytest_sessionfinish(session, exitstatus):
    # make test must not pass on a suite that ran nothing (pytest's exit status 5 already says so;
    # this also catches a run where every test was deselected or skipped).
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    passed = len(reporter.stats.get("passed", []))
    if passed == 0:
        session.exitstatus = 5
