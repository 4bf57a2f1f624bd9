/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* http2_test_frames.h - writing HTTP/2 frames (RFC 9113 section 4.1) for
 * unit tests. */
#ifndef KSPAN_TEST_HTTP2_FRAMES_H
#define KSPAN_TEST_HTTP2_FRAMES_H

#include <stdint.h>
#include <string.h>

/* Appends a frame header and payload to buf at *n (payload NULL: len
 * bytes of 'd'). */
static inline void put_frame(uint8_t *buf, size_t *n, uint32_t len, uint8_t type, uint8_t flags,
			     uint32_t stream, const uint8_t *payload)
{
	uint8_t *p = buf + *n;

	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = (uint8_t)(stream >> 24);
	p[6] = (uint8_t)(stream >> 16);
	p[7] = (uint8_t)(stream >> 8);
	p[8] = (uint8_t)stream;
	if (payload)
		memcpy(p + 9, payload, len);
	else
		memset(p + 9, 'd', len);
	*n += 9 + len;
}

#endif /* KSPAN_TEST_HTTP2_FRAMES_H */
