/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * secret_redact.h - what may hold a secret in text kspan exports, replaced by
 * "REDACTED" the way the OpenTelemetry semantic conventions do it for URLs
 * (url.full: "username and password SHOULD be redacted", url.query: values
 * replaced by REDACTED).
 *
 * Redaction is by shape, so it is best effort: it catches URLs' credentials
 * and query values, flags and NAME=value pairs whose name says secret
 * (password, token, key, auth...), and "Authorization: ..." header arguments.
 * Every function writes into out (always NUL-terminated, cut at out_size)
 * only text it decided to keep plus "REDACTED": a cut never exposes more.
 */
#ifndef KSPAN_SECRET_REDACT_H
#define KSPAN_SECRET_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define REDACTED_TEXT "REDACTED"

/*
 * A query string (without '?') with every value replaced: "a=1&b" becomes
 * "a=REDACTED&REDACTED". A parameter without '=' is redacted whole: it may be
 * a bare token ("?s3cr3t"), and keeping its text would keep the secret.
 * Empty parameters ("a=1&&b=2") stay empty. Returns the length written.
 */
size_t redact_url_query(const char *query, size_t len, char *out, size_t out_size);

/* The name of a flag or NAME=value pair says it holds a secret: it contains
 * "pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie",
 * "session", "signature" or "private" (any case). */
bool redact_name_is_secret(const char *name, size_t len);

/*
 * State across the arguments of one command line: whether the previous
 * argument was a flag whose value is the next argument.
 */
enum redact_next {
	REDACT_NEXT_KEEP = 0,
	REDACT_NEXT_SECRET,    /* "--password s3cr3t", "-p s3cr3t" */
	REDACT_NEXT_USER_PASS, /* "-u user:s3cr3t", "--user user:s3cr3t" */
};

/*
 * One command-line argument, redacted: the value of a secret flag (the next
 * argument, or after '=': "--token=REDACTED"; "-pREDACTED"), the password of
 * "-u/--user user:pass", NAME=value with a secret NAME, a secret header's
 * value ("Authorization: REDACTED"), and in any URL inside the argument its
 * user information ("REDACTED:REDACTED@") and query values. *next carries the
 * flag state from one argument to the next (start with REDACT_NEXT_KEEP).
 * Returns the length written.
 */
size_t redact_command_arg(const char *arg, enum redact_next *next, char *out, size_t out_size);

#endif /* KSPAN_SECRET_REDACT_H */
