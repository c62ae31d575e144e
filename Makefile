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
	@echo "make demo           run the inventory, alerts and review pack end to end on a local AWS emulator (no account needed)"
	@echo "make test           the whole suite: lint, packaging, fmt, validate, docs, tftest, cfn-lint, checkov, unit, module tests"
	@echo "make lint           ruff and mypy"
	@echo "make unit           the unit tests and the fault matrix (tests/unit, tests/faults, on every core)"
	@echo "make module         the module tests (tests/module: Terraform applied to the emulator, the shipped zips run)"
	@echo "make tftest         terraform test (tests/terraform, mocked AWS provider, offline)"
	@echo "make validate       terraform validate of every example"
	@echo "make cfn-lint       cfn-lint of the StackSet templates of modules/organization-members"
	@echo "make checkov        checkov on the Terraform"
	@echo "make fmt            terraform fmt, recursively"
	@echo "make fmt-check      check terraform fmt without changing files"
	@echo "make bench          benchmarks: inventory pipeline, many accounts (direct and fan-out), memory over many accounts, cold imports, drift state read"
	@echo "make package        rebuild functions/dist/*.zip reproducibly"
	@echo "make package-check  check that functions/dist/*.zip equal a rebuild"
	@echo "make docs           regenerate the inputs/outputs tables of every README (root, modules, examples)"
	@echo "make docs-check     check those tables without changing files"
	@echo "make review-signoff record a PCI DSS 1.2.7 review sign-off: PACK=... DECISION=... [COMMENTS=...] [BUCKET=...] (see README)"
	@echo "make venv           create .venv with the pinned development requirements"
	@echo "make browser        install Debian's chromium (as root) for the review-pack rendering test"
	@echo "make clean          remove caches, build/ and every .terraform directory"
	@echo "make help           this list"

# The project itself is installed editable (pyproject.toml): functions/ is importable by tools and tests.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	$(PY) -m pip install --quiet -e .
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet --no-compile -r requirements-checkov.txt
	touch $@

package: venv
	$(PY) tools/package.py

package-check: venv
	$(PY) tools/package.py --check

fmt:
	terraform fmt -recursive .

fmt-check:
	terraform fmt -check -recursive .

# The Terraform CLI config with the offline provider mirror (tests/module/emulator.py, the standard library only),
# in a new directory: the Terraform checks need no virtual environment.
TF_CLI_CONFIG = $$($(PYTHON) -c 'import tempfile,pathlib; from tests.module.emulator import write_cli_config; print(write_cli_config(pathlib.Path(tempfile.mkdtemp())))')

validate:
	@set -e; cfg=$(TF_CLI_CONFIG); \
	for ex in $(TF_EXAMPLES); do \
	  echo "validate $$ex"; \
	  TF_CLI_CONFIG_FILE=$$cfg terraform -chdir=$$ex init -backend=false -input=false -no-color >/dev/null; \
	  TF_CLI_CONFIG_FILE=$$cfg terraform -chdir=$$ex validate -no-color; \
	done

# Native terraform test (tests/terraform/*.tftest.hcl): plan-level behaviour with a mocked AWS provider, offline.
tftest:
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
	$(PY) -m pytest tests/faults

# Five test files at a time (or a test class, which may run beside the rest of its file with a deployment of its
# own), each worker with its own emulator: the applies wait on the emulator and the provider's waiters far more than
# they compute. The run ends with each file's set-up (applies), test and teardown seconds.
MODULE_WORKERS := -n 5 --dist loadscope --no-loadscope-reorder

module: venv
	$(PY) -m pytest tests/module $(MODULE_WORKERS)

checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform \
	  --config-file .checkov.yaml --directory .

# Everything at once, at three priorities. The Terraform checks start first, beside the installation of the virtual
# environments (which uses one core). Then the module tests: they mostly wait on Terraform and the emulator, and a
# test that waits must get the CPU as soon as its answer comes. The other checks (two at a time) and the unit tests
# next (nice 10): they compute, and take what the module tests leave. The fault matrix last (nice 19): it runs on
# what is still idle. The outputs of what ran in the background follow at the end.
TF_CHECKS := fmt-check validate tftest
CHECKS := lint browser package-check cfn-lint docs-check checkov

test:
	@mkdir -p build; \
	nice -n 10 $(MAKE) --no-print-directory -j2 --output-sync=target $(TF_CHECKS) > build/terraform-checks.log 2>&1 & tf=$$!; \
	$(MAKE) --no-print-directory -j2 venv $(CHECKOV_VENV)/.installed || exit 1; \
	nice -n 19 $(PY) -m pytest tests/faults -p no:cacheprovider > build/faults.log 2>&1 & matrix=$$!; \
	$(PY) -m pytest tests/module $(MODULE_WORKERS) -p no:cacheprovider > build/module.log 2>&1 & module=$$!; \
	nice -n 10 $(MAKE) --no-print-directory -j2 --output-sync=target $(CHECKS); checks=$$?; \
	nice -n 10 $(PY) -m pytest tests/unit -n auto; unit=$$?; \
	wait $$tf; tfchecks=$$?; \
	echo "--- Terraform checks ($(TF_CHECKS)) ---"; cat build/terraform-checks.log; \
	wait $$module; modules=$$?; \
	echo "--- module tests (tests/module) ---"; cat build/module.log; \
	wait $$matrix; faults=$$?; \
	echo "--- fault matrix (tests/faults) ---"; cat build/faults.log; \
	[ $$tfchecks -eq 0 ] && [ $$checks -eq 0 ] && [ $$unit -eq 0 ] && [ $$modules -eq 0 ] && [ $$faults -eq 0 ]

bench: venv
	$(PY) tools/bench.py
	$(PY) tools/bench_accounts.py
	$(PY) tools/bench_memory.py
	$(PY) tools/bench_imports.py
	$(PY) tools/bench_review.py
	$(PY) tools/bench_drift.py

# Run as a module from the repository root, so that it shares tests/module's emulator code.
demo: venv
	$(PY) -m tools.demo

# Record the sign-off of a review pack with your AWS identity (STS), e.g.
#   make review-signoff PACK=2026-01-01_2026-06-30 DECISION=approved COMMENTS='reviewed with the network team'
# BUCKET defaults to the output evidence_bucket_name of the Terraform state in TF_DIR (default: this directory).
# Each missing input is named, and nothing runs, when PACK, DECISION or a bucket name is missing.
TF_DIR ?= .
BUCKET_NAME := ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$$
review-signoff: venv
	@missing=(); \
	[ -n "$(PACK)" ] || missing+=("PACK=<pack folder under reviews/, e.g. 2026-01-01_2026-06-30>"); \
	[ -n "$(DECISION)" ] || missing+=("DECISION=<approved, approved-with-exceptions or rejected>"); \
	bucket="$(BUCKET)"; \
	if [ -z "$$bucket" ]; then \
	  bucket=$$(terraform -chdir="$(TF_DIR)" output -no-color -raw evidence_bucket_name 2>/dev/null) || bucket=""; \
	  [[ "$$bucket" =~ $(BUCKET_NAME) ]] || { bucket=""; \
	    missing+=("BUCKET=<evidence bucket> (no evidence_bucket_name output in the Terraform state of $(TF_DIR); set TF_DIR or BUCKET)"); }; \
	fi; \
	if [ $${#missing[@]} -gt 0 ]; then printf 'make review-signoff: missing %s\n' "$${missing[@]}" >&2; exit 2; fi; \
	PYTHONPATH=functions $(PY) -m review_pack.signoff --bucket "$$bucket" --prefix "$(or $(PREFIX),security-groups/)" \
	  --pack "$(PACK)" --decision "$(DECISION)" --comments "$(COMMENTS)" $(if $(NAME),--name "$(NAME)")

clean:
	rm -rf .cache .pytest_cache .hypothesis build
	find . -name .terraform -type d -prune -exec rm -rf {} +
