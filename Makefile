# tollgate: `make run` and `make test` work on a fresh Debian 12 machine;
# each installs what it needs first (scripts/install-deps.sh, npm ci).

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
FUZZ_LONG_SECONDS ?= 3600
DATA       ?= ./data

.PHONY: all deps node-deps build asan tsan fuzz-build run run-collector test test-unit test-e2e \
        test-asan test-tsan test-fuzz fuzz-long bench clean format

all: build

deps:
	./scripts/install-deps.sh

node-deps: deps
	@if [ -f package-lock.json ]; then \
	  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    npm ci --no-audit --no-fund; \
	  fi; \
	fi

build: node-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTG_SANITIZE=ON -DTG_E2E=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)

tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTG_TSAN=ON
	cmake --build $(TSAN_BUILD) -j$(JOBS)

fuzz-build: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTG_FUZZ=ON -DTG_E2E=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# The main job: two sites (DE on-prem on the standard OTLP ports, US cloud)
# and the central view, each with its LMDB under ./data, plus a traffic
# generator using the OpenTelemetry SDK. Ctrl-C stops everything.
run: build node-deps
	./scripts/demo.sh $(BUILD) $(DATA)

# Just one site collector on the standard ports, LMDB in ./data.
run-collector: build
	./$(BUILD)/tollgate collector --data $(DATA)

# The whole suite: unit and end-to-end tests, the unit suite again under
# ASan+UBSan, the unit suite and the threaded end-to-end tests under TSan,
# then every fuzz target for a short run.
test: build node-deps
	ctest --test-dir $(BUILD) --output-on-failure -j2
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) test-fuzz

test-unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit -j2

test-e2e: build node-deps
	ctest --test-dir $(BUILD) --output-on-failure -L e2e

test-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -L unit -j2

# Under ThreadSanitizer: every unit test (the fuzz seed replays are
# single-threaded parsers, left to ASan) and the end-to-end tests that kill,
# partition, reload and stop the threaded daemons (and run several ingest
# loops, reload certificates across threads), against the TSan binary
# (TOLLGATE_BIN, set by ctest). A daemon's report would vanish into the
# harness's pipe, so every process writes its reports under tsan-reports/
# and any file there fails the target. Races are fixed in the code;
# tests/tsan.supp is only for races inside a dependency. setarch -R
# (no ASLR) avoids "unexpected memory mapping" on kernels with more mmap
# randomisation bits than this libtsan expects; where a container forbids
# it, the tests run without it.
TSAN_E2E ?= crash_safety|central_crash|central_partition|sigterm|rules_reload|federated_query|ingest_loops|receivers_secure|central_cert_reload
TSAN_REPORTS = $(CURDIR)/$(TSAN_BUILD)/tsan-reports
TSAN_NO_ASLR = $(shell setarch $$(uname -m) -R true 2>/dev/null && echo setarch $$(uname -m) -R)

test-tsan: tsan node-deps
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	@rc=0; \
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp log_path=$(TSAN_REPORTS)/tsan second_deadlock_stack=1" \
	  $(TSAN_NO_ASLR) ctest --test-dir $(TSAN_BUILD) --output-on-failure -j2 \
	  -R '^(test_.*|e2e_($(TSAN_E2E)))$$' || rc=$$?; \
	if ls $(TSAN_REPORTS)/tsan.* >/dev/null 2>&1; then \
	  cat $(TSAN_REPORTS)/tsan.*; \
	  echo "test-tsan: ThreadSanitizer reports above (kept in $(TSAN_REPORTS))"; rc=1; \
	fi; \
	exit $$rc

test-fuzz: fuzz-build
	./scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Every fuzz target for FUZZ_LONG_SECONDS (one CPU-hour each before a
# release), growing tests/fuzz/corpus/ with what adds coverage: commit it.
# FUZZ_TARGETS="fuzz_http fuzz_grpc" limits the run; FUZZ_JOBS runs several
# targets at once.
fuzz-long: fuzz-build
	TARGETS="$(FUZZ_TARGETS)" JOBS=$(or $(FUZZ_JOBS),1) \
	  ./scripts/fuzz-long.sh $(FUZZ_BUILD) $(FUZZ_LONG_SECONDS)

bench: build
	./bench/run-ingest-bench.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
