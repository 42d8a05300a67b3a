# Vellarys — every target does its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := protos services/kit services/tenant services/conversation services/ai services/notify services/gateway
PROTO_FILES := $(shell find protos -name '*.proto')

.PHONY: run test lint protos migrate bench backup restore clean-data help venv

help:
	@echo "make run    start the whole stack (Postgres, migrations, superadmin, five services)"
	@echo "make test   lint, type-check and run every test"
	@echo "make bench   throughput/latency benchmarks of the whole stack (about 6 minutes)"
	@echo "make protos  regenerate gRPC code;  make migrate  bootstrap + migrate + seed only"
	@echo "make backup  dump the database;  make restore FILE=…  restore a dump"

$(STAMP): requirements.lock $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	@touch $(STAMP)

venv: $(STAMP)

protos: $(STAMP)
	$(PY) -m grpc_tools.protoc -I protos --python_out=protos --pyi_out=protos --grpc_python_out=protos $(PROTO_FILES)

run: $(STAMP)
	$(PY) -m kit.stack run

migrate: $(STAMP)
	$(PY) -m kit.stack migrate

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/run.py

backup: $(STAMP)
	$(PY) -m kit.backup dump --dir backups

restore: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/vellarys-full-….dump"; exit 2; }
	$(PY) -m kit.backup restore "$(FILE)"

clean-data:
	$(PY) -m kit.pgcluster stop --data-dir .data/pg || true
	rm -rf .data
