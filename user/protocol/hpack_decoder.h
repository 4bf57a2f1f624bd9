/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hpack_decoder.h - HTTP/2 header blocks to header fields, with nghttp2's
 * HPACK inflater (RFC 7541).
 *
 * HPACK is stateful: every header block of one direction of a connection
 * updates the dynamic table the next one refers to. A decoder must be fed
 * every block of its direction, in order; after one failure (or one block
 * that was never seen) its table is unknown for good.
 *
 * When the start of a direction was not seen, hpack_decode_static_only()
 * still recovers the fields that do not depend on the dynamic table (static
 * table references and literals), and skips the others: partial, never wrong.
 */
#ifndef KSPAN_HPACK_DECODER_H
#define KSPAN_HPACK_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nghttp2_hd_inflater nghttp2_hd_inflater;

/* One decoded field; name and value are valid during the call only. */
typedef void (*hpack_field_fn)(void *ctx, const uint8_t *name, size_t name_len,
			       const uint8_t *value, size_t value_len);

struct hpack_decoder {
	nghttp2_hd_inflater *inflater;
	bool broken; /* a block failed or was missed: the table is unknown */
};

int hpack_decoder_init(struct hpack_decoder *d);
void hpack_decoder_free(struct hpack_decoder *d);

/* Decodes one complete header block (HEADERS + CONTINUATION fragments,
 * padding and priority removed). Returns 0, or -EPROTO (the decoder is then
 * broken) or -ENOMEM. Fields are reported as they are decoded: on failure
 * the caller must discard those of this block. */
int hpack_decoder_decode(struct hpack_decoder *d, const uint8_t *block, size_t len,
			 hpack_field_fn fn, void *ctx);

/* The largest dynamic table a decoder keeps, whatever the peer allows: a
 * peer may announce up to 4 GiB (RFC 9113 6.5.2), and an encoder that used
 * it would make kspan hold that much per connection. Encoders keep the
 * 4096-byte default in practice (nghttp2, Go, grpc); one that grows its
 * table past this bound sends a size update the decoder refuses, and its
 * blocks are then decoded without the dynamic table (counted). */
#define HPACK_TABLE_MAX (64 * 1024)

/* The peer's SETTINGS_HEADER_TABLE_SIZE for this direction's encoder,
 * clamped to HPACK_TABLE_MAX. */
int hpack_decoder_set_max_table_size(struct hpack_decoder *d, size_t size);

/* Decodes the fields of `block` that do not depend on any dynamic table,
 * with `scratch` (a decoder whose table stays empty: only literals "without
 * indexing" are fed to it). Returns how many fields were skipped because
 * they referred to the dynamic table, or -EPROTO for a malformed block. */
int hpack_decode_static_only(struct hpack_decoder *scratch, const uint8_t *block, size_t len,
			     hpack_field_fn fn, void *ctx);

#endif /* KSPAN_HPACK_DECODER_H */
