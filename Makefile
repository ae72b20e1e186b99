# inception — build, test and benchmark targets. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     ?= bin/inception
PKGS    := ./...
FUZZTIME ?= 10s

.PHONY: build test test-short test-purego bench lint depcheck fuzz generate clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/inception

# The whole suite: formatting, vet, the dependency rule, and every test including the whole-model parity
# tests (they read ../shared/weights when present and skip with a message when not).
test: lint
	$(GO) test -count=1 $(PKGS)

# Unit tests only: skips the whole-model runs.
test-short:
	$(GO) test -short $(PKGS)

# The portable kernels alone, as on a machine without AVX2.
test-purego:
	$(GO) test -tags purego -count=1 $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/kernels/
	$(GO) run ./cmd/inception bench --arch v1 --iters 5
	$(GO) run ./cmd/inception bench --arch v3 --iters 3

lint: depcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Dependencies point one way: cmd -> model -> kernels, cmd -> preprocess (scripts/depcheck.sh).
depcheck:
	bash scripts/depcheck.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadSafetensors -fuzztime $(FUZZTIME) ./internal/weights/
	$(GO) test -run '^$$' -fuzz FuzzReadCaffeModel -fuzztime $(FUZZTIME) ./internal/weights/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/preprocess/

generate:
	$(GO) generate ./...

clean:
	rm -rf bin
