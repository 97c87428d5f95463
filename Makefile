# The two set-up commands of the README: `make run` (the main job) and `make test` (the tests).
# Both create .venv when missing and install what they need; torch is pinned first to the CPU build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
ARGS ?=

.PHONY: run test lint format bench laplace-extra clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e ".[test,lint]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/eqlab run $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(VENV)/.installed-dev
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f; done

# laplace-torch for tests/test_laplace_torch.py and the KFAC benchmark: it requires a CUDA torchvision
# that breaks its import beside the CPU torch, so it goes in without its dependencies, which follow.
laplace-extra: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet --no-deps laplace-torch==0.3
	$(BIN)/pip install --quiet asdfghjkl==0.1a5 backpack-for-pytorch curvlinops-for-pytorch torchmetrics opt_einsum
	$(BIN)/pip uninstall --yes --quiet torchvision || true  # pulled in by backpack; unused, and breaks imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
