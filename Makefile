# Baoshui — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/baoshui
PKGS  := ./...
FUZZTIME ?= 10s

.PHONY: run build test test-integration fuzz bench lint vet demo-data clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/baoshui
	$(GO) build -o $(BIN) ./server/cmd/baoshui

run: build ## start the whole system on embedded defaults with the 2020 demo year (127.0.0.1:8080)
	BAOSHUI_DEMO=$${BAOSHUI_DEMO:-1} ./$(BIN) serve

test: vet ## the unit suite with -race (no external service needed), then a short fuzz run
	$(GO) test -race -short -count=1 $(PKGS)
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./server/enforcement

test-integration: ## everything, including the demo year over HTTP and the PostgreSQL backend (required)
	BAOSHUI_TEST_REQUIRE_POSTGRES=1 $(GO) test -race -count=1 -timeout 30m $(PKGS)

fuzz: ## fuzz the record decoder and the coordinate transforms longer
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$${FUZZTIME:-5m} ./server/enforcement
	$(GO) test -run='^$$' -fuzz=FuzzRoundTrip -fuzztime=$${FUZZTIME:-5m} ./geo

bench: ## BENCHMARKS.md in one run (RECORDS=1000000 by default; about 40 minutes at that size)
	$(GO) run ./server/bench/cmd/baoshui-bench -records $${RECORDS:-1000000}

vet: ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

lint: vet ## alias of vet

demo-data: ## regenerate testdata/demo2020 from its seeded generator
	$(GO) run ./server/demo/gen -out testdata/demo2020

clean: ## remove the binary (the data directory ./data is kept)
	rm -rf bin
