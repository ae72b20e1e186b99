# inception — build, test and benchmark targets. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     ?= bin/inception
PKGS    := ./...
FUZZTIME ?= 10s

.PHONY: build test test-short test-purego bench lint depcheck fuzz generate check-generate clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/inception

# The whole suite: formatting, vet, the dependency rule, every test including the whole-model parity
# tests (they read ../shared/weights when present and skip with a message when not), and a short fuzz
# of decode -> preprocess.
test: lint
	$(GO) test -count=1 $(PKGS)
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 5s -fuzzminimizetime 2s ./internal/preprocess/

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

# Each target runs for FUZZTIME; minimisation is capped so new inputs don't eat the budget.
FUZZ := $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
fuzz:
	$(FUZZ) -fuzz FuzzReadSafetensors ./internal/weights/
	$(FUZZ) -fuzz FuzzReadCaffeModel ./internal/weights/
	$(FUZZ) -fuzz FuzzReadPth ./internal/weights/
	$(FUZZ) -fuzz FuzzDecode ./internal/preprocess/
	$(FUZZ) -fuzz FuzzParseManifest ./models/
	$(FUZZ) -fuzz FuzzRead ./internal/npy/

generate:
	$(GO) generate ./...

# The generated assembly must be what its generator (internal/kernels/_asm, avo) produces.
check-generate: generate
	@git diff --exit-code --stat -- '*.s' || (echo "generated files are stale: run make generate"; exit 1)

clean:
	rm -rf bin
