"""Session fixtures of the parity suite: the mtlrob export, the PyTorch rebuild, the peer runs.

Environment:
  MTLROB_PARITY_EXPORT  an existing export directory (with mtlrob.json) to reuse; default: the
                        export cached for the current Go sources (below), else run
                        `go run ./internal/parity/export` and cache it
  MTLROB_PARITY_OUT     where parity.json and parity.md go; default: a temporary directory
                        (make parity sets figures/parity)
  MTLROB_PARITY_FRESH   set to 1 to ignore both caches (they are still rewritten)
  MTLROB_CACHE_DIR      the cache directory (default .cache/ at the repository root)

Caches, like Go's test cache, reuse a result only when everything it is computed from is unchanged
(content hashes): the export (mtlrob's side, about 5-15 minutes) under
<cache>/parity/export/<key>, keyed by the source files of every repository package the export command
is built from (go list -deps), go.mod, go.sum, the backend choice (MTLROB_BACKEND, GOEXPERIMENT) and
the XLA CPU plugin file; the peers' runs (about 10-20 minutes) under <cache>/parity/peers/<key>.pt,
keyed by the exported weights, images and labels, the runs' settings, the suite's Python files, the
pins and the torch version and thread count (peers.py, cached_peer_runs). The checks are computed from the cached results as from fresh ones.
"""
import hashlib
import os
import shutil
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


def _fresh():
    return os.environ.get("MTLROB_PARITY_FRESH", "") not in ("", "0")


def cache_dir():
    return os.environ.get("MTLROB_CACHE_DIR") or os.path.join(REPO, ".cache")


def _go_env():
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "go1.27.3")
    env.setdefault("GOEXPERIMENT", "simd")
    env.setdefault("GOMLX_NO_AUTO_INSTALL", "1")
    return env


# Every repository file compiled into (or embedded in) the export command, for this build context.
_GO_LIST_FILES = ('{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}\n{{end}}'
                  '{{range .CgoFiles}}{{$d}}/{{.}}\n{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}\n{{end}}{{end}}')


def export_key():
    """The content hash the export depends on: the repository's source files of every package the
    export command is built from (go list -deps; other modules are pinned by go.sum), go.mod,
    go.sum, the backend choice and the XLA CPU plugin file."""
    proc = subprocess.run(["go", "list", "-deps", "-f", _GO_LIST_FILES, "./internal/parity/export"], cwd=REPO,
                          env=_go_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail("go list -deps ./internal/parity/export failed:\n" + proc.stderr)
    root = os.path.realpath(REPO) + os.sep
    files = sorted({os.path.relpath(f, root) for f in proc.stdout.split("\n")
                    if f and os.path.realpath(f).startswith(root)} | {"go.mod", "go.sum"})
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0")
        with open(os.path.join(REPO, f), "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    for var in ("MTLROB_BACKEND", "MTLROB_XLA_DIR", "GOEXPERIMENT", "GOTOOLCHAIN"):
        h.update(("%s=%s\0" % (var, os.environ.get(var, ""))).encode())
    plugin = os.path.join(os.environ.get("MTLROB_XLA_DIR") or os.path.join(REPO, ".xla"), "pjrt_c_api_cpu_plugin.so")
    if os.path.exists(plugin):
        st = os.stat(plugin)
        h.update(("plugin %d %d\0" % (st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()[:20]


@pytest.fixture(scope="session")
def export_dir(request):
    given = os.environ.get("MTLROB_PARITY_EXPORT")
    if given:
        if not os.path.exists(os.path.join(given, "mtlrob.json")):
            pytest.fail("MTLROB_PARITY_EXPORT=%s holds no mtlrob.json" % given)
        return given
    key = export_key()
    out = os.path.join(cache_dir(), "parity", "export", key)
    if not _fresh() and os.path.exists(os.path.join(out, "mtlrob.json")):
        _say(request.config, "\nparity: reusing the export of these Go sources, %s" % out)
        return out
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = _go_env()
    _say(request.config, "\nparity: go run ./internal/parity/export -out %s" % tmp)
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        proc = subprocess.run(["go", "run", "./internal/parity/export", "-out", tmp], cwd=REPO, env=env)
    if proc.returncode != 0:
        pytest.fail("go run ./internal/parity/export failed with exit status %d" % proc.returncode)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    # Keep only this export: an older one belongs to sources that are gone (each is about 40 MB).
    parent = os.path.dirname(out)
    for name in os.listdir(parent):
        if name != key and not name.endswith(".tmp"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
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
    s.numeric = peers.numeric_checks(s.net, s.manifest, s.data)
    s.peer_runs, s.peers_cached = peers.cached_peer_runs(
        os.path.join(cache_dir(), "parity", "peers"), s.manifest, s.weights, s.net, s.data, fresh=_fresh(),
        log=lambda m: _say(request.config, m))
    s.rows, s.checks = peers.compare(s.manifest, (s.manifest["runs"] or []), s.peer_runs, s.logit_diffs, s.clean_logits,
                                     s.data, s.adversarial, s.numeric)
    s.record = peers.make_record(s.manifest, s.rows, s.checks, s.logit_diffs, (s.manifest["runs"] or []), s.peer_runs,
                                 s.numeric, peers_cached=s.peers_cached)
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
