/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef KSPAN_VERSION
#define KSPAN_VERSION "0.1.0"
#endif
