// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* go_struct_offsets.c - struct offsets of crypto/tls, net and internal/poll
 * by Go version. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/go_struct_offsets.h"

struct offsets_row {
	uint16_t first_minor, last_minor; /* Go 1.first_minor ... 1.last_minor */
	struct go_struct_offsets offsets;
};

/* One row per layout. Read in Go 1.19.8's sources (Debian's golang-1.19-src,
 * which the tests build with); releases 1.17 to 1.24 add no field before
 * these. A newer release is added here once its sources are read, not
 * assumed. */
static const struct offsets_row rows[] = {
    {17, 24, {.tls_conn_data = 8, .tcp_conn_netfd = 0, .netfd_sysfd = 16}},
};

static int parse_number(const char **s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	v = strtoul(*s, &end, 10);
	if (v > UINT16_MAX)
		return -EINVAL;
	*out = (uint16_t)v;
	*s = end;
	return 0;
}

int go_version_parse(const char *text, struct go_version *v)
{
	const char *s = text;
	struct go_version r = {0};

	if (!s || strncmp(s, "go", 2) != 0)
		return -EINVAL;
	s += 2;
	if (parse_number(&s, &r.major) || *s != '.')
		return -EINVAL;
	s++;
	if (parse_number(&s, &r.minor))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (parse_number(&s, &r.patch))
			return -EINVAL;
	}
	/* What may follow: a pre-release ("rc2", "beta1"), experiments after
	 * a space, or nothing. */
	if (*s != '\0' && *s != ' ' && strncmp(s, "rc", 2) != 0 && strncmp(s, "beta", 4) != 0)
		return -EINVAL;
	*v = r;
	return 0;
}

const struct go_struct_offsets *go_struct_offsets_for(struct go_version v)
{
	if (v.major != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (v.minor >= rows[i].first_minor && v.minor <= rows[i].last_minor)
			return &rows[i].offsets;
	return NULL;
}

bool go_version_has_register_abi(struct go_version v)
{
	return v.major > 1 || (v.major == 1 && v.minor >= 17);
}
