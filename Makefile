# The README's two commands. Everything else is CMake (see CMakeLists.txt).
#   make run    install missing Debian packages, build (Release), start build/ssehub
#   make test   install, then build and test twice: normal and ASan+UBSan; fuzz corpora
#               replayed in both and through the clang libFuzzer build
#   make install   build (Release) and `cmake --install` it under PREFIX [/usr/local],
#               staged under DESTDIR if set: programs, libssehub, headers, ssehub.pc, man
#               pages, the systemd unit (see README, "Running it in production")

JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
ARGS       ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: run test deps build build-asan build-fuzz interop-deps install clean

# The hub on http://127.0.0.1:8080 (open it in a browser: the demo page), with the
# durable store: history in LMDB under ./var/ssehub-data, kept across restarts.
run: deps build
	@echo "make run: starting ssehub on http://127.0.0.1:8080; history is durable in ./var/ssehub-data (LMDB)"
	./$(BUILD)/ssehub --listen 127.0.0.1:8080 --store lmdb:./var/ssehub-data $(ARGS)

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		"-DSSEHUB_SANITIZE=address;undefined" -DSSEHUB_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

build-fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSSEHUB_BUILD_FUZZ=ON "-DSSEHUB_SANITIZE=address;undefined" \
		-DSSEHUB_BUILD_BENCH=OFF -DSSEHUB_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# The unit's ExecStart is PREFIX/bin/ssehub. ldconfig makes a new libssehub.so known
# (when installing for real, as root).
install: deps build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# npm packages for the interop tests (real clients: playwright-core drives Chromium).
interop-deps:
	@cd tests/interop && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
		|| npm ci --silent --no-audit --no-fund; }

# Each stage runs even when an earlier one failed, so one run shows every failure;
# the exit status is non-zero when any failed.
test: deps interop-deps
	@status=0; \
	echo "== normal build (Release)"; \
	$(MAKE) --no-print-directory build && \
	  (cd $(BUILD) && ctest --output-on-failure -j$(JOBS)) || status=1; \
	echo "== AddressSanitizer + UBSan build"; \
	$(MAKE) --no-print-directory build-asan && \
	  (cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	   ctest --output-on-failure -j$(JOBS) -LE lint) || status=1; \
	echo "== libFuzzer build (clang): corpus replay and $(FUZZ_SECONDS)s of fuzzing per target"; \
	$(MAKE) --no-print-directory build-fuzz && \
	  (cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz) || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED"; else echo "make test: all passed"; fi; \
	exit $$status

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
