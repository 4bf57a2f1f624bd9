/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_detect.h - does a buffer start a TLS record?
 *
 * A TLS record starts with its content type, the legacy record version and
 * a 16-bit length (RFC 8446 section 5.1; RFC 5246 section 6.2.1): the type
 * one of change_cipher_spec (20), alert (21), handshake (22) and
 * application data (23), the version 0x0301-0x0304 (TLS 1.3 writes 0x0303;
 * a ClientHello may say 0x0301), the length at most 2^14 plus the expansion
 * a cipher may add (2048 bytes in TLS 1.2; 256 in TLS 1.3). The kernel uses
 * it to count connections whose plaintext kspan never saw: a TLS session
 * whose library calls are not probed.
 */
#ifndef TLS_DETECT_H
#define TLS_DETECT_H

#include "kspan_bytes.h"

#define TLS_RECORD_HEADER_LEN	  5
#define TLS_CONTENT_CHANGE_CIPHER 20
#define TLS_CONTENT_APPLICATION	  23
#define TLS_RECORD_MAX_CIPHERTEXT (16384 + 2048)

/* 1 when buf[0..len) starts with a TLS record header. */
KSPAN_INLINE int tls_is_record(const __u8 *buf, __u32 len)
{
	__u32 rlen;

	if (len < TLS_RECORD_HEADER_LEN || buf[0] < TLS_CONTENT_CHANGE_CIPHER ||
	    buf[0] > TLS_CONTENT_APPLICATION || buf[1] != 3 || buf[2] < 1 || buf[2] > 4)
		return 0;
	rlen = ((__u32)buf[3] << 8) | buf[4];
	return rlen > 0 && rlen <= TLS_RECORD_MAX_CIPHERTEXT;
}

#endif /* TLS_DETECT_H */
