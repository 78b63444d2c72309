/*
 * test_badinput.c - segments that are foreign, truncated, too big, of a
 * newer format, corrupted in the header or in a descriptor, or plain
 * garbage: each is a clear error (or, for a bad descriptor, a skipped
 * metric), never a crash. Runs under ASan+UBSan.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "layout.h"
#include "ut_common.h"
#include "../xorshift.h"

/* ---------------------------------------------------------------- helpers */

static int open_rw(const char *name)
{
	char path[300];
	int fd;

	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* A valid, detached segment with counters a_total = 1 and b_total = 2. */
static uint64_t make_valid(const char *name)
{
	struct shmstat_metric_def da = { .name = "a_total" }, db = { .name = "b_total" };
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	shmstat_counter *a, *b;
	char path[300];
	struct stat st;

	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &da, &a), 0);
	assert_int_equal(shmstat_counter_register(seg, &db, &b), 0);
	shmstat_counter_add(a, 1);
	shmstat_counter_add(b, 2);
	assert_int_equal(shmstat_close(seg), 0);
	ut_path(name, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void read_hdr(int fd, struct shmstat_hdr *h)
{
	assert_int_equal(pread(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
}

static void write_hdr(int fd, const struct shmstat_hdr *h)
{
	assert_int_equal(pwrite(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
}

static void fix_sum(struct shmstat_hdr *h)
{
	h->hdr_sum = XXH3_64bits(h, SHMSTAT_HDR_SUM_BYTES);
}

/* A file at the segment path with exactly these bytes. */
static void craft(const char *name, const void *bytes, size_t len)
{
	char path[300];
	int fd;

	ut_path(name, path, sizeof(path));
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

static void expect_reader_err(const char *name, int code)
{
	shmstat_reader *r = (shmstat_reader *)&r;
	int err = shmstat_reader_open(name, &r);

	if (err != code)
		fail_msg("reader on %s: %s (%d), expected %s (%d): %s", name,
			 shmstat_strerror(err), err, shmstat_strerror(code), code,
			 shmstat_last_error());
	assert_null(r);
	ut_check_error_text(name);
}

/* Not for empty files or a zero magic: a writer waits there (up to 2 s)
 * for a creator to finish. */
static void expect_writer_err(const char *name, int code)
{
	shmstat_seg *seg = (shmstat_seg *)&seg;
	int err = shmstat_open(name, NULL, &seg);

	if (err != code)
		fail_msg("writer on %s: %s (%d), expected %s (%d): %s", name,
			 shmstat_strerror(err), err, shmstat_strerror(code), code,
			 shmstat_last_error());
	assert_null(seg);
	ut_check_error_text(name);
}

static void expect_snapshot_err(shmstat_reader *r, const char *name, int code)
{
	shmstat_snap *s = (shmstat_snap *)&s;
	int err = shmstat_snapshot(r, &s);

	if (err != code)
		fail_msg("snapshot of %s: %s (%d), expected %s (%d): %s", name,
			 shmstat_strerror(err), err, shmstat_strerror(code), code,
			 shmstat_last_error());
	assert_null(s);
	ut_check_error_text(name);
}

/* ----------------------------------------------------------------- header */

static void test_wrong_magic(void **state)
{
	const char *name = ut_name("bad");
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	assert_int_equal(pwrite(fd, "NOTSHMS", 8, 0), 8);
	close(fd);
	expect_reader_err(name, SHMSTAT_EFOREIGN);
	assert_non_null(strstr(shmstat_last_error(), "magic"));
	expect_writer_err(name, SHMSTAT_EFOREIGN);
	assert_int_equal(shmstat_gc(name, NULL), SHMSTAT_EFOREIGN);
	ut_check_error_text(name);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Magic still zero: a creator that has not finished (or died). */
static void test_zero_magic(void **state)
{
	const char *name = ut_name("bad");
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	assert_int_equal(pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 0), 8);
	close(fd);
	expect_reader_err(name, SHMSTAT_EBUSY);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_tiny_files(void **state)
{
	const char *name = ut_name("bad");
	const char *real = ut_name("bad");
	unsigned char buf[100];
	struct shmstat_hdr h;
	shmstat_reader *r = NULL;
	int fd, err;

	(void)state;
	craft(name, NULL, 0);
	expect_reader_err(name, SHMSTAT_EFOREIGN);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	craft(name, buf, sizeof(buf));
	expect_reader_err(name, SHMSTAT_EFOREIGN);
	expect_writer_err(name, SHMSTAT_EFOREIGN);
	craft(name, buf, 5);
	expect_reader_err(name, SHMSTAT_EFOREIGN);
	expect_writer_err(name, SHMSTAT_EFOREIGN);
	/* the first 100 bytes of a real header: right magic, far too short */
	make_valid(real);
	fd = open_rw(real);
	read_hdr(fd, &h);
	close(fd);
	assert_int_equal(shmstat_unlink(real), 0);
	craft(name, &h, 100);
	err = shmstat_reader_open(name, &r);
	assert_true(err == SHMSTAT_EFOREIGN || err == SHMSTAT_ETRUNCATED);
	assert_null(r);
	ut_check_error_text(name);
	expect_writer_err(name, err);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Header cut at 2000 bytes. */
static void test_header_truncated(void **state)
{
	const char *name = ut_name("bad");
	shmstat_reader *r = NULL;
	int fd, err;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	assert_int_equal(ftruncate(fd, 2000), 0);
	close(fd);
	err = shmstat_reader_open(name, &r);
	assert_true(err == SHMSTAT_ETRUNCATED || err == SHMSTAT_EFOREIGN);
	assert_null(r);
	ut_check_error_text(name);
	expect_writer_err(name, err);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Cut to half its size: refused at open; and under an open reader the
 * snapshot reports it (pread sees the end, no SIGBUS). */
static void test_total_truncated(void **state)
{
	const char *name = ut_name("bad");
	shmstat_reader *r = NULL;
	uint64_t size;
	int fd;

	(void)state;
	size = make_valid(name);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	fd = open_rw(name);
	assert_int_equal(ftruncate(fd, (off_t)(size / 2)), 0);
	close(fd);
	expect_snapshot_err(r, name, SHMSTAT_ETRUNCATED);
	shmstat_reader_close(r);
	expect_reader_err(name, SHMSTAT_ETRUNCATED);
	expect_writer_err(name, SHMSTAT_ETRUNCATED);
	/* one byte short */
	fd = open_rw(name);
	assert_int_equal(ftruncate(fd, (off_t)size - 1), 0);
	close(fd);
	expect_reader_err(name, SHMSTAT_ETRUNCATED);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_file_too_big(void **state)
{
	const char *name = ut_name("bad");
	uint64_t size;
	int fd;

	(void)state;
	size = make_valid(name);
	fd = open_rw(name);
	assert_int_equal(ftruncate(fd, (off_t)size + 4096), 0);
	close(fd);
	expect_reader_err(name, SHMSTAT_ECORRUPT);
	expect_writer_err(name, SHMSTAT_ECORRUPT);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_newer_major(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr h;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &h);
	h.major = SHMSTAT_FORMAT_MAJOR + 1;
	write_hdr(fd, &h);
	expect_reader_err(name, SHMSTAT_EVERSION);
	assert_non_null(strstr(shmstat_last_error(), "4."));
	expect_writer_err(name, SHMSTAT_EVERSION);
	/* also with the checksum made right */
	fix_sum(&h);
	write_hdr(fd, &h);
	expect_reader_err(name, SHMSTAT_EVERSION);
	h.major = 0;
	fix_sum(&h);
	write_hdr(fd, &h);
	expect_reader_err(name, SHMSTAT_EVERSION);
	close(fd);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A newer minor version, with its checksum, is read: additions only. */
static void test_newer_minor_accepted(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_seg_info info;
	struct shmstat_hdr h;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &h);
	h.minor = 7;
	/* a region this reader does not know, inside the segment */
	h.nregions = SHMSTAT_REG_COUNT + 1;
	h.regions[SHMSTAT_REG_COUNT].off = 0;
	h.regions[SHMSTAT_REG_COUNT].len = 4096;
	fix_sum(&h);
	write_hdr(fd, &h);
	close(fd);
	ut_info(name, &info);
	assert_int_equal(info.format_major, SHMSTAT_FORMAT_MAJOR);
	assert_int_equal(info.format_minor, 7);
	assert_int_equal(info.metrics, 2);
	assert_int_equal(ut_counter_value(name, "b_total"), 2);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_other_byte_order(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr h;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &h);
	h.endian = __builtin_bswap64(SHMSTAT_ENDIAN_PROBE);
	fix_sum(&h);
	write_hdr(fd, &h);
	close(fd);
	expect_reader_err(name, SHMSTAT_EFOREIGN);
	expect_writer_err(name, SHMSTAT_EFOREIGN);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Header fields changed with a correct checksum: each caught by the
 * geometry checks, none followed. */
static void test_bad_fields_with_checksum(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr good, h;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &good);
	for (int k = 0; k < 14; k++) {
		h = good;
		switch (k) {
		case 0: h.regions[SHMSTAT_REG_DESCS].off = good.total_size + 4096; break;
		case 1: h.regions[SHMSTAT_REG_STRIPES].off = UINT64_MAX - 8; break;
		case 2: h.regions[SHMSTAT_REG_STRIPES].len = UINT64_MAX; break;
		case 3: h.regions[SHMSTAT_REG_PROCS].off = 0; break;     /* over the header */
		case 4: h.regions[SHMSTAT_REG_OWNERS].len += 8; break;
		case 5: h.nregions = 3; break;
		case 6: h.nregions = 17; break;
		case 7: h.hdr_size = 4000; break;
		case 8: h.nstripes = h.max_procs + 2; break;
		case 9: h.stripe_bytes += 128; break;
		case 10: h.max_procs = 0; break;
		case 11: h.max_metrics = 0xffffffffu; break;
		case 12:
			h.nregions = SHMSTAT_REG_COUNT + 1;
			h.regions[SHMSTAT_REG_COUNT].off = good.total_size - 8;
			h.regions[SHMSTAT_REG_COUNT].len = 4096;
			break;
		default: h.max_values += 1; break;
		}
		fix_sum(&h);
		write_hdr(fd, &h);
		expect_reader_err(name, SHMSTAT_ECORRUPT);
		expect_writer_err(name, SHMSTAT_ECORRUPT);
	}
	write_hdr(fd, &good);
	close(fd);
	assert_int_equal(ut_counter_value(name, "a_total"), 1);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Any single flipped byte of the checked header is caught. */
static void test_flipped_header_byte(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr good, h;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &good);
	for (size_t off = 0; off < SHMSTAT_HDR_SUM_BYTES + 8; off++) {
		int code;

		h = good;
		((unsigned char *)&h)[off] ^= 0x10;
		write_hdr(fd, &h);
		if (off < 8 || (off >= 16 && off < 24))
			code = SHMSTAT_EFOREIGN;          /* magic, byte order */
		else if (off == 8 || off == 9)
			code = SHMSTAT_EVERSION;          /* major */
		else
			code = SHMSTAT_ECORRUPT;          /* checksum */
		expect_reader_err(name, code);
		if (code == SHMSTAT_ECORRUPT)
			assert_non_null(strstr(shmstat_last_error(), "checksum"));
	}
	expect_writer_err(name, SHMSTAT_ECORRUPT);
	write_hdr(fd, &good);
	close(fd);
	assert_int_equal(ut_counter_value(name, "a_total"), 1);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* The immutable header changes under an open reader; or the mutable part
 * holds nonsense. */
static void test_changed_under_reader(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr good, h;
	shmstat_reader *r = NULL;
	shmstat_snap *s = NULL;
	int fd;

	(void)state;
	make_valid(name);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	fd = open_rw(name);
	read_hdr(fd, &good);
	h = good;
	h.created_ns ^= 1;
	fix_sum(&h);
	write_hdr(fd, &h);
	expect_snapshot_err(r, name, SHMSTAT_ECORRUPT);
	write_hdr(fd, &good);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_free(s);
	/* fold phase out of range */
	h = good;
	h.fold_state = SHMSTAT_FOLD_WORD(9, 0, 0);
	write_hdr(fd, &h);
	expect_snapshot_err(r, name, SHMSTAT_ECORRUPT);
	write_hdr(fd, &good);
	close(fd);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* ------------------------------------------------------------ descriptors */

/* Offset of the live descriptor named @metric. */
static off_t find_desc(int fd, const char *metric)
{
	struct shmstat_hdr h;
	struct shmstat_desc d;

	read_hdr(fd, &h);
	for (uint32_t i = 0; i < h.max_metrics; i++) {
		off_t off = (off_t)(h.regions[SHMSTAT_REG_DESCS].off + (uint64_t)i * sizeof(d));

		assert_int_equal(pread(fd, &d, sizeof(d), off), (ssize_t)sizeof(d));
		if (SHMSTAT_DESC_STATE(d.word) == SHMSTAT_DESC_LIVE && strcmp(d.name, metric) == 0)
			return off;
	}
	fail_msg("descriptor %s not found", metric);
	return -1;
}

static void fix_desc_sum(struct shmstat_desc *d)
{
	d->sum = XXH3_64bits((const unsigned char *)d + SHMSTAT_DESC_SUM_FROM,
			     sizeof(*d) - SHMSTAT_DESC_SUM_FROM);
}

static void expect_one_bad_desc(const char *name)
{
	struct shmstat_metric_info mi;
	struct shmstat_seg_info info;
	shmstat_snap *s = ut_snap(name);
	size_t n = shmstat_snap_metrics(s);

	shmstat_snap_info(s, &info);
	assert_int_equal(info.bad_descs, 1);
	assert_int_equal(info.metrics, 1);
	assert_int_equal(n, 1);
	assert_int_equal(shmstat_snap_metric(s, 0, &mi), 0);
	assert_string_equal(mi.name, "b_total");
	assert_int_equal(mi.counter, 2);
	shmstat_snap_free(s);
}

static void test_corrupt_descriptor(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_desc good, d;
	off_t off;
	int fd;

	(void)state;
	make_valid(name);
	fd = open_rw(name);
	off = find_desc(fd, "a_total");
	assert_int_equal(pread(fd, &good, sizeof(good), off), (ssize_t)sizeof(good));
	for (int k = 0; k < 8; k++) {
		d = good;
		switch (k) {
		case 0: d.name[0] ^= 0x01; break;                 /* checksum off */
		case 1: d.value_off = 1000000; fix_desc_sum(&d); break;
		case 2: d.value_off = 255; d.nvalues = 3; d.type = SHMSTAT_GAUGE; fix_desc_sum(&d); break;
		case 3: d.type = 7; fix_desc_sum(&d); break;
		case 4: d.nvalues = 2; fix_desc_sum(&d); break;
		case 5: memset(d.name, 'x', sizeof(d.name)); fix_desc_sum(&d); break;
		case 6: memset(d.help, 'h', sizeof(d.help)); fix_desc_sum(&d); break;
		default: d.type = SHMSTAT_GAUGE; d.nvalues = 3; d.agg = 8; fix_desc_sum(&d); break;
		}
		assert_int_equal(pwrite(fd, &d, sizeof(d), off), (ssize_t)sizeof(d));
		expect_one_bad_desc(name);
	}
	/* a state word the reader does not know */
	d = good;
	d.word = SHMSTAT_DESC_WORD(9, 1);
	assert_int_equal(pwrite(fd, &d, sizeof(d), off), (ssize_t)sizeof(d));
	expect_one_bad_desc(name);
	assert_int_equal(pwrite(fd, &good, sizeof(good), off), (ssize_t)sizeof(good));
	close(fd);
	assert_int_equal(ut_counter_value(name, "a_total"), 1);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* ---------------------------------------------------------------- garbage */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return xorshift64(&rng_state);
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 24);
}

/* Random bytes of many sizes, some dressed up as a header step by step:
 * always an error, never a crash. */
static void test_garbage(void **state)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 64, 100, 335, 336, 344, 383, 384,
					2000, 4095, 4096, 4097, 8192, 12288, 65536 };
	const char *name = ut_name("bad");
	const char *real = ut_name("bad");
	struct shmstat_hdr good;
	unsigned char *buf = malloc(70000);
	int fd;

	(void)state;
	assert_non_null(buf);
	make_valid(real);
	fd = open_rw(real);
	read_hdr(fd, &good);
	close(fd);
	assert_int_equal(shmstat_unlink(real), 0);
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int it = 0; it < 200; it++) {
		size_t size = it % 2 ? sizes[rnd() % (sizeof(sizes) / sizeof(sizes[0]))]
				     : (size_t)(rnd() % 70000);
		int mode = it % 6;
		struct shmstat_hdr *h = (struct shmstat_hdr *)(void *)buf;
		shmstat_reader *r = NULL;
		shmstat_seg *seg = NULL;
		int err;

		fill_random(buf, size);
		if (size >= sizeof(*h) && mode > 0) {
			switch (mode) {
			case 5:
				/* a real header over random regions, wrong size */
				memcpy(h, &good, sizeof(*h));
				if (size == good.total_size)
					size -= 4096;
				break;
			case 4:
				memset(buf, 0, size);
				break;
			default:
				memcpy(h->magic, SHMSTAT_MAGIC, 8);
				if (mode >= 2) {
					h->endian = SHMSTAT_ENDIAN_PROBE;
					h->major = SHMSTAT_FORMAT_MAJOR;
				}
				if (mode >= 3) {
					h->hdr_size = sizeof(*h);
					h->total_size = size;
					h->nregions = 4 + (uint32_t)(rnd() % 13);
					h->max_procs = (uint32_t)(rnd() % 10);
					h->max_metrics = (uint32_t)(rnd() % 10);
					h->max_values = (uint32_t)(rnd() % 100);
					h->nstripes = h->max_procs + 2 + (uint32_t)(rnd() % 5);
					fix_sum(h);
				}
				break;
			}
		}
		craft(name, buf, size);
		err = shmstat_reader_open(name, &r);
		if (err == 0) {
			shmstat_snap *s = NULL;

			err = shmstat_snapshot(r, &s);
			shmstat_snap_free(s);
			shmstat_reader_close(r);
			fail_msg("iteration %d (size %zu, mode %d): garbage was accepted (snapshot %d)",
				 it, size, mode, err);
		}
		assert_null(r);
		ut_check_error_text(name);
		/* writers too, where they would not wait for a creator */
		if (size > 0 && (size < sizeof(*h) || memcmp(buf, "\0\0\0\0\0\0\0\0", 8) != 0)) {
			err = shmstat_open(name, NULL, &seg);
			if (err == 0) {
				shmstat_close(seg);
				fail_msg("iteration %d (size %zu, mode %d): a writer attached to garbage",
					 it, size, mode);
			}
			ut_check_error_text(name);
		}
	}
	free(buf);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A valid header over random regions: the snapshot either fails or
 * reports exactly the descriptors and processes that can be trusted. */
static void test_valid_header_random_body(void **state)
{
	const char *name = ut_name("bad");
	struct shmstat_hdr good;
	unsigned char *buf;
	uint64_t size;
	int fd;

	(void)state;
	size = make_valid(name);
	fd = open_rw(name);
	read_hdr(fd, &good);
	close(fd);
	buf = malloc(size);
	assert_non_null(buf);
	rng_state = 0x2545f4914f6cdd1dULL;
	for (int it = 0; it < 40; it++) {
		struct shmstat_hdr *h = (struct shmstat_hdr *)(void *)buf;
		struct shmstat_proc *procs;
		struct shmstat_desc *descs;
		uint64_t *owners;
		unsigned want_valid = 0, want_bad = 0, want_procs = 0;
		struct shmstat_seg_info info;
		shmstat_reader *r = NULL;
		shmstat_snap *s = NULL;
		int err;

		fill_random(buf, size);
		memcpy(buf, &good, SHMSTAT_HDR_SUM_BYTES + 8);
		if (it % 4 != 0) {
			/* sane mutable header lines, so the body gets read */
			h->fold_state = SHMSTAT_FOLD_WORD(rnd() % 3, rnd() % 2,
							  rnd() % (good.max_procs + 2));
		}
		procs = (struct shmstat_proc *)(void *)(buf + good.regions[SHMSTAT_REG_PROCS].off);
		descs = (struct shmstat_desc *)(void *)(buf + good.regions[SHMSTAT_REG_DESCS].off);
		owners = (uint64_t *)(void *)(buf + good.regions[SHMSTAT_REG_OWNERS].off);
		for (uint32_t p = 0; p < good.max_procs; p++) {
			/* every state, and 6 (unknown: counted as bad) */
			uint32_t st = (uint32_t)(rnd() % 7);

			procs[p].word = SHMSTAT_PROC_WORD(st, (uint32_t)rnd());
			if ((st == SHMSTAT_PROC_LIVE || st == SHMSTAT_PROC_EXITED) &&
			    !(SHMSTAT_FOLD_PHASE(h->fold_state) == SHMSTAT_FOLD_FLIPPED &&
			      SHMSTAT_FOLD_PROC(h->fold_state) == p))
				want_procs++;
		}
		for (uint32_t i = 0; i < good.nstripes; i++)
			if (rnd() % 2)
				owners[i] = SHMSTAT_STRIPE_WORD(rnd() % 5, rnd() % (good.max_procs + 3));
		for (uint32_t i = 0; i < good.max_metrics; i++) {
			struct shmstat_desc *d = &descs[i];
			/* every state, and 6 (unknown: counted as bad) */
			uint32_t st = (uint32_t)(rnd() % 7);
			int ok, texts = 0;

			d->word = SHMSTAT_DESC_WORD(st, (uint32_t)rnd());
			if (rnd() % 2) {
				/* plausible fields with a right checksum */
				d->type = 1 + (uint32_t)(rnd() % 3);
				d->nvalues = (uint32_t)(rnd() % 4);
				d->agg = (uint32_t)(rnd() % 10);
				d->value_off = (uint32_t)(rnd() % (good.max_values + 4));
				if (rnd() % 4) {
					snprintf(d->name, sizeof(d->name), "m%u", i);
					d->labels[rnd() % sizeof(d->labels)] = '\0';
					d->unit[rnd() % sizeof(d->unit)] = '\0';
					d->help[rnd() % sizeof(d->help)] = '\0';
					if (rnd() % 2) {
						/* texts the writer's rules allow */
						snprintf(d->labels, sizeof(d->labels),
							 "a=\"%u\",b=\"\\\\\\\"\\n\xc3\xa9\"", i);
						snprintf(d->unit, sizeof(d->unit), "bytes");
						snprintf(d->help, sizeof(d->help), "help \"\\ \x1b");
						texts = 1;
					} else {
						/* random bytes: labels that break the rules */
						d->labels[0] = '\x01';
					}
				}
				fix_desc_sum(d);
				ok = st == SHMSTAT_DESC_LIVE && texts &&
				     memchr(d->name, 0, sizeof(d->name)) &&
				     memchr(d->labels, 0, sizeof(d->labels)) &&
				     memchr(d->unit, 0, sizeof(d->unit)) &&
				     memchr(d->help, 0, sizeof(d->help)) &&
				     ((d->type == SHMSTAT_COUNTER && d->nvalues == 1) ||
				      (d->type == SHMSTAT_GAUGE && d->nvalues == 3 && d->agg <= 7)) &&
				     d->value_off <= good.max_values &&
				     d->nvalues <= good.max_values - d->value_off;
			} else {
				ok = 0;
			}
			if (ok)
				want_valid++;
			else if (st == SHMSTAT_DESC_LIVE || st == 6)
				want_bad++;     /* RETIRED and DEADV are skipped */
		}
		craft(name, buf, size);
		assert_int_equal(shmstat_reader_open(name, &r), 0);
		err = shmstat_snapshot(r, &s);
		shmstat_reader_close(r);
		if (it % 4 == 0) {
			/* random fold phase: almost surely refused; never a crash */
			if (err == 0)
				shmstat_snap_free(s);
			else
				ut_check_error_text(name);
			continue;
		}
		if (err != 0)
			fail_msg("iteration %d: snapshot failed: %s", it, shmstat_last_error());
		shmstat_snap_info(s, &info);
		assert_int_equal(info.metrics, want_valid);
		assert_int_equal(info.bad_descs, want_bad);
		assert_int_equal(shmstat_snap_procs(s), want_procs);
		assert_int_equal(info.writers_alive + info.writers_dead, want_procs);
		for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
			struct shmstat_metric_info mi;
			uint64_t cv;
			int64_t gv;

			assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
			assert_int_equal(mi.name[0], 'm');
			assert_true(strlen(mi.labels) < SHMSTAT_LABELS_CAP);
			for (size_t j = 0; j < shmstat_snap_procs(s); j++)
				shmstat_snap_metric_proc(s, i, j, &cv, &gv);
			shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &cv, &gv);
		}
		for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
			struct shmstat_proc_info pi;

			assert_int_equal(shmstat_snap_proc(s, j, &pi), 0);
			assert_true(strlen(pi.comm) <= 16);
		}
		shmstat_snap_free(s);
	}
	free(buf);
	assert_int_equal(shmstat_unlink(name), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wrong_magic),
		T(test_zero_magic),
		T(test_tiny_files),
		T(test_header_truncated),
		T(test_total_truncated),
		T(test_file_too_big),
		T(test_newer_major),
		T(test_newer_minor_accepted),
		T(test_other_byte_order),
		T(test_bad_fields_with_checksum),
		T(test_flipped_header_byte),
		T(test_changed_under_reader),
		T(test_corrupt_descriptor),
		T(test_garbage),
		T(test_valid_header_random_body),
	};

	return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
