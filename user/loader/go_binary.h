/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_binary.h - what the Go crypto/tls probes need from one executable file:
 * that it is a Go program, its Go version (.go.buildinfo), the file offsets
 * of crypto/tls.(*Conn).Write and Read (from .symtab, or from the pclntab
 * when the file is stripped), the offset of every RET inside Read (Go moves
 * goroutine stacks, so no uretprobe: see x86_returns.h), and the struct
 * offsets from the receiver to the socket fd (go_struct_offsets.h). The
 * entry probes go after each function's stack check (x86_decode.h).
 */
#ifndef KSPAN_GO_BINARY_H
#define KSPAN_GO_BINARY_H

#include <stdbool.h>
#include <stdint.h>

#include "loader/go_struct_offsets.h"

#define GO_TLS_MAX_RETURNS 32

#define GO_TLS_WRITE_SYMBOL "crypto/tls.(*Conn).Write"
#define GO_TLS_READ_SYMBOL  "crypto/tls.(*Conn).Read"
/* The handshakes handshakeContext runs (not on every Read and Write, as it
 * is): a program has either or both. */
#define GO_TLS_CLIENT_HANDSHAKE_SYMBOL "crypto/tls.(*Conn).clientHandshake"
#define GO_TLS_SERVER_HANDSHAKE_SYMBOL "crypto/tls.(*Conn).serverHandshake"
#define GO_TLS_MAX_HANDSHAKES	       2

/* Goroutine parenting (bpf/attach/uprobe_go_goroutines.bpf.h): every
 * goroutine start, and net/http's client hand-off from the caller's
 * goroutine to the connection's writer. */
#define GO_NEWPROC1_SYMBOL	"runtime.newproc1"
#define GO_ROUND_TRIP_SYMBOL	"net/http.(*persistConn).roundTrip"
#define GO_REQUEST_WRITE_SYMBOL "net/http.(*Request).write"

struct go_goroutine_probes {
	bool present;	  /* Go 1.18+ (newproc1's arguments), all three found and decoded */
	uint64_t newproc; /* probe offsets */
	uint64_t newproc_returns[GO_TLS_MAX_RETURNS]; /* file offsets of newproc1's RETs */
	uint32_t newproc_return_count;
	uint64_t round_trip, request_write;
};

struct go_function {
	uint64_t addr;	      /* virtual address of the first instruction */
	uint64_t size;	      /* bytes, up to the next function */
	uint64_t file_offset; /* of the first instruction */
	/* Where the entry uprobe goes: just after the stack-bound check, which
	 * re-runs the function from its start when the stack grows or the
	 * goroutine is preempted (x86_decode.h). */
	uint64_t probe_offset;
};

struct go_tls_binary {
	char version_text[48]; /* runtime.buildVersion, e.g. "go1.19.8" */
	struct go_version version;
	bool from_pclntab; /* .symtab was absent: a stripped file */
	struct go_function write, read;
	uint64_t read_returns[GO_TLS_MAX_RETURNS]; /* file offsets of Read's RETs */
	uint32_t read_return_count;
	uint64_t handshakes[GO_TLS_MAX_HANDSHAKES]; /* probe offsets of those present */
	uint32_t handshake_count;
	struct go_goroutine_probes goroutines;
	bool has_offsets; /* the version has a row in go_struct_offsets */
	struct go_struct_offsets offsets;
};

/*
 * Inspects the executable at `path` (any path: /proc/PID/root/... for a
 * container's file). 0 and *out filled (has_offsets may be false: the caller
 * counts and logs the version and does not probe); otherwise:
 *   -ENOEXEC          not a 64-bit ELF Go executable
 *   -ENOENT           a Go program without crypto/tls.(*Conn).Read/Write
 *   -EPROTONOSUPPORT  Go before 1.17 (no register ABI), not x86-64, or a
 *                     pclntab layout kspan does not read
 *   -EILSEQ, -E2BIG   the code did not decode, has no stack check where
 *                     Go puts it, or Read has too many returns
 *   other             the file could not be read
 */
int go_binary_inspect(const char *path, struct go_tls_binary *out);

/* Decodes the .go.buildinfo blob's version string (Go 1.18+: inline,
 * varint-prefixed; before: a pointer to a Go string, read through `img`
 * when not NULL). 0 or -ENOENT. Exposed for tests. */
struct elf_image;
int go_buildinfo_version(struct elf_image *img, const uint8_t *blob, uint64_t len, char *out,
			 uint64_t out_len);

#endif /* KSPAN_GO_BINARY_H */
