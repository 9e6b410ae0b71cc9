# beatmap — every target that needs set-up runs it first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DB     ?= sqlite:///beatmap.db
OUT    ?= out
export BEATMAP_DB ?= $(DB)

.PHONY: setup demo test bench lint serve schema docs soak browser clean

LEAFLET_PKG := beatmap/web/static/leaflet

setup: $(STAMP) node_modules/.installed-stamp $(LEAFLET_PKG)/leaflet.js

$(STAMP): pyproject.toml $(LEAFLET_PKG)/leaflet.js
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@# The flat layout (crawler/, geo/, graph/ at the top, as designed) makes setuptools warn
	@# about editable installs at length; that one warning is expected and silenced.
	@PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@
	@echo "python environment ready in $(VENV)"

node_modules/.installed-stamp: package.json package-lock.json
	@npm ci --silent --no-audit --no-fund
	@touch $@

# Leaflet ships inside the package (wheel) too: its dist files and licence, copied from npm's install.
$(LEAFLET_PKG)/leaflet.js: node_modules/.installed-stamp
	@mkdir -p $(LEAFLET_PKG)/images
	@cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(LEAFLET_PKG)/
	@cp node_modules/leaflet/dist/images/*.png $(LEAFLET_PKG)/images/
	@cp node_modules/leaflet/LICENSE $(LEAFLET_PKG)/LICENSE

# Headless Chromium for the browser tests, from Debian, when missing and we may install.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

demo: setup
	@$(BIN)/python -m sampleweb.demo --out $(OUT)

test: setup browser
	@$(BIN)/python -m pytest -q -m "not soak" --durations=15

soak: setup browser
	@$(BIN)/python -m pytest -q -m soak

bench: setup
	@mkdir -p $(OUT)
	@$(BIN)/python -m bench --out $(OUT)/bench.json

lint: setup
	@$(BIN)/ruff check .

serve: setup
	@$(BIN)/beatmap serve

schema: setup
	@$(BIN)/python -m storage.schemagen > schema.sql
	@echo "schema.sql regenerated from storage/models.py; add an Alembic revision in"
	@echo "storage/migrations/versions/ for the change (0001_initial.sql is frozen)"

docs: setup
	@$(BIN)/python -m storage.config
	@echo "README settings table regenerated from storage/config.py"

clean:
	rm -rf $(OUT) .pytest_cache beatmap.db beatmap.db-wal beatmap.db-shm
