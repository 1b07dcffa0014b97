# shipgate: the helper binary, its tests and benchmarks, and the packed orb.
# `make demo` runs the local end-to-end pipeline; `make test` is what CI runs.

GO        ?= go
BIN       := bin/shipgate
PKGS      := ./...
# The dev tooling (runner, demo, orb tools, benches) is a module of its own: helper/dev.
DEV       := helper/dev
# CircleCI's policy engine (circle-policy-agent, OPA v0.54) judges the config-policy bundle in a
# module of its own: in the dev module's go.mod OPA's otel exporters do not resolve (go mod tidy
# fails; the policy module pins them), and the shipped module must not carry any of it.
POLICYTEST := helper/dev/policytest
# Seconds each fuzz target runs inside `make test` (a bounded pass; `make fuzz` runs longer).
FUZZTIME  ?= 4s
LONGFUZZ  ?= 2m

.PHONY: all build tools test unit secret-scan fuzz-smoke fuzz bench vet fmt-check clean docs orb demo race soak reliability

all: build

# The release's build flags (.goreleaser.yaml, less the version stamp), so that bin/shipgate and
# `make bench` measure the binary users download. urfave_cli_no_docs leaves out urfave/cli's
# Markdown and man-page generation (blackfriday, md2man), which shipgate does not use: 0.3 MB
# and a tenth of `shipgate --version`'s start-up (issue 15, bench/STARTUP.md). CGO_ENABLED=0 as
# the release: with a C compiler on the machine the default is a dynamically linked binary,
# whose loader adds to every start-up.
BUILDFLAGS := -trimpath -tags urfave_cli_no_docs -ldflags '-s -w'

build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN) ./helper/cmd/shipgate

# Builds the pinned third-party programs the tests run (the distribution registry, and the
# clients that judge results) into the user cache (shipgate-tools); tests build a missing one on first use.
tools:
	$(GO) run ./helper/internal/testpeer/devtool/buildtools

vet:
	$(GO) vet $(PKGS)
	cd $(DEV) && $(GO) vet ./...
	cd $(POLICYTEST) && $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l helper); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The suite runs verbosely into $(TESTLOG) (so the secret scan reads every line the tests printed,
# the demo's narration included); the console gets the per-package verdicts, and on a failure the
# failing tests' output.
TESTLOG   ?= bin/test.log
unit:
	@mkdir -p $(dir $(TESTLOG))
	@status=0; $(GO) test -count=1 -v $(PKGS) >$(TESTLOG) 2>&1 || status=$$?; \
	(cd $(DEV) && $(GO) test -count=1 -v ./...) >>$(TESTLOG) 2>&1 || status=$$?; \
	(cd $(POLICYTEST) && $(GO) test -count=1 -v ./...) >>$(TESTLOG) 2>&1 || status=$$?; \
	grep -E '^(ok|FAIL|\?|panic:)' $(TESTLOG); \
	if [ $$status -ne 0 ]; then echo "--- failing tests (full log: $(TESTLOG)):"; \
	  grep -v -E '^(=== (RUN|PAUSE|CONT)|--- PASS|    --- PASS|PASS$$)' $(TESTLOG) | tail -300; fi; \
	exit $$status

# No planted credential in anything the suite printed (plain, base64, URL-encoded).
secret-scan:
	./.ci/secret-scan $(TESTLOG)

# Every Fuzz target runs briefly so a regression in a seed corpus or a quick finding fails CI.
fuzz-smoke:
	./.ci/fuzz $(FUZZTIME)

fuzz:
	./.ci/fuzz $(LONGFUZZ)

test: fmt-check tools vet unit secret-scan race fuzz-smoke

# Concurrent ledger writers and readers, and promotion's progress from parallel copies, under the
# race detector (only these tests: -race over the whole module is too slow for the build machine).
race:
	$(GO) test -race -count=1 -run '^TestRace' ./helper/internal/ledger ./helper/internal/promotion

# The fault-injection soak, longer than the 120 iterations `make unit` runs.
SOAK_ITERATIONS ?= 1000
soak:
	SHIPGATE_SOAK_ITERATIONS=$(SOAK_ITERATIONS) SHIPGATE_SOAK_TIME=20m $(GO) test -count=1 -timeout 30m -v -run '^TestSoakUnderFaults$$' ./helper/internal/ledger

# Regenerates RELIABILITY.md (soaks, fault tables, bad inputs, races, fuzzing, secret scan).
reliability:
	./.ci/reliability-report

bench: build
	$(GO) run -C $(DEV) ./cmd/registrybench -out $(CURDIR)/bench/RESULTS.md -readme $(CURDIR)/README.md
	$(GO) run -C $(DEV) ./cmd/ledgerbench -out $(CURDIR)/bench/LEDGER.md

clean:
	rm -rf bin

# Regenerates docs/commands.md from the CLI itself (a test fails when it is stale).
docs: build
	./$(BIN) reference > docs/commands.md

# Packs src/ into orb.yml and renders docs/orb-reference.md from it (both committed; tests fail
# when either is stale).
orb:
	$(GO) run -C $(DEV) ./cmd/orbtool pack -src src -out orb.yml
	$(GO) run -C $(DEV) ./cmd/orbtool reference -orb orb.yml -out docs/orb-reference.md

# The local end-to-end demo: the example pipeline through the local runner, narrated.
demo:
	$(GO) run -C $(DEV) ./cmd/devstack demo
