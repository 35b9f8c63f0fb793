# vigie: `make run` runs the daemon on its embedded defaults,
# `make test` installs what the tests need and runs them all.
GO       ?= go
BIN      ?= bin/vigie
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/vigie/vigie/internal/buildinfo.version=$(VERSION)

.PHONY: all build run test test-deps vet unit bench fuzz clean eval deb

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vigie

run:
	$(GO) run ./cmd/vigie run

test-deps:
	./scripts/install-test-deps.sh

# Every test; integration tests fail (not skip) when their program is missing.
# Then every fuzz target for TEST_FUZZTIME on top of its kept corpus.
TEST_FUZZTIME ?= 2s
test: test-deps vet
	VIGIE_INTEGRATION=require $(GO) test -count=1 -timeout 20m ./...
	./scripts/fuzz.sh $(TEST_FUZZTIME)

vet:
	$(GO) vet ./...

# Quick loop while coding: no installs, integration tests skip what is absent.
unit:
	$(GO) test -short ./...

# The mail scenario suite: four weeks of a realistic association's traffic,
# with and without each attack; prints time to detect, attack messages out
# before the first alert and false alerts per week (docs/mail-habits.md).
eval:
	go run ./internal/mail/eval/cmd/mail-eval

# Benchmarks print throughput and ratios against peers; they never fail.
bench:
	./scripts/bench.sh

# Short fuzzing of every parser (FUZZTIME per target).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# The Debian package (dpkg-deb): dist/out/vigie_VERSION_ARCH.deb.
deb:
	./scripts/build-deb.sh dist/out

clean:
	rm -rf bin dist/out
