// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hpack_decoder.c - header blocks through nghttp2's HPACK inflater. */
#include <errno.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "protocol/hpack_decoder.h"

/* Entries of the static table (RFC 7541 Appendix A). */
#define HPACK_STATIC_ENTRIES 61

int hpack_decoder_init(struct hpack_decoder *d)
{
	memset(d, 0, sizeof(*d));
	return nghttp2_hd_inflate_new(&d->inflater) ? -ENOMEM : 0;
}

void hpack_decoder_free(struct hpack_decoder *d)
{
	if (d->inflater)
		nghttp2_hd_inflate_del(d->inflater);
	d->inflater = NULL;
}

int hpack_decoder_set_max_table_size(struct hpack_decoder *d, size_t size)
{
	if (d->broken || !d->inflater)
		return -EPROTO;
	if (size > HPACK_TABLE_MAX)
		size = HPACK_TABLE_MAX;
	if (nghttp2_hd_inflate_change_table_size(d->inflater, size)) {
		d->broken = true;
		return -EPROTO;
	}
	return 0;
}

/* The loop nghttp2.h documents for nghttp2_hd_inflate_hd2(). */
static int inflate_block(nghttp2_hd_inflater *inf, const uint8_t *in, size_t len, hpack_field_fn fn,
			 void *ctx)
{
	static const uint8_t empty[1];

	if (!len)
		in = empty; /* an empty block (valid) may come without a buffer */
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, len, 1);

		if (rv < 0)
			return rv == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
		in += rv;
		len -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			fn(ctx, nv.name, nv.namelen, nv.value, nv.valuelen);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(inf);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && len == 0)
			return -EPROTO; /* the block ended inside a field */
	}
}

int hpack_decoder_decode(struct hpack_decoder *d, const uint8_t *block, size_t len,
			 hpack_field_fn fn, void *ctx)
{
	int err;

	if (d->broken || !d->inflater)
		return -EPROTO;
	err = inflate_block(d->inflater, block, len, fn, ctx);
	if (err)
		d->broken = true;
	return err;
}

/* --- decoding without the dynamic table ---------------------------------- */

/* RFC 7541 section 5.1 integer with an n-bit prefix at in[*pos]. */
static int read_int(const uint8_t *in, size_t len, size_t *pos, int prefix_bits, uint32_t *out)
{
	uint32_t max = (1u << prefix_bits) - 1, v;
	int shift = 0;

	if (*pos >= len)
		return -1;
	v = in[(*pos)++] & max;
	if (v < max) {
		*out = v;
		return 0;
	}
	for (;;) {
		uint8_t b;
		if (*pos >= len || shift > 21)
			return -1; /* unterminated, or beyond any sane size */
		b = in[(*pos)++];
		v += (uint32_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	*out = v;
	return 0;
}

/* Skips a string literal (section 5.2) and its length prefix. */
static int skip_string(const uint8_t *in, size_t len, size_t *pos)
{
	uint32_t n;

	if (read_int(in, len, pos, 7, &n) || n > len - *pos)
		return -1;
	*pos += n;
	return 0;
}

/* Decodes one field re-encoded in `buf` with the scratch decoder. A failed
 * inflater refuses all later input: the scratch one is then replaced. */
static int decode_one(struct hpack_decoder *scratch, const uint8_t *buf, size_t len,
		      hpack_field_fn fn, void *ctx)
{
	if (inflate_block(scratch->inflater, buf, len, fn, ctx) == 0)
		return 0;
	hpack_decoder_free(scratch);
	hpack_decoder_init(scratch);
	return -EPROTO;
}

/* A literal (static name `index`, or 0 for a literal name, then the string
 * bytes as they were) as "without indexing": 0000 + 4-bit index, which
 * continues in further bytes from 15 on (section 5.1). */
static int reencode_literal(struct hpack_decoder *scratch, uint32_t index, const uint8_t *strings,
			    size_t strings_len, uint8_t *out, hpack_field_fn fn, void *ctx)
{
	size_t o = 0;

	if (index < 15) {
		out[o++] = (uint8_t)index;
	} else {
		uint32_t v = index - 15;
		out[o++] = 0x0f;
		while (v >= 0x80) {
			out[o++] = (uint8_t)(v | 0x80);
			v >>= 7;
		}
		out[o++] = (uint8_t)v;
	}
	memcpy(out + o, strings, strings_len);
	return decode_one(scratch, out, o + strings_len, fn, ctx);
}

/*
 * Walks the representations of section 6. Indexed fields and literal names
 * with an index into the static table are decodable; references to the
 * dynamic table (index > 61) are skipped. Literals are re-encoded as
 * "without indexing" (0x00 / 0x0N prefix, the string bytes copied as they
 * are, Huffman or not) so that the scratch table never changes.
 */
int hpack_decode_static_only(struct hpack_decoder *scratch, const uint8_t *block, size_t len,
			     hpack_field_fn fn, void *ctx)
{
	size_t pos = 0;
	int skipped = 0;

	if (!scratch->inflater)
		return -EPROTO;
	while (pos < len) {
		uint8_t b = block[pos], out[1 + 5 + 2 * 8192];
		size_t start = pos, name_start, strings;
		uint32_t index;
		int prefix;

		if (b & 0x80) { /* 6.1 indexed field */
			if (read_int(block, len, &pos, 7, &index) || index == 0)
				return -EPROTO;
			if (index > HPACK_STATIC_ENTRIES) {
				skipped++;
				continue;
			}
			if (decode_one(scratch, block + start, pos - start, fn, ctx))
				return -EPROTO;
			continue;
		}
		if ((b & 0xe0) == 0x20) { /* 6.3 dynamic table size update */
			if (read_int(block, len, &pos, 5, &index))
				return -EPROTO;
			continue;
		}
		/* 6.2.1 incremental indexing (01xxxxxx, 6-bit index), 6.2.2
		 * without indexing (0000xxxx) and 6.2.3 never indexed
		 * (0001xxxx), both 4-bit. */
		prefix = (b & 0xc0) == 0x40 ? 6 : 4;
		if (read_int(block, len, &pos, prefix, &index))
			return -EPROTO;
		name_start = pos;
		if (index == 0 && skip_string(block, len, &pos))
			return -EPROTO;
		if (skip_string(block, len, &pos))
			return -EPROTO;
		if (index > HPACK_STATIC_ENTRIES) {
			skipped++;
			continue;
		}
		strings = pos - name_start;
		if (strings + 6 > sizeof(out)) {
			skipped++;
			continue;
		}
		if (reencode_literal(scratch, index, block + name_start, strings, out, fn, ctx))
			return -EPROTO;
	}
	return skipped;
}
