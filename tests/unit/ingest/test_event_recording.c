// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_event_recording.c - the --record-events file (event_recording.h):
 * records come back byte for byte, in order, 8-byte aligned; a file that is
 * not a recording, of another format version or of another ABI is refused;
 * a file cut short ends at its last whole record.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/event_recording.h"

struct fixture {
	char path[64];
	uint8_t *buf;
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/kspan-test-recording.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	free(f->buf);
	free(f);
	return 0;
}

/* Three records of awkward sizes (not multiples of 8, one empty). */
static const uint8_t rec_a[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
				  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
static const uint8_t rec_b[37] = {0xaa, [36] = 0xbb};
static const uint8_t rec_c[3] = {0x7f, 0x00, 0x7e};

static void write_three(struct fixture *f)
{
	struct event_recorder r;

	assert_int_equal(event_recorder_open(&r, f->path), 0);
	event_recorder_write(&r, rec_a, sizeof(rec_a));
	event_recorder_write(&r, rec_b, sizeof(rec_b));
	event_recorder_write(&r, NULL, 0);
	event_recorder_write(&r, rec_c, sizeof(rec_c));
	assert_int_equal(r.records, 4);
	/* header + each record's 8-byte prefix and padded size */
	assert_int_equal(r.bytes, 16 + (8 + 24) + (8 + 40) + 8 + (8 + 8));
	assert_int_equal(event_recorder_close(&r), 0);
	assert_int_equal(event_recording_load(f->path, &f->buf, &f->len), 0);
	assert_int_equal(f->len, r.bytes);
}

static void expect_record(struct event_recording *rec, const void *want, size_t want_size)
{
	const void *data;
	size_t size;

	assert_int_equal(event_recording_next(rec, &data, &size), 1);
	assert_int_equal(size, want_size);
	assert_int_equal((uintptr_t)data % 8, 0);
	if (want_size)
		assert_memory_equal(data, want, want_size);
}

static void test_records_come_back_in_order(void **state)
{
	struct fixture *f = *state;
	struct event_recording rec;
	const void *data;
	size_t size;

	write_three(f);
	assert_int_equal(event_recording_open(&rec, f->buf, f->len), 0);
	expect_record(&rec, rec_a, sizeof(rec_a));
	expect_record(&rec, rec_b, sizeof(rec_b));
	expect_record(&rec, NULL, 0);
	expect_record(&rec, rec_c, sizeof(rec_c));
	assert_int_equal(event_recording_next(&rec, &data, &size), 0);
	assert_int_equal(event_recording_next(&rec, &data, &size), 0);
}

static void test_header_only_is_empty(void **state)
{
	struct fixture *f = *state;
	struct event_recorder r;
	struct event_recording rec;
	const void *data;
	size_t size;

	assert_int_equal(event_recorder_open(&r, f->path), 0);
	assert_int_equal(event_recorder_close(&r), 0);
	assert_int_equal(event_recording_load(f->path, &f->buf, &f->len), 0);
	assert_int_equal(f->len, EVENT_RECORDING_HEADER);
	assert_int_equal(event_recording_open(&rec, f->buf, f->len), 0);
	assert_int_equal(event_recording_next(&rec, &data, &size), 0);
}

static void test_foreign_files_are_refused(void **state)
{
	struct fixture *f = *state;
	struct event_recording rec;
	uint32_t other;

	write_three(f);
	assert_int_equal(event_recording_open(&rec, f->buf, 15), -EBADMSG);
	f->buf[0] = 'k'; /* not the magic */
	assert_int_equal(event_recording_open(&rec, f->buf, f->len), -EBADMSG);
	f->buf[0] = 'K';
	other = EVENT_RECORDING_VERSION + 1;
	memcpy(f->buf + 8, &other, 4);
	assert_int_equal(event_recording_open(&rec, f->buf, f->len), -EBADMSG);
	other = EVENT_RECORDING_VERSION;
	memcpy(f->buf + 8, &other, 4);
	other = event_recording_abi_id() ^ 1;
	memcpy(f->buf + 12, &other, 4);
	assert_int_equal(event_recording_open(&rec, f->buf, f->len), -EPROTO);
}

/* kspan killed while writing: every whole record, then the end. */
static void test_cut_file_ends_at_last_whole_record(void **state)
{
	struct fixture *f = *state;
	struct event_recording rec;
	const void *data;
	size_t size;
	/* header, a (32 bytes), then b's prefix and 20 of its 37 bytes */
	size_t cuts[] = {16 + 32 + 8 + 20, 16 + 32 + 4, 16 + 32};

	write_three(f);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(event_recording_open(&rec, f->buf, cuts[i]), 0);
		expect_record(&rec, rec_a, sizeof(rec_a));
		assert_int_equal(event_recording_next(&rec, &data, &size), 0);
	}
	/* the last record's padding cut: the record is whole, and the end follows */
	assert_int_equal(event_recording_open(&rec, f->buf, f->len - 5), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(event_recording_next(&rec, &data, &size), 1);
	expect_record(&rec, rec_c, sizeof(rec_c));
	assert_int_equal(event_recording_next(&rec, &data, &size), 0);
}

static void test_unwritable_path_is_an_error(void **state)
{
	struct event_recorder r;
	(void)state;

	assert_int_equal(event_recorder_open(&r, "/nonexistent-dir/recording"), -ENOENT);
	event_recorder_write(&r, rec_a, sizeof(rec_a)); /* ignored, no crash */
	assert_int_equal(event_recorder_close(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_records_come_back_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_only_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_files_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_file_ends_at_last_whole_record, setup,
					    teardown),
	    cmocka_unit_test(test_unwritable_path_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
