# Set-up and the two commands the README documents. Everything installs into .venv with pinned
# versions: torch first (CPU build; an unpinned torch pulls a multi-GB CUDA build), then the lock.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps demo test lint clean

$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium renders the artifact report in a test (headless, no network).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: could not install chromium; the report rendering test will be skipped (and fail under CI=true)"

demo: $(STAMP)
	OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(BIN)/curate run datasets/recipes/demo.yaml
	$(BIN)/curate eval projection --store out/demo-store --gold datasets/samples/ner_qsy.conll
	$(BIN)/curate sql --store out/demo-store "SELECT config, split, count(*) AS samples, sum(n_tokens) AS tokens FROM training_samples GROUP BY ALL ORDER BY 1"
	$(BIN)/curate report --store out/demo-store --out out/demo-report.html --json out/demo-report.json

test: $(STAMP) system-deps
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q
	$(BIN)/ruff check curate beam_jobs testkit tests benchmarks
	$(BIN)/ruff format --check curate beam_jobs testkit tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check curate beam_jobs testkit tests benchmarks
	$(BIN)/ruff format --check curate beam_jobs testkit tests benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
