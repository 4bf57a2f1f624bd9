# kspan - kernel-observed OpenTelemetry spans.
#
#   make run    install missing packages, build, start the agent (console exporter)
#   make test   install missing packages, build, run every test
#
# Quiet unless V=1. Header edits rebuild what includes them (-MMD -MP).

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD := build
OBJ := $(BUILD)/obj
GEN := $(BUILD)/gen

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PROTOC_C ?= protoc-c

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Debian packages: to build and run, and in addition to test.
BUILD_PACKAGES := clang llvm make gcc pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
	libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev libnghttp2-dev libssl-dev \
	libjson-c-dev libdeflate-dev libcapstone-dev
TEST_PACKAGES := libcmocka-dev curl nginx-light haproxy python3 python3-protobuf protobuf-compiler nodejs \
	iproute2 procps libclang-rt-14-dev valgrind nghttp2-client nghttp2-server h2o python3-grpcio \
	openssl python3-prometheus-client python3-aiohttp wget golang-go golang-google-grpc-dev \
	podman runc debootstrap
# npm packages for the gRPC tests, installed under build/ (never committed).
NPM_DIR := $(BUILD)/npm
GRPC_JS := $(NPM_DIR)/node_modules/@grpc/grpc-js/package.json
GRPC_JS_VERSION := 1.14.7
# linux-perf: `perf record -g build/bench/replay FILE` profiles the agent's
# userspace alone (tests/bench/replay.c).
BENCH_PACKAGES := nginx-light wrk hey curl python3 python3-protobuf procps python3-grpcio nodejs \
	util-linux openssl linux-perf
# The vm suite and bench-vm boot a second kernel (tests/vm/boot_guest.sh);
# openssl makes the guest TLS server's certificate (libssl.a: libssl-dev, above).
VM_PACKAGES := qemu-system-x86 busybox-static cpio openssl
TEST_PACKAGES += $(VM_PACKAGES)
BENCH_PACKAGES += $(VM_PACKAGES)

WARN := -Wall -Wextra -Werror
USER_CFLAGS := -O2 -g -std=gnu11 $(WARN) -Wno-missing-field-initializers -D_GNU_SOURCE \
	-Iinclude -Iuser -I$(BUILD) -I$(GEN) $(EXTRA_CFLAGS)
TEST_CFLAGS := $(USER_CFLAGS) -Itests/unit
USER_LDLIBS := -lbpf -lelf -lz -ldeflate -lprotobuf-c -lcurl -lnghttp2 -lssl -lcrypto -ljson-c -lcapstone -lm -lpthread

# BPF_EXTRA_CFLAGS: defines of benchmark builds only (tests/bench/bench_bpf_stages.sh).
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__BPF__ $(WARN) \
	-Wno-unused-function -Ibpf -Iinclude -Ivmlinux/$(ARCH) $(BPF_EXTRA_CFLAGS)

# OTLP protocol files, written from the OpenTelemetry protocol specification.
PROTO_DIR := user/export/otlp/proto
PROTOS := $(shell find $(PROTO_DIR) -name '*.proto' 2>/dev/null | sort)
PROTO_C := $(patsubst $(PROTO_DIR)/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)
PROTO_OBJ := $(patsubst $(GEN)/%.c,$(OBJ)/gen/%.o,$(PROTO_C))

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# user/ is one folder per stage (user/README.md); every .c under it is part of the agent.
USER_SRCS := $(sort $(shell find user -name '*.c'))
USER_OBJS := $(patsubst user/%.c,$(OBJ)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OBJ)/user/main.o,$(USER_OBJS)) $(PROTO_OBJ)

# build/kspan-static: the agent linked statically, for machines without its
# shared libraries (the VM test's guest). libcurl cannot be linked statically
# from Debian's packages (its static dependencies include Kerberos), so this
# variant leaves out the OTLP exporter's folder: console output only.
STATIC_SRCS := $(filter-out user/export/otlp/%,$(USER_SRCS))
STATIC_OBJS := $(patsubst user/%.c,$(OBJ)/static/%.o,$(STATIC_SRCS))
STATIC_LDLIBS := -static -lbpf -lelf -lz -lcapstone -lnghttp2 -lpthread

# tests/unit mirrors user/; each test_*.c is one binary in build/tests/.
UNIT_SRCS := $(sort $(shell find tests/unit -name 'test_*.c'))
UNIT_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(UNIT_SRCS)))
# The ring buffer reader's oracle test (an integration test: it loads BPF).
RING_ORACLE := $(BUILD)/tests/ring_oracle $(BUILD)/tests/ring_writer.bpf.o

.PHONY: layout-tests all generated deps test-deps bench-deps otel-node-deps npm-dep run test unit-tests integration-tests fuzz-tests vm-tests bench bench-more bench-lines bench-vm \
	clean format format-check bpf-check

all: $(BUILD)/kspan

# --- dependencies -----------------------------------------------------------
# Installs only what is missing; quiet when everything is there.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || \
			missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  APT      installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "kspan: run as root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))
	$(Q)$(MAKE) --no-print-directory $(GRPC_JS)

$(GRPC_JS):
	$(call msg,NPM,@grpc/grpc-js@$(GRPC_JS_VERSION) into $(NPM_DIR))
	$(Q)command -v npm >/dev/null || $(MAKE) --no-print-directory npm-dep
	$(Q)npm install --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error \
		@grpc/grpc-js@$(GRPC_JS_VERSION) >/dev/null

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))
	$(Q)$(MAKE) --no-print-directory $(OTEL_NODE_BENCH)/.installed

# --- BPF ----------------------------------------------------------------------
$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every bpf/ header compiles on its own, names the folder of the bpf/ headers
# it includes, and is in no include cycle (bpf/README.md). Run by `make test`
# (the layout suite, which also checks the levels).
bpf-check:
	$(call msg,CHECK,bpf/ headers)
	$(Q)CLANG='$(CLANG)' BPF_CFLAGS='$(BPF_CFLAGS)' tests/layout/check_bpf_headers.sh

# --- protobuf -------------------------------------------------------------------
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: $(PROTO_DIR)/%.proto
	$(call msg,PROTOC-C,$<)
	$(Q)mkdir -p $(GEN)
	$(Q)$(PROTOC_C) --proto_path=$(PROTO_DIR) --c_out=$(GEN) $<

$(OBJ)/gen/%.o: $(GEN)/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -g -I$(GEN) -MMD -MP -c $< -o $@

# --- agent ----------------------------------------------------------------------
# Named here, the generated files are ordinary targets, not intermediates that
# make would delete after a build (they are order-only prerequisites below).
generated: $(SKELS) $(PROTO_H) $(PROTO_C)

# The skeleton and the generated protobuf headers must exist before any
# object compiles (order-only); which object needs them again after an edit
# is what its -MMD dependency file says, so a BPF edit rebuilds only the loader.
$(OBJ)/user/%.o: user/%.c | $(SKELS) $(PROTO_H)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# A recording (--record-events) names the layout of its records: a checksum of
# the ABI header, so that the replay benchmark refuses another build's file.
KSPAN_ABI_ID := $(shell cksum < include/kspan_abi.h | cut -d' ' -f1)
# (The object does not include the header: name it, so an ABI edit rebuilds it.)
$(OBJ)/user/ingest/event_recording.o $(OBJ)/static/ingest/event_recording.o: \
	USER_CFLAGS += -DKSPAN_ABI_ID=$(KSPAN_ABI_ID)u
$(OBJ)/user/ingest/event_recording.o $(OBJ)/static/ingest/event_recording.o: include/kspan_abi.h

$(BUILD)/kspan: $(USER_OBJS) $(PROTO_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $^ $(USER_LDLIBS)

$(OBJ)/static/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -DKSPAN_NO_OTLP -MMD -MP -c $< -o $@

$(BUILD)/kspan-static: $(STATIC_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $^ $(STATIC_LDLIBS)

$(BUILD) $(BUILD)/tests:
	$(Q)mkdir -p $@

# --- tests ----------------------------------------------------------------------
define unit_test_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $(LIB_OBJS) | $(BUILD)/tests
	$$(call msg,CC-TEST,$$@)
	$(Q)$$(CC) $$(TEST_CFLAGS) -MMD -MP -o $$@ $$< $$(LIB_OBJS) $$(USER_LDLIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_test_rule,$(t))))

# The tree's own rules: include levels, formatting, BPF headers that compile alone.
layout-tests:
	$(Q)tests/layout/run.sh

# The Go program of the crypto/tls tests (tests/go/tls_app), built by Debian's
# golang-go (test-deps), with its symbol table and stripped (-s -w): the unit
# tests read both, the integration tests run both. GOPATH mode, no module
# download: tls_app uses the standard library only.
GO_TLS_APPS := $(BUILD)/go/tls_app $(BUILD)/go/tls_app_stripped $(BUILD)/go/grpc_app_stripped \
	$(BUILD)/go/chain_app $(BUILD)/go/chain_app_stripped
GO_ENV := GOCACHE=$(abspath $(BUILD))/go/cache GOPATH=$(abspath $(BUILD))/go/path GO111MODULE=off \
	GOFLAGS= CGO_ENABLED=0
$(BUILD)/go/tls_app: tests/go/tls_app/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GO_ENV) go build -o $@ ./tests/go/tls_app
$(BUILD)/go/tls_app_stripped: tests/go/tls_app/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GO_ENV) go build -ldflags='-s -w' -o $@ ./tests/go/tls_app
# The Go middle hop of the connected-trace tests (tests/go/chain_app):
# standard library only, with symbols and stripped.
$(BUILD)/go/chain_app: tests/go/chain_app/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GO_ENV) go build -o $@ ./tests/go/chain_app
$(BUILD)/go/chain_app_stripped: tests/go/chain_app/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GO_ENV) go build -ldflags='-s -w' -o $@ ./tests/go/chain_app
# grpc-go over TLS (tests/go/grpc_app), stripped: GOPATH mode against Debian's
# golang-google-grpc-dev sources in /usr/share/gocode (test-deps), offline.
$(BUILD)/go/grpc_app_stripped: tests/go/grpc_app/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GO_ENV) GOPATH=$(abspath $(BUILD))/go/path:/usr/share/gocode go build -ldflags='-s -w' \
		-o $@ ./tests/go/grpc_app

unit-tests: $(UNIT_BINS) $(GO_TLS_APPS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)


# npm packages for the OpenTelemetry interoperability tests, pinned, in a
# cache under build/ (never committed): the real JS SDK on the other end.
OTEL_NODE := $(BUILD)/otel-node
OTEL_NODE_PACKAGES := @opentelemetry/api@1.9.0 @opentelemetry/sdk-trace-node@1.30.1 \
	@opentelemetry/sdk-trace-base@1.30.1 @opentelemetry/instrumentation@0.57.2 \
	@opentelemetry/instrumentation-http@0.57.2

$(OTEL_NODE)/.installed:
	$(Q)command -v npm >/dev/null || $(MAKE) --no-print-directory npm-dep
	$(call msg,NPM,$(OTEL_NODE))
	$(Q)mkdir -p $(OTEL_NODE)
	$(Q)npm install --prefix $(OTEL_NODE) --no-audit --no-fund --silent $(OTEL_NODE_PACKAGES)
	$(Q)touch $@

otel-node-deps: $(OTEL_NODE)/.installed

# The same SDK with its OTLP/protobuf exporter, for `make bench` (target 5: the
# SDK in-process against kspan on one node server), in a cache of its own.
OTEL_NODE_BENCH := $(BUILD)/otel-node-bench
OTEL_NODE_BENCH_PACKAGES := $(OTEL_NODE_PACKAGES) @opentelemetry/exporter-trace-otlp-proto@0.57.2

$(OTEL_NODE_BENCH)/.installed:
	$(Q)command -v npm >/dev/null || $(MAKE) --no-print-directory npm-dep
	$(call msg,NPM,$(OTEL_NODE_BENCH))
	$(Q)mkdir -p $(OTEL_NODE_BENCH)
	$(Q)npm install --prefix $(OTEL_NODE_BENCH) --no-audit --no-fund --silent \
		$(OTEL_NODE_BENCH_PACKAGES)
	$(Q)touch $@

# Debian's nodejs needs the separate npm package; NodeSource's nodejs brings
# npm itself and conflicts with Debian's.
npm-dep:
	$(call install_missing,npm)

# Every command that starts kspan holds the machine's lock (one kspan per machine).
LOCKED := tests/with_machine_lock.sh

# The container TLS test's root filesystem (debootstrap, from the mirror apt
# uses; about a minute once, then cached: offline after the first build).
TLS_ROOTFS := $(BUILD)/rootfs/python3-ssl
# No prerequisite: an edit of the script does not rebuild it (`rm -rf
# $(TLS_ROOTFS)` does). A failed build does not stop the other suites: the
# container test tries again and fails with debootstrap's log.
$(TLS_ROOTFS)/.complete:
	$(call msg,ROOTFS,$(TLS_ROOTFS))
	-$(Q)tests/integration/rootfs/build_rootfs.sh $(TLS_ROOTFS)

integration-tests: $(BUILD)/kspan $(BUILD)/bench/replay $(RING_ORACLE) otel-node-deps $(GRPC_JS) \
		$(GO_TLS_APPS) $(TLS_ROOTFS)/.complete
	$(Q)$(LOCKED) /usr/bin/python3 tests/integration/run.py

# kspan's ring buffer reader (user/ingest/ring_consumer.c) against libbpf's,
# its oracle, on a real ring that a small BPF program fills
# (tests/integration/test_ring_consumer.py; RING_ORACLE is defined above).
$(BUILD)/tests/ring_writer.bpf.o: tests/integration/ring/ring_writer.bpf.c | $(BUILD)
	$(call msg,BPF-TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/ring_oracle: tests/integration/ring/ring_oracle.c $(OBJ)/user/ingest/ring_consumer.o
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(OBJ)/user/ingest/ring_consumer.o -lbpf -lelf -lz

# kspan's probe backends on Debian's 6.1 and 6.12 (bookworm-backports)
# kernels under QEMU (TCG); each kernel is fetched once into /var/cache/kspan-vm.
vm-tests: $(BUILD)/kspan-static
	$(Q)tests/vm/run.sh

fuzz-tests: $(PROTO_C) $(PROTO_H)
	$(Q)$(MAKE) -s -f tests/fuzz/fuzz.mk run

$(BUILD)/bench/otlp_export_bench: tests/bench/otlp_export_bench.c $(LIB_OBJS)
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LDLIBS)

$(BUILD)/bench/span_path_bench: tests/bench/span_path_bench.c $(LIB_OBJS)
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LDLIBS)

# The userspace pipeline alone, fed a recording (--record-events): replay.c.
$(BUILD)/bench/replay: tests/bench/replay.c $(LIB_OBJS)
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LDLIBS)

# The floor of the syscall-tracepoint backend: two empty raw tracepoint
# programs (tests/bench/empty_hooks.bpf.c), bench_nginx.sh's "floor" run.
$(BUILD)/bench/empty_hooks.bpf.o: tests/bench/empty_hooks.bpf.c | $(BUILD)
	$(call msg,BPF-BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/empty_hooks: tests/bench/empty_hooks.c $(BUILD)/bench/empty_hooks.bpf.o
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< -lbpf -lelf -lz

# Where the BPF time goes, source line by source line (tests/bench/bench_bpf_lines.sh).
$(BUILD)/bench/bpf_jit_lines: tests/bench/bpf_jit_lines.c
	$(call msg,CC-BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< -lbpf -lelf -lz

bench-lines: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/bpf_jit_lines
	$(Q)$(LOCKED) tests/bench/bench_bpf_lines.sh

# Issue 13's targets 1-6 in one run (~10 min), each beside its baseline
# without kspan, and one summary table (tests/bench/bench_targets.sh).
# KSPAN=<binary> measures another build; KSPAN_BASELINE=<binary> adds a
# column for a second one, side by side in the same run. Not part of `make test`.
bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/replay $(BUILD)/kspan-static $(BUILD)/bench/empty_hooks
	$(Q)tests/bench/bench_targets.sh

# The other benchmarks: OTLP encoder and exporter alone, the backends this
# kernel allows side by side under nginx, syscall cost, propagation, gRPC.
bench-more: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/otlp_export_bench $(BUILD)/bench/span_path_bench
	$(Q)tests/bench/bench_otlp_export.sh
	$(Q)$(LOCKED) tests/bench/bench_backends.sh
	$(Q)$(LOCKED) tests/bench/bench_syscalls.sh
	$(Q)$(LOCKED) tests/bench/bench_propagation.sh
	$(Q)$(LOCKED) tests/bench/bench_sampling.sh
	$(Q)$(LOCKED) tests/bench/bench_grpc.sh

# Per-backend probe cost, measured in the VM test's guest (ratios only).
bench-vm: $(BUILD)/kspan-static
	$(Q)tests/bench/bench_vm.sh

# `make test` runs every suite even if one fails, then reports one summary.
test: test-deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(BUILD)/bench/replay $(RING_ORACLE) $(GO_TLS_APPS) \
		otel-node-deps $(TLS_ROOTFS)/.complete
	$(Q)tests/run-all.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/kspan $(ARGS)

# Every C file of the tree, formatted by .clang-format (vmlinux.h and generated code excluded).
FORMAT_FILES = $(sort $(shell find bpf include user tests/unit tests/fuzz tests/bench tests/vm \
	-name '*.[ch]' -not -path '*/proto/*'))

format:
	$(Q)clang-format -i $(FORMAT_FILES)

# Fails, naming the files, when any file differs from what `make format` would write.
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/rootfs -prune -o -name '*.d' -type f -print 2>/dev/null)
