# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench soak box-check train evaluate clean mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

## Run the daemon on the bundled sample (no camera, Spotify, broker or ../shared needed).
demo: $(STAMP) build/demo/sample.avi
	$(PY) -m soulsyncd run --config config/demo.yaml --for 60

build/demo/sample.avi: tools/make_sample.py tools/sample/*.png
	$(PY) tools/make_sample.py render --out $@

## Install what the tests need and run them.
test: $(STAMP)
	@# The MQTT tests start their own mosquitto on a free port; install it when missing and we can
	@# (root or passwordless sudo), and keep the system service it brings from running on 1883.
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || \
	  { { SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
	      { $$SUDO apt-get install -y -q mosquitto || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q mosquitto; }; } >/dev/null 2>&1 && \
	      { $$SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true; }; } || \
	    echo "warning: mosquitto is not installed (apt-get install mosquitto): the MQTT tests will be skipped"; }
	@# The status page's browser tests drive Debian's chromium through chromium-driver; likewise.
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || \
	  { SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
	    { $$SUDO apt-get install -y -q chromium chromium-driver || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver; }; } >/dev/null 2>&1; } || \
	    echo "warning: chromium/chromium-driver are not installed (apt-get install chromium chromium-driver): the browser tests will be skipped"
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check soulsyncd tests tools
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) tools/bench.py

## Mutation testing (mutmut, [tool.mutmut] in pyproject.toml; docs/mutation.md): incremental, a re-run
## re-tests only mutants of changed functions. One module: make mutate M=soulsyncd.mood.learning
M ?=
JOBS ?= 2
mutate: $(STAMP)
	$(VENV)/bin/mutmut run --max-children $(JOBS) $(if $(M),"$(M)*")
	$(PY) tools/mutation_score.py --survivors $(M)

## Ten minutes of faults against the real daemon, broker and fake Spotify (figures in the README).
soak: $(STAMP)
	$(PY) tools/soak.py --minutes 10

## The unit under real systemd 252 and 257 (containers; needs root, debootstrap, systemd-container).
box-check:
	tools/box_check.sh

## Training needs TensorFlow (the 'train' extra) in its own venv; about 105 min on 2 cores (78 epochs).
train:
	$(PYTHON) -m venv .venv-train
	.venv-train/bin/pip install -q -e '.[train]'
	mkdir -p build
	.venv-train/bin/python -u tools/train.py --max-minutes 115 2>&1 | tee build/train.log

evaluate: $(STAMP)
	$(PY) tools/evaluate.py --csv ../shared/data/fer2013_train_public.csv.gz --usage PublicTest

clean:
	rm -rf $(VENV) build .pytest_cache mutants
