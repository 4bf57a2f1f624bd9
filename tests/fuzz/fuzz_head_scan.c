// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_head_scan.c - libFuzzer target comparing the word-at-a-time head
 * scan (include/http1_head_scan.h) and traceparent decoder with the
 * byte-at-a-time code they replaced (tests/unit/support/http1_head_oracle.h)
 * on random input: every decision the BPF programs take from a request head
 * must come out the same. The sanitizers catch any read past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/http1_head_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *what;
	struct w3c_trace_context a = {0}, b = {0};
	int ra, rb;

	if (size > 2 * KSPAN_CTX_SCAN_MAX)
		return 0;
	what = head_scan_differs_from_oracle(data, (__u32)size);
	if (what) {
		fprintf(stderr, "head scan and oracle differ: %s\n", what);
		abort();
	}
	/* The input as a traceparent value itself. */
	ra = oracle_traceparent_parse(data, 0, (__u32)size, &a);
	rb = w3c_traceparent_parse(data, 0, (__u32)size, &b);
	if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof(a)) != 0)) {
		fprintf(stderr, "traceparent decoders differ\n");
		abort();
	}
	return 0;
}
