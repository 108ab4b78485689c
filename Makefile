# Set-up in two commands: `make run` and `make test`. Nothing else needs installing by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test lint bench clean docs feeds axe screenshots maintnote

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@echo "outage-daemon on config/example.yaml (Ctrl-C stops it):"
	@echo "  status page  http://127.0.0.1:8080/"
	@echo "  feed         http://127.0.0.1:8080/calendar.ics   (and /feeds/finance.ics; files in state/feeds/)"
	@echo "  outbox       state/outbox/  (a Maildir: mutt -f state/outbox)"
	@echo "  reminders    $(BIN)/outage-daemon preview -c config/example.yaml"
	$(BIN)/outage-daemon check -c config/example.yaml
	exec $(BIN)/outage-daemon run -c config/example.yaml --state-dir state --feeds-dir state/feeds --listen 127.0.0.1:8080

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint axe maintnote
	$(BIN)/python -m pytest -q

# axe-core (the accessibility checker the browser tests run in Chromium) and Thunderbird's ical.js (a reader
# of the feed in tests/edgecheck.py), from the npm registry into .tools/ (one install: --no-save prunes the rest).
AXE = .tools/node_modules/axe-core/axe.min.js
ICALJS = .tools/node_modules/ical.js/package.json
axe: $(AXE) $(ICALJS)
$(AXE) $(ICALJS):
	@if command -v npm >/dev/null; then npm install --prefix .tools --no-audit --no-fund --no-save --loglevel=error axe-core@4 ical.js@2; \
	else echo "npm not found: the axe-core and ical.js checks are skipped (.ci/run installs npm)"; fi

# circuit-maintenance-parser (what network tools read the X-MAINTNOTE-* properties of a feed with), in a
# virtual environment of its own under .tools/: it pins an icalendar older than ours. The feed test skips without it.
MAINTNOTE = .tools/maintnote/.installed
maintnote: $(MAINTNOTE)
$(MAINTNOTE):
	@$(PYTHON) -m venv .tools/maintnote && .tools/maintnote/bin/python -m pip install --quiet --disable-pip-version-check \
	  'circuit-maintenance-parser>=2.2,<3' && touch $@ || echo "circuit-maintenance-parser could not be installed: the BCOP feed test is skipped"

# The PNGs under docs/screenshots/ (page and email, phone and desktop, zh-CN and en), from tests/pagedemo.yaml at a
# fixed time, in headless Chromium; pngquant, when installed, makes them a third of the size.
screenshots: $(STAMP)
	cd tests && ../$(BIN)/python screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .tools build *.egg-info .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/outage-daemon schema > config/outage-daemon.schema.json
	$(BIN)/python -c 'import re, pathlib; from outage_daemon.core.schema import reference; p = pathlib.Path("README.md"); s = p.read_text(); p.write_text(re.sub(r"(?s)<!-- schema:start -->.*<!-- schema:end -->", lambda m: "<!-- schema:start -->\n" + reference() + "<!-- schema:end -->", s))'

# The committed example feeds, rendered at a fixed time so that they only change with the code.
feeds: $(STAMP)
	rm -rf .feeds-state && $(BIN)/outage-daemon render -c config/example.yaml -o feeds --state-dir .feeds-state --now 2026-01-01T00:00:00Z && rm -rf .feeds-state
