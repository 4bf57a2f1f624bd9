# tests/fuzz/fuzz.mk - libFuzzer targets for the byte-level parsers.
#
#   make -s -f tests/fuzz/fuzz.mk run    build every fuzzer, run each for a bounded time
#   make -s -f tests/fuzz/fuzz.mk build  only build them (into build/fuzz/)
#
# Run from the repository root. Each fuzzer is linked from the sources it
# exercises and nothing else, with clang's fuzzer, address and undefined
# behaviour sanitizers (libclang-rt-14-dev). Seeds live in
# tests/fuzz/corpus/<name>/ and are only read; inputs found while fuzzing go
# to build/fuzz/corpus/<name>/. A crash or sanitizer report fails the run and
# leaves the input in build/fuzz/<name>-crash-*; the log is build/fuzz/<name>.log.
#
# FUZZ_TIME (seconds) and FUZZ_RUNS (executions) bound each fuzzer; the first
# reached ends it. Quiet unless V=1.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := run

FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_TIME ?= 20
FUZZ_RUNS ?= 20000000
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Iuser -Itests/unit
FUZZ_FLAGS := -max_total_time=$(FUZZ_TIME) -runs=$(FUZZ_RUNS) -timeout=10 -print_final_stats=1

ifeq ($(V),1)
Q :=
else
Q := @
endif

FUZZERS := http1_stream http1_in_place traceparent head_scan http2 otlp_encoder otlp_span_writer

# Per fuzzer: sources, and libFuzzer options. The parser fuzzer can repeat a
# piece to pass HTTP1_MAX_HEAD_BYTES, so it does not need longer inputs.
http1_stream_SRCS := tests/fuzz/fuzz_http1_stream.c user/protocol/http1_stream.c \
	user/protocol/http1_head.c user/protocol/http1_body.c
http1_stream_ARGS := -max_len=4096
# Heads parsed in place against heads collected byte-wise: one piece against two.
http1_in_place_SRCS := tests/fuzz/fuzz_http1_in_place.c user/protocol/http1_stream.c \
	user/protocol/http1_head.c user/protocol/http1_body.c
http1_in_place_ARGS := -max_len=2048
traceparent_SRCS := tests/fuzz/fuzz_traceparent.c user/protocol/http1_head.c
traceparent_ARGS := -max_len=2048
traceparent_LIBS := -lnghttp2
# The head scan against the byte-at-a-time searches it replaced.
head_scan_SRCS := tests/fuzz/fuzz_head_scan.c
head_scan_ARGS := -max_len=2048
# The HTTP/2 path from DATA events to spans: frames, HPACK, streams.
http2_SRCS := tests/fuzz/fuzz_http2.c user/assembly/http2_assembler.c user/assembly/http2_header_blocks.c \
	user/assembly/http2_streams.c user/assembly/http2_stream_join.c user/assembly/http2_stream_contexts.c \
	user/assembly/http_span.c user/assembly/trace_context_choice.c user/assembly/conn_registry.c \
	user/protocol/http2_frame_parser.c user/protocol/hpack_decoder.c \
	user/assembly/grpc_semconv.c user/lib/net_address.c user/assembly/http_naming.c \
	user/model/span.c user/lib/utf8.c user/lib/u64_map.c user/ingest/process_table.c user/lib/secret_redact.c user/pipeline/pipeline.c \
	user/config/sampler.c user/lib/clock.c user/lib/log.c user/metrics/span_metrics.c \
	user/metrics/metric_store.c user/metrics/histogram.c user/loader/elf_image.c \
	user/model/process_runtime.c
http2_ARGS := -max_len=8192
http2_LIBS := -lnghttp2 -lelf
# Both OTLP encoders, decoded back by protobuf-c and json-c. Needs the
# generated protobuf-c sources (the main Makefile's fuzz-tests target makes them).
otlp_encoder_SRCS := tests/fuzz/fuzz_otlp_encoder.c user/export/otlp/otlp_encoder.c user/export/otlp/otlp_json.c \
	user/export/otlp/otlp_proto_common.c \
	user/model/span.c user/lib/utf8.c $(shell find build/gen/opentelemetry -name '*.pb-c.c' 2>/dev/null)
otlp_encoder_ARGS := -max_len=16384
otlp_encoder_LIBS := -Ibuild/gen -lprotobuf-c -ljson-c -lcrypto -lm

# The hand-written OTLP writer against protobuf-c: same fields, same bytes.
otlp_span_writer_SRCS := tests/fuzz/fuzz_otlp_span_writer.c user/export/otlp/otlp_span_writer.c \
	user/export/otlp/otlp_encoder.c user/export/otlp/otlp_json.c user/export/otlp/otlp_proto_common.c \
	user/model/span.c user/lib/utf8.c $(shell find build/gen/opentelemetry -name '*.pb-c.c' 2>/dev/null)
otlp_span_writer_ARGS := -max_len=8192
otlp_span_writer_LIBS := $(otlp_encoder_LIBS)

# Every header they may include; a header edit rebuilds them.
FUZZ_HEADERS := $(wildcard include/*.h) $(shell find user -name '*.h')

FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZERS))

.PHONY: run build

build: $(FUZZ_BINS)

$(FUZZ_DIR):
	$(Q)mkdir -p $@

$(FUZZ_DIR)/fuzz_http1_stream: $(http1_stream_SRCS)
$(FUZZ_DIR)/fuzz_http1_in_place: $(http1_in_place_SRCS)
$(FUZZ_DIR)/fuzz_traceparent: $(traceparent_SRCS)
$(FUZZ_DIR)/fuzz_head_scan: $(head_scan_SRCS) $(wildcard tests/unit/support/*.h)
$(FUZZ_DIR)/fuzz_http2: $(http2_SRCS)
$(FUZZ_DIR)/fuzz_otlp_encoder: $(otlp_encoder_SRCS)
$(FUZZ_DIR)/fuzz_otlp_span_writer: $(otlp_span_writer_SRCS)

$(FUZZ_BINS): $(FUZZ_HEADERS) tests/fuzz/fuzz.mk | $(FUZZ_DIR)
	@printf '  %-8s %s\n' FUZZ-CC $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $($(patsubst fuzz_%,%,$(notdir $@))_LIBS)

# $(call run_fuzzer,name): shell text that runs one fuzzer and counts the
# result in $$pass or $$fail.
define run_fuzzer
	log=$(FUZZ_DIR)/$(1).log; \
	mkdir -p $(FUZZ_DIR)/corpus/$(1); \
	if $(FUZZ_DIR)/fuzz_$(1) $(FUZZ_FLAGS) $($(1)_ARGS) -artifact_prefix=$(FUZZ_DIR)/$(1)- \
		$(FUZZ_DIR)/corpus/$(1) tests/fuzz/corpus/$(1) >$$log 2>&1; then \
		pass=$$((pass + 1)); \
		printf '  %-8s %-14s ok: %s execs in %s s, %s, corpus %s inputs\n' FUZZ $(1) \
			"$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log)" \
			"$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$log)" \
			"$$(grep -o 'cov: [0-9]*' $$log | tail -n 1)" \
			"$$(find $(FUZZ_DIR)/corpus/$(1) tests/fuzz/corpus/$(1) -type f | wc -l)"; \
	else \
		fail=$$((fail + 1)); \
		printf '  %-8s %-14s FAILED (%s):\n' FUZZ $(1) $$log; \
		tail -n 40 $$log; \
	fi;
endef

run: build
	@pass=0; fail=0; \
	$(foreach f,$(FUZZERS),$(call run_fuzzer,$(f))) \
	echo "fuzz: $$pass passed, $$fail failed"; \
	test $$fail -eq 0
