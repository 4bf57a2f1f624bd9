/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_frame.h - the HTTP/2 framing constants (RFC 9113 sections 3.4, 4.1,
 * 6 and 6.5.2), one spelling for the BPF programs and the agent. Macros
 * only: no types, no libc, usable from either side.
 */
#ifndef HTTP2_FRAME_H
#define HTTP2_FRAME_H

/* The client connection preface (section 3.4). */
#define HTTP2_PREFACE	  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24

/* Frame header (section 4.1): length (24 bits), type, flags, then a
 * reserved bit and the stream id (31 bits), big-endian. */
#define HTTP2_FRAME_HEADER_LEN 9
#define HTTP2_STREAM_ID_MASK   0x7fffffffu

/* Frame types (section 6). */
#define HTTP2_FRAME_DATA	  0x0
#define HTTP2_FRAME_HEADERS	  0x1
#define HTTP2_FRAME_PRIORITY	  0x2
#define HTTP2_FRAME_RST_STREAM	  0x3
#define HTTP2_FRAME_SETTINGS	  0x4
#define HTTP2_FRAME_PUSH_PROMISE  0x5
#define HTTP2_FRAME_PING	  0x6
#define HTTP2_FRAME_GOAWAY	  0x7
#define HTTP2_FRAME_WINDOW_UPDATE 0x8
#define HTTP2_FRAME_CONTINUATION  0x9

/* Frame flags (section 6); END_STREAM and ACK share a bit, on different
 * frame types. */
#define HTTP2_FLAG_END_STREAM  0x01
#define HTTP2_FLAG_ACK	       0x01
#define HTTP2_FLAG_END_HEADERS 0x04
#define HTTP2_FLAG_PADDED      0x08
#define HTTP2_FLAG_PRIORITY    0x20

/* SETTINGS_MAX_FRAME_SIZE's initial value (section 6.5.2), which no peer can
 * lower: a frame payload of this size is acceptable to every peer. */
#define HTTP2_MAX_FRAME_SIZE_DEFAULT 16384

#endif /* HTTP2_FRAME_H */
