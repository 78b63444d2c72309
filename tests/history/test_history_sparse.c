/*
 * test_history_sparse.c - a history file whose header claims far more
 * than it holds: a sparse file (the header rewritten, its checksum fixed)
 * with a ring of 64 GiB or 1 TiB and a few pages of data.
 *
 * A reader walks a ring 8 bytes at a time, but no record starts in a
 * hole (holes read as zeros, a record's magic is not 0): it must jump
 * over them (SEEK_DATA), read the data only, and find every record
 * wherever it lies. This file defines pread() and lseek() (the library
 * is linked in statically, its calls come here): the bytes read are
 * counted and refused past READ_LIMIT, so a reader that reads the holes
 * fails at once instead of reading 64 GiB (the walk of 8 bytes at a time
 * took 4 s a GiB, about 4 min for 64 GiB and an hour for 1 TiB); lseek()
 * counts SEEK_DATA and SEEK_HOLE, or refuses them as a file system
 * without them does (EINVAL): the reader then reads everything.
 *
 *  test_sparse_ring     records in two runs of data at both ends of a
 *                       64 GiB ring (the older ones near its end, as
 *                       after a wrap), junk in the middle: all 20 read
 *                       back, in order, with their values; a bounded
 *                       number of bytes read and of lseek() calls (one
 *                       SEEK_HOLE a run of data, not one per record)
 *  test_no_seek_data    the same in a 16 MiB ring with SEEK_DATA
 *                       refused: the same 20 records
 *  test_sparse_forged   a page of forged record headers claiming 256 MiB
 *                       each in a 64 GiB ring: the bytes hashed for
 *                       candidates are bounded by the data found, not by
 *                       the size of the ring the header claims
 *  test_size_cap        a header of 1 TiB + 4096 bytes: refused as
 *                       corrupted (1 TiB is the most a file may have);
 *                       1 TiB exactly: read
 */
#include <sys/syscall.h>

#include "ut_common.h"
#include "hy_util.h"

#define READ_LIMIT (UINT64_C(64) << 20)

static uint64_t read_bytes;    /* by pread(), this test's included */
static int read_refused;
static unsigned seeks;         /* SEEK_DATA and SEEK_HOLE */
static int no_seek_data;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r;

	if (read_bytes > READ_LIMIT) {
		read_refused = 1;
		errno = EFBIG;
		return -1;
	}
	r = syscall(SYS_pread64, fd, buf, n, off);
	if (r > 0)
		read_bytes += (uint64_t)r;
	return r;
}

off_t lseek(int fd, off_t off, int whence)
{
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		seeks++;
		if (no_seek_data) {
			errno = EINVAL;
			return -1;
		}
	}
	return (off_t)syscall(SYS_lseek, fd, off, whence);
}

static void count_reset(void)
{
	read_bytes = 0;
	read_refused = 0;
	seeks = 0;
}

/* Each test starts with nothing counted, SEEK_DATA answered. */
static int sp_setup(void **state)
{
	count_reset();
	no_seek_data = 0;
	return hy_setup(state);
}

/* ------------------------------------------------------- a valid file */

#define VN 20

struct valid {
	struct shmstat_hf_hdr hdr;
	unsigned char *dict;       /* its dictionary region */
	unsigned char *rec[VN];    /* its records, seq 1 .. VN */
	uint32_t len[VN];
	struct hy_exp exp[VN];
};

/* A file of one tier holding VN records of the test segment (steps 0 ..
 * VN-1 at HY_T0 + i s), its bytes kept; the file removed. */
static void make_valid(struct valid *v)
{
	struct shmstat_history_opts o = hy_opts(256 << 10, 8, UINT64_C(1), UINT64_C(1000),
						UINT64_C(0));
	const char *name = ut_name("hist-sparse");
	char path[512];
	shmstat_history *h;
	struct hy_seg s;
	uint64_t off = 0;

	memset(v, 0, sizeof(*v));
	hy_path(path, sizeof(path), "valid.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	for (unsigned i = 0; i < VN; i++) {
		shmstat_snap *sn;

		hy_seg_step(&s, i);
		sn = hy_snap(&s);
		hy_expect(&v->exp[i], sn, HY_T0 + i * HY_S, 8);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, NULL), 0);
		shmstat_snap_free(sn);
	}
	shmstat_history_close(h);
	hy_seg_close(&s);
	hy_read_hdr(path, &v->hdr);
	v->dict = malloc(v->hdr.dict_len);
	assert_non_null(v->dict);
	hy_read_at(path, v->dict, v->hdr.dict_len, v->hdr.dict_off);
	/* no wrap: the records lie one after the other from the ring's start */
	for (unsigned i = 0; i < VN; i++) {
		struct shmstat_hf_rec rh;

		hy_read_at(path, &rh, sizeof(rh), v->hdr.tier[0].ring_off + off);
		assert_int_equal(rh.magic, SHMSTAT_HF_REC_MAGIC);
		assert_int_equal(rh.seq, i + 1);
		v->len[i] = rh.len;
		v->rec[i] = malloc(rh.len);
		assert_non_null(v->rec[i]);
		hy_read_at(path, v->rec[i], rh.len, v->hdr.tier[0].ring_off + off);
		off += rh.len;
	}
	assert_int_equal(unlink(path), 0);
}

static void free_valid(struct valid *v)
{
	for (unsigned i = 0; i < VN; i++) {
		hy_expect_free(&v->exp[i]);
		free(v->rec[i]);
	}
	free(v->dict);
}

/* Records @from .. @to - 1 (0-based) one after the other at @off of the
 * ring of @hd in @path; the offset past them. */
static uint64_t put_records(const char *path, const struct shmstat_hf_hdr *hd,
			    const struct valid *v, unsigned from, unsigned to, uint64_t off)
{
	for (unsigned i = from; i < to; i++) {
		hy_write_at(path, v->rec[i], v->len[i], hd->tier[0].ring_off + off);
		off += v->len[i];
	}
	return off;
}

/*
 * @path: a sparse file of @total bytes with @v's header (its size and
 * ring made to match, checksum fixed) and dictionary, the rest holes.
 * False if the file system cannot hold a file that big.
 */
static bool make_sparse(const char *path, const struct valid *v, uint64_t total,
			struct shmstat_hf_hdr *hd)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	if (ftruncate(fd, (off_t)total) != 0) {
		assert_int_equal(errno, EFBIG);
		close(fd);
		unlink(path);
		return false;
	}
	close(fd);
	*hd = v->hdr;
	hd->total_size = total;
	hd->tier[0].ring_len = (total - hd->tier[0].ring_off) & ~UINT64_C(7);
	hd->hdr_sum = XXH3_64bits(hd, SHMSTAT_HF_HDR_SUM_BYTES);
	hy_write_at(path, hd, sizeof(*hd), 0);
	hy_write_at(path, v->dict, v->hdr.dict_len, v->hdr.dict_off);
	return true;
}

/* Read @path: every frame, in order, the records @first .. VN - 1 of @v
 * with their values. */
static void check_read(const char *path, const struct valid *v, unsigned first)
{
	shmstat_history *h;
	shmstat_frame **f;
	size_t n;

	int err;

	assert_int_equal(shmstat_history_open(path, &h), 0);
	err = shmstat_history_range(h, 0, UINT64_MAX, &f, &n);
	shmstat_history_close(h);
	if (read_refused)
		fail_msg("the reader read more than %llu bytes of a file of %llu, most of it holes",
			 (unsigned long long)READ_LIMIT, (unsigned long long)hy_file_size(path));
	assert_int_equal(err, 0);
	assert_int_equal(n, VN - first);
	for (size_t i = 0; i < n; i++)
		hy_check_frame(f[i], &v->exp[first + i], "");
	shmstat_frames_free(f, n);
}

/*
 * A ring of about @total bytes: records 11..20 (1-based) at its start,
 * 1..10 ending 4 KiB + 8 before its end (as after a wrap: 11 did not fit
 * after 10), and 8 KiB of junk (no record header) in the middle.
 */
static void make_wrapped(const char *path, const struct valid *v, uint64_t total)
{
	struct shmstat_hf_hdr hd;
	unsigned char junk[8192];
	uint64_t len = 0, seed = 11;

	assert_true(make_sparse(path, v, total, &hd));
	put_records(path, &hd, v, VN / 2, VN, 0);
	for (unsigned i = 0; i < VN / 2; i++)
		len += v->len[i];
	put_records(path, &hd, v, 0, VN / 2, hd.tier[0].ring_len - 4096 - 8 - len);
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
		junk[i] = (unsigned char)(seed >> 56);
	}
	hy_write_at(path, junk, sizeof(junk),
		    hd.tier[0].ring_off + (hd.tier[0].ring_len / 2 & ~UINT64_C(4095)));
}

static void test_sparse_ring(void **state)
{
	static struct valid v;
	char path[512];

	(void)state;
	make_valid(&v);
	hy_path(path, sizeof(path), "sparse.shmhist");
	make_wrapped(path, &v, UINT64_C(64) << 30);
	count_reset();
	check_read(path, &v, 0);
	print_message("64 GiB ring: %llu bytes read, %u SEEK_DATA/SEEK_HOLE\n",
		      (unsigned long long)read_bytes, seeks);
	/* the header, the dictionary (16 KiB), the runs of data of the
	 * ring, the records again: well under a MiB */
	assert_true(read_bytes < (UINT64_C(1) << 20));
	/* three runs in the ring: a SEEK_DATA and a SEEK_HOLE each, and a
	 * SEEK_DATA past the last; not one per record */
	assert_true(seeks >= 3 && seeks <= 2 * 3 + 1);
	assert_int_equal(unlink(path), 0);
	free_valid(&v);
}

static void test_no_seek_data(void **state)
{
	static struct valid v;
	char path[512];

	(void)state;
	make_valid(&v);
	hy_path(path, sizeof(path), "noseek.shmhist");
	make_wrapped(path, &v, UINT64_C(16) << 20);
	count_reset();
	check_read(path, &v, 0);
	no_seek_data = 1;
	count_reset();
	check_read(path, &v, 0);
	/* the whole ring was read */
	assert_true(read_bytes >= (UINT64_C(16) << 20) - (UINT64_C(64) << 10));
	no_seek_data = 0;
	assert_int_equal(unlink(path), 0);
	free_valid(&v);
}

static void test_sparse_forged(void **state)
{
	static struct valid v;
	struct shmstat_hf_hdr hd;
	unsigned char page[4096];
	char path[512];

	(void)state;
	make_valid(&v);
	hy_path(path, sizeof(path), "forged.shmhist");
	assert_true(make_sparse(path, &v, UINT64_C(64) << 30, &hd));
	put_records(path, &hd, &v, VN / 2, VN, 0);
	/* a header every 32 bytes, each claiming 256 MiB: wrong checksums */
	for (size_t i = 0; i < sizeof(page); i += SHMSTAT_HF_REC_HDR) {
		struct shmstat_hf_rec rh = { SHMSTAT_HF_REC_MAGIC, SHMSTAT_HF_REC_MAX, i, 100 + i, 1 };

		memcpy(page + i, &rh, sizeof(rh));
	}
	hy_write_at(path, page, sizeof(page), hd.tier[0].ring_off + (UINT64_C(8) << 30));
	count_reset();
	check_read(path, &v, VN / 2);
	print_message("forged: %llu bytes read\n", (unsigned long long)read_bytes);
	/* 64 MiB of hashing at most, then the rest of the ring is ignored;
	 * not 128 x 256 MiB */
	assert_true(read_bytes <= READ_LIMIT);
	assert_int_equal(unlink(path), 0);
	free_valid(&v);
}

static void test_size_cap(void **state)
{
	static struct valid v;
	struct shmstat_hf_hdr hd;
	shmstat_history *h = NULL;
	char path[512];

	(void)state;
	make_valid(&v);
	hy_path(path, sizeof(path), "huge.shmhist");
	if (!make_sparse(path, &v, SHMSTAT_HF_MAX_BYTES + 4096, &hd)) {
		free_valid(&v);
		skip();
	}
	put_records(path, &hd, &v, 0, VN, 0);
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_ECORRUPT);
	assert_null(h);
	hy_check_error(path);
	hy_check_error("is corrupted: its header says 1099511631872 bytes, more than the "
		       "1099511627776 (1 TiB) a history file may have");
	assert_int_equal(shmstat_history_create(path, NULL, &h), SHMSTAT_ECORRUPT);
	assert_null(h);
	hy_check_error("more than the 1099511627776 (1 TiB)");
	assert_int_equal(unlink(path), 0);

	/* the most a file may have: read, holes jumped */
	assert_true(make_sparse(path, &v, SHMSTAT_HF_MAX_BYTES, &hd));
	put_records(path, &hd, &v, 0, VN, 0);
	count_reset();
	check_read(path, &v, 0);
	print_message("1 TiB: %llu bytes read, %u SEEK_DATA/SEEK_HOLE\n",
		      (unsigned long long)read_bytes, seeks);
	assert_true(read_bytes < (UINT64_C(1) << 20));
	assert_int_equal(unlink(path), 0);
	free_valid(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sparse_ring, sp_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_no_seek_data, sp_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_sparse_forged, sp_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_size_cap, sp_setup, hy_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
