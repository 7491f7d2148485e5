# Baoshui — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/baoshui
PKGS  := ./...
# make test's fuzz runs count executions, not seconds: a duration -fuzztime
# can fail with "context deadline exceeded" and no failing input when a
# worker is busy as the deadline passes (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 100000x
NPM_DIR   := testdata/npm
NPM_STAMP := $(NPM_DIR)/node_modules/.package-lock.json
# The GeoJSON checks need the npm test tools; they are installed when Node.js
# is on the machine, and the tests skip them otherwise (CI requires them).
NODE_TOOLS := $(if $(shell command -v node 2>/dev/null),npm)
# The office console (server/console/web) is bundled by esbuild into
# server/console/dist/app, which the binary embeds; without Node.js the
# binary serves a placeholder page that says how to build it.
CONSOLE_DIR    := server/console/web
CONSOLE_STAMP  := $(CONSOLE_DIR)/node_modules/.package-lock.json
CONSOLE_BUNDLE := server/console/dist/app/index.html
CONSOLE_SRC    := $(wildcard $(CONSOLE_DIR)/src/*) $(CONSOLE_DIR)/index.html $(CONSOLE_DIR)/build.mjs
CONSOLE        := $(if $(shell command -v node 2>/dev/null),console)

.PHONY: run build console test-e2e test test-integration fuzz bench bench-cluster load soak lint vet demo-data zones npm clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: $(CONSOLE) ## build bin/baoshui (with the console bundled when Node.js is on the machine)
	$(GO) build -o $(BIN) ./server/cmd/baoshui

console: $(CONSOLE_BUNDLE) ## bundle the office console (npm ci, esbuild) into server/console/dist/app

$(CONSOLE_BUNDLE): $(CONSOLE_STAMP) $(CONSOLE_SRC)
	cd $(CONSOLE_DIR) && node build.mjs

$(CONSOLE_STAMP): $(CONSOLE_DIR)/package.json $(CONSOLE_DIR)/package-lock.json
	npm ci --prefix $(CONSOLE_DIR) --no-audit --no-fund

test-e2e: console ## the console in headless Chromium (Debian's chromium; .ci/run installs it): screenshots in server/console/artifacts
	BAOSHUI_E2E=1 $(GO) test -count=1 -run '^TestConsoleEndToEnd$$' -v -timeout 15m ./server/app

bench-console: console ## the console's first map render in headless Chromium with the 2020 year (and the 1M store of DIR=… from -only startup)
	$(GO) run ./server/bench/cmd/baoshui-bench -only console $${DIR:+-dir $$DIR}

run: build ## start the whole system on embedded defaults: the 2020 demo year (127.0.0.1:8080) and simulated stations (MQTT 127.0.0.1:1884)
	BAOSHUI_DEMO=$${BAOSHUI_DEMO:-1} BAOSHUI_STATIONS_FILE=$${BAOSHUI_STATIONS_FILE:-testdata/stations.json} \
	BAOSHUI_SIMULATE=$${BAOSHUI_SIMULATE:-1} BAOSHUI_MQTT_ADDR=$${BAOSHUI_MQTT_ADDR:-127.0.0.1:1884} ./$(BIN) serve

test: vet $(NODE_TOOLS) $(CONSOLE) ## the unit suite with -race (no external service needed), then a short fuzz run
	$(GO) test -race -short -count=1 -timeout 20m $(PKGS)
	$(if $(CONSOLE),node --test $(CONSOLE_DIR)/test/)
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./server/enforcement
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./sensors/ingest
	$(GO) test -run='^$$' -fuzz='^FuzzTransition$$' -fuzztime=$(FUZZTIME) ./server/cases

test-integration: npm ## everything, including the demo year over HTTP, the PostgreSQL backend, Mosquitto and the GeoJSON checks (all required)
	BAOSHUI_TEST_REQUIRE_POSTGRES=1 BAOSHUI_REQUIRE_NODE=1 BAOSHUI_TEST_REQUIRE_MOSQUITTO=1 $(GO) test -race -count=1 -timeout 30m $(PKGS)

fuzz: ## fuzz the record decoder, the MQTT payload parser, the stations file, the case procedure and the coordinate transforms longer
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$${FUZZTIME:-5m} ./server/enforcement
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeTrackChunk$$' -fuzztime=$${FUZZTIME:-5m} ./server/enforcement
	$(GO) test -run='^$$' -fuzz=FuzzRoundTrip -fuzztime=$${FUZZTIME:-5m} ./geo
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$${FUZZTIME:-5m} ./sensors/ingest
	$(GO) test -run='^$$' -fuzz='^FuzzLoadStations$$' -fuzztime=$${FUZZTIME:-5m} ./sensors
	$(GO) test -run='^$$' -fuzz='^FuzzTransition$$' -fuzztime=$${FUZZTIME:-5m} ./server/cases

bench: ## BENCHMARKS.md in one run (RECORDS=1000000 by default; about 40 minutes at that size)
	$(GO) run ./server/bench/cmd/baoshui-bench -records $${RECORDS:-1000000}

load: build ## 60 s of mixed load on a fresh demo server (50 phones pushing, 20 office users, 12 stations publishing every second): load-report.md
	$(GO) run ./server/bench/cmd/baoshui-load -bin $(BIN) -duration $${DURATION:-60s} -officers $${OFFICERS:-50} -browsers $${BROWSERS:-20} \
	  -stations $${STATIONS:-12} -publish-interval $${PUBLISH_INTERVAL:-1s} -out load-report.md

soak: build ## steady mixed load for 30 min (SOAK=10m for less), not in CI: soak-report.md with memory, heap and goroutines over the run
	$(GO) run ./server/bench/cmd/baoshui-load -bin $(BIN) -duration $${SOAK:-30m} -officers 4 -push-interval 2s -browsers 10 \
	  -browse-interval 500ms -stations 12 -publish-interval 5s -out soak-report.md

bench-cluster: npm ## Go clustering beside supercluster (npm) on the same 1,000,000 points
	BAOSHUI_COMPARE_SUPERCLUSTER=1 $(GO) test -count=1 -run TestClusterVersusSupercluster -v -timeout 20m ./geo

npm: $(NPM_STAMP) ## install the pinned Node.js test tools of testdata/npm (GeoJSON check, supercluster)

$(NPM_STAMP): $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	npm ci --prefix $(NPM_DIR) --no-audit --no-fund

vet: ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

lint: vet ## alias of vet

demo-data: ## regenerate testdata/demo2020 from its seeded generator
	$(GO) run ./server/demo/gen -out testdata/demo2020

zones: ## regenerate the approximate zone layers of testdata/zones
	$(GO) run ./geo/cmd/zonegen -out testdata/zones

clean: ## remove the binary (the data directory ./data is kept)
	rm -rf bin
