# SG Watch — every target installs what it needs from scratch.
SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
TF_EXAMPLES  := $(wildcard examples/*)

.PHONY: help venv package package-check fmt fmt-check validate tftest cfn-lint docs docs-check lint unit module \
        checkov browser test bench demo review-signoff clean

help:
	@echo "make demo           run the inventory end to end on a local AWS emulator (no account needed)"
	@echo "make test           the whole suite: lint, packaging, fmt, validate, docs, unit, module tests, checkov"
	@echo "make lint           ruff and mypy"
	@echo "make bench          benchmarks: inventory pipeline, many accounts (direct and fan-out), memory over many accounts"
	@echo "make package        rebuild functions/dist/*.zip reproducibly"
	@echo "make docs           regenerate the inputs/outputs tables of every README (root, modules, examples)"
	@echo "make review-signoff record a PCI DSS 1.2.7 review sign-off (see README)"

# The project itself is installed editable (pyproject.toml): functions/ is importable by tools and tests.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -e .
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

package: venv
	$(PY) tools/package.py

package-check: venv
	$(PY) tools/package.py --check

fmt:
	terraform fmt -recursive .

fmt-check:
	terraform fmt -check -recursive .

# The Terraform CLI config with the offline provider mirror (tests/module/emulator.py), in a new directory.
TF_CLI_CONFIG = $$($(PY) -c 'import tempfile,pathlib; from tests.module.emulator import write_cli_config; print(write_cli_config(pathlib.Path(tempfile.mkdtemp())))')

validate: venv
	@set -e; cfg=$(TF_CLI_CONFIG); \
	for ex in $(TF_EXAMPLES); do \
	  echo "validate $$ex"; \
	  TF_CLI_CONFIG_FILE=$$cfg terraform -chdir=$$ex init -backend=false -input=false -no-color >/dev/null; \
	  TF_CLI_CONFIG_FILE=$$cfg terraform -chdir=$$ex validate -no-color; \
	done

# Native terraform test (tests/terraform/*.tftest.hcl): plan-level behaviour with a mocked AWS provider, offline.
tftest: venv
	@set -e; cfg=$(TF_CLI_CONFIG); \
	TF_CLI_CONFIG_FILE=$$cfg terraform init -backend=false -input=false -no-color -test-directory=tests/terraform >/dev/null; \
	TF_CLI_CONFIG_FILE=$$cfg terraform test -test-directory=tests/terraform -no-color

# The CloudFormation templates of modules/organization-members, planned on the local emulator, through cfn-lint.
cfn-lint: venv
	rm -rf build/cfn
	$(PY) -m tests.terraform.cfn_templates build/cfn
	$(VENV)/bin/cfn-lint build/cfn/*.json

docs: venv
	$(PY) tools/tfdocs.py

docs-check: venv
	$(PY) tools/tfdocs.py --check

# Headless Chromium from the distribution, for the review-pack rendering test.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed: its rendering test will skip"; \
	  else echo "chromium missing and not root: its rendering test will skip"; fi; }

# Lint and type checks (settings in pyproject.toml; caches under .cache/).
lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy functions/

unit: venv
	$(PY) -m pytest tests/unit -n auto

module: venv
	$(PY) -m pytest tests/module

checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform \
	  --config-file .checkov.yaml --directory .

# Unit tests spread over the machine's cores (they share nothing); module tests share one emulator.
test: venv lint browser package-check fmt-check validate tftest cfn-lint docs-check checkov
	$(PY) -m pytest tests/unit -n auto
	$(PY) -m pytest tests/module

bench: venv
	$(PY) tools/bench.py
	$(PY) tools/bench_accounts.py
	$(PY) tools/bench_memory.py

# Run as a module from the repository root, so that it shares tests/module's emulator code.
demo: venv
	$(PY) -m tools.demo

# Record the sign-off of a review pack with your AWS identity (STS), e.g.
#   make review-signoff PACK=2026-01-01_2026-06-30 DECISION=approved COMMENTS='reviewed with the network team'
# BUCKET defaults to the evidence bucket of the Terraform state in TF_DIR (default: this directory).
TF_DIR ?= .
review-signoff: venv
	@bucket="$(BUCKET)"; [ -n "$$bucket" ] || bucket=$$(terraform -chdir=$(TF_DIR) output -raw evidence_bucket_name); \
	PYTHONPATH=functions $(PY) -m review_pack.signoff --bucket "$$bucket" --prefix "$(or $(PREFIX),security-groups/)" \
	  --pack "$(PACK)" --decision "$(DECISION)" --comments "$(COMMENTS)" $(if $(NAME),--name "$(NAME)")

clean:
	rm -rf .cache .pytest_cache .hypothesis build
	find . -name .terraform -type d -prune -exec rm -rf {} +
