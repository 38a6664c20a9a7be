# cx-context: `make demo` and `make test` work on a fresh clone with Python 3.11+.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CX := $(BIN)/cx-context
STAMP := $(VENV)/.installed
# torch is installed first, on its own, so that nothing later pulls a CUDA
# build. Where PyPI would serve a CUDA wheel, point pip at the CPU builds:
#   make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=

.PHONY: install demo test lint format serve bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cx-context needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The demo's vault key seals customer identifiers at rest. It lives beside the
# data directory, not in it, and is made once; real deployments keep theirs in
# a secret store and point CX_VAULT_KEY_FILE (or CX_VAULT_KEY) at it.
VAULT_KEY_FILE ?= .cx-vault-key
demo serve: export CX_VAULT_KEY_FILE = $(abspath $(VAULT_KEY_FILE))

$(VAULT_KEY_FILE): | $(STAMP)
	$(CX) vault new-key --out $(VAULT_KEY_FILE)

demo: install $(VAULT_KEY_FILE)
	@echo "== 1. Ingest the ABCD policy manual (55 procedures), redacted, chunked and embedded"
	$(CX) ingest knowledge samples/abcd/guidelines.json
	@echo "== 2. Import the customers of five ABCD chats, identifiers sealed, an open case each"
	$(CX) customers import samples/abcd/dialogues.json --format abcd
	@echo "== 3. Ingest their chats; names, emails, phones, ids and addresses are redacted first"
	$(CX) ingest interactions samples/abcd/dialogues.json --format abcd
	@echo "== 4. A real customer question (ABCD chat 9489), answered from the manual with citations"
	$(CX) ask "just wanted to check on the status of a refund"
	@echo "== 5. An off-topic question: the answer is an abstention, not a guess"
	$(CX) ask "what will the weather be like in Paris tomorrow?"
	@echo "== 6. A redacted summary of a real conversation; every line cites its turn"
	$(CX) summarize abcd-3592
	@echo "== 7. The context an agent gets for that chat: record, open case, transcript, policy, each with its source"
	$(CX) context abcd-customer-3592 --interaction abcd-3592 --budget 900
	@echo "== 8. The handoff summary an agent reads before taking over that customer"
	$(CX) handoff abcd-customer-3592
	@echo "== 9. A reply draft grounded in the return policy and the open case, each sentence cited"
	$(CX) draft abcd-3592

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

serve: install
	$(CX) serve

bench: install
	$(CX) eval ingest

clean:
	rm -rf $(VENV) cx-data $(VAULT_KEY_FILE) .pytest_cache .mypy_cache .ruff_cache test-artifacts
