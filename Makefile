# Thin entry points; the build itself is CMake (CMakePresets.json).
SHELL := /bin/bash
JOBS ?= $(shell nproc)

# Exactly the Debian packages the build, the tests, the demo and the benchmarks need.
DEB_PACKAGES := cmake g++ make pkg-config git ca-certificates \
  libsodium-dev libsqlite3-dev sqlite3 libpq-dev postgresql \
  nlohmann-json3-dev liboath-dev libhyperscan-dev libutf8proc-dev libtomlplusplus-dev \
  libcli11-dev libspdlog-dev libboost-dev libssl-dev openssl libjemalloc-dev \
  libgtest-dev libgmock-dev libbenchmark-dev wrk curl jq bc python3 gdb \
  golang-go golang-github-google-certificate-transparency-dev

.PHONY: all deps build build-asan test demo bench eval-notes clean format

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)

test: build-asan
	cd build-asan && ctest -j $(JOBS) --output-on-failure --timeout 900

demo: build
	./build/medvault demo --data demo-vault --listen 127.0.0.1:8443

bench: build
	bench/run.sh

eval-notes: build
	./build/medvault notes eval ../shared/notes-devset.jsonl

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan build-tsan
