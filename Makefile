# imgen set-up and checks. `make setup` is idempotent: a second run with nothing changed takes seconds.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
UV    := $(VENV)/bin/uv
UV_VERSION := 0.13.9
# Local wheel mirrors present on this machine kind (torch/CUDA wheels); PyPI is the default index.
UV_INDEX := --index-strategy unsafe-best-match \
  $(foreach d,/opt/pypi-more/simple /opt/pypi/simple,$(if $(wildcard $(d)),--extra-index-url file://$(d))) \
  $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
APT_PKGS := libusb-1.0-0 libosmesa6 libgl1 libegl1 libglib2.0-0
export MUJOCO_GL ?= osmesa
export PYOPENGL_PLATFORM ?= osmesa

.PHONY: setup apt venv test test-fast lint run lock clean-venv

setup: apt $(VENV)/.stamp-lock

apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/bin/python:
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)

$(UV): $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"

# `uv pip install --no-deps` of the exact pins, not `uv pip sync`: the ROS wheels carry extra egg-info folders
# (rclpy-*.egg-info, ...) that sync would "uninstall" as extraneous, deleting the real modules with them.
# --no-deps also keeps triton (a torch dependency, not in the lock) out: see overrides.txt.
$(VENV)/.stamp-lock: requirements.lock pyproject.toml | $(UV)
	$(UV) pip install --python $(PY) --no-deps $(UV_INDEX) -r requirements.lock
	$(UV) pip install --python $(PY) --no-deps -e .
	@touch $@

lock:
	$(UV) pip compile requirements.in --override overrides.txt -p 3.11 $(UV_INDEX) -o requirements.lock

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy imgen_core

test: setup lint
	$(VENV)/bin/python -m pytest -v --durations=40

test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not slow"

run: setup
	$(VENV)/bin/imgen launch sim_generation

clean-venv:
	rm -rf $(VENV)
