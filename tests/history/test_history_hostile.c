/*
 * test_history_hostile.c - a reader trusts nothing in a history file.
 *
 * Damaged headers give an error that names the file and what is wrong;
 * torn, damaged or forged records are left out; forged records with a
 * valid checksum (the seed is in the header: anyone who can write the
 * file can forge them) are checked field by field. Never a crash: this
 * runs under ASan and UBSan. The forged records are written by hand from
 * the format described in history.h and docs/history.md, so a valid one
 * read back also checks that description.
 */
#include "ut_common.h"
#include "hy_util.h"
#include "shmstat_window.h"


static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(2685821657736338717);
}

/* ------------------------------------------------------- a valid file */

#define VN 20

struct valid {
	char path[512];
	unsigned char *bytes;      /* the file as written */
	size_t size;
	struct shmstat_hf_hdr hdr;
	uint64_t rec_off[VN];      /* offsets of the records in ring 0 */
	uint32_t rec_len[VN];
	struct hy_exp exp[VN];
};

/* A file of one tier holding VN records of the test segment (steps 0 ..
 * VN-1 at HY_T0 + i s), and what each held. */
static void make_valid(struct valid *v, const char *file)
{
	struct shmstat_history_opts o = hy_opts(256 << 10, 8, UINT64_C(1), UINT64_C(1000),
						UINT64_C(0));
	const char *name = ut_name("hist-hostile");
	shmstat_history *h;
	struct hy_seg s;
	uint64_t off = 0;
	int fd;

	memset(v, 0, sizeof(*v));
	hy_path(v->path, sizeof(v->path), file);
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(v->path, &o, &h), 0);
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
	hy_read_hdr(v->path, &v->hdr);
	v->size = (size_t)hy_file_size(v->path);
	v->bytes = malloc(v->size);
	assert_non_null(v->bytes);
	fd = open(v->path, O_RDONLY);
	assert_int_equal(pread(fd, v->bytes, v->size, 0), (ssize_t)v->size);
	close(fd);
	/* no wrap: the records lie one after the other from the ring's start */
	for (unsigned i = 0; i < VN; i++) {
		struct shmstat_hf_rec rh;

		memcpy(&rh, v->bytes + v->hdr.tier[0].ring_off + off, sizeof(rh));
		assert_int_equal(rh.magic, SHMSTAT_HF_REC_MAGIC);
		assert_int_equal(rh.seq, i + 1);
		v->rec_off[i] = off;
		v->rec_len[i] = rh.len;
		off += rh.len;
	}
}

/* Put the file back as written. */
static void restore(const struct valid *v)
{
	int fd = open(v->path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, v->bytes, v->size, 0), (ssize_t)v->size);
	close(fd);
}

static void free_valid(struct valid *v)
{
	for (unsigned i = 0; i < VN; i++)
		hy_expect_free(&v->exp[i]);
	free(v->bytes);
}

/* Every accessor of every frame, every string read to its end. */
static void walk(shmstat_frame **f, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[j], &fi);
		assert_true(strlen(fi.segment) <= 255);
		for (size_t i = 0; i < fi.series; i++) {
			struct shmstat_series s;
			size_t len;

			assert_int_equal(shmstat_frame_series(f[j], i, &s), 0);
			len = strlen(s.name) + strlen(s.labels) + strlen(s.help) + strlen(s.unit);
			assert_true(len > 0);
			assert_true(shmstat_frame_find(f[j], s.name, s.labels) >= 0);
			if (s.type == SHMSTAT_HISTOGRAM) {
				shmstat_hdata *hd;
				struct shmstat_hstats st;
				double q[2] = { 0.5, 0.99 };
				uint64_t out[2];

				assert_int_equal(shmstat_frame_hist(f[j], i, &hd), 0);
				shmstat_hdata_stats(hd, &st);
				(void)shmstat_hdata_quantiles(hd, q, 2, out);
				shmstat_hdata_free(hd);
			}
			for (size_t k = 0; k < s.top; k++) {
				struct shmstat_sigkey sk;
				char buf[140];

				assert_int_equal(shmstat_frame_sigkey(f[j], i, k, &sk), 0);
				assert_true(sk.key_len <= 128);
				memcpy(buf, sk.key, sk.key_len + 1);
				assert_true(strlen(sk.owner) <= 255);
			}
		}
	}
}

/* Read everything back: 0 and the frames, walked. */
static size_t read_all(const char *path, shmstat_frame ***out)
{
	shmstat_history *h;
	shmstat_frame **f;
	size_t n;

	assert_int_equal(shmstat_history_open(path, &h), 0);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	shmstat_history_close(h);
	walk(f, n);
	if (out) {
		*out = f;
	} else {
		shmstat_frames_free(f, n);
	}
	return n;
}

/* ------------------------------------------------------------- headers */

static void put_hdr(const char *path, struct shmstat_hf_hdr *h, int resum)
{
	if (resum)
		h->hdr_sum = XXH3_64bits(h, SHMSTAT_HF_HDR_SUM_BYTES);
	hy_write_at(path, h, sizeof(*h), 0);
}

/* @path fails to open, read-only and for writing, with @err, and a
 * sentence naming it and @what. */
static void expect_open_error(const char *path, int err, const char *what)
{
	shmstat_history *h = (shmstat_history *)&h;

	assert_int_equal(shmstat_history_open(path, &h), err);
	assert_null(h);
	hy_check_error(path);
	hy_check_error(what);
	h = (shmstat_history *)&h;
	assert_int_equal(shmstat_history_create(path, NULL, &h), err);
	assert_null(h);
	hy_check_error(path);
}

static void test_headers(void **state)
{
	static struct valid v;        /* megabytes: not on the stack */
	struct shmstat_hf_hdr h;
	uint64_t seed = 42;

	(void)state;
	make_valid(&v, "hdr.shmhist");
	assert_int_equal(read_all(v.path, NULL), VN);

	/* too short for its header, with the right magic */
	assert_int_equal(truncate(v.path, 100), 0);
	expect_open_error(v.path, SHMSTAT_ETRUNCATED, "truncated");
	assert_int_equal(truncate(v.path, 4000), 0);
	expect_open_error(v.path, SHMSTAT_ETRUNCATED, "truncated");
	assert_int_equal(truncate(v.path, 4), 0);
	expect_open_error(v.path, SHMSTAT_EFOREIGN, "not a shmstat history file");
	restore(&v);
	/* shorter or longer than its header says */
	assert_int_equal(truncate(v.path, (off_t)v.size - 4096), 0);
	expect_open_error(v.path, SHMSTAT_ETRUNCATED, "its header says");
	assert_int_equal(truncate(v.path, (off_t)v.size + 4096), 0);
	expect_open_error(v.path, SHMSTAT_ECORRUPT, "its header says");
	restore(&v);

#define CASE(fix, resum, err, what)                                          \
	do {                                                                 \
		restore(&v);                                                 \
		h = v.hdr;                                                   \
		fix;                                                         \
		put_hdr(v.path, &h, resum);                                  \
		expect_open_error(v.path, err, what);                        \
	} while (0)
	CASE(memcpy(h.magic, "SHMSTAT", 8), 1, SHMSTAT_EFOREIGN, "bad magic");
	CASE(h.magic[0] = 'X', 0, SHMSTAT_EFOREIGN, "bad magic");
	CASE(h.endian = UINT64_C(0x0807060504030201), 1, SHMSTAT_EFOREIGN, "byte order");
	CASE(h.major = SHMSTAT_HF_MAJOR + 1, 1, SHMSTAT_EVERSION, "format 3.0");
	CASE(h.major = SHMSTAT_HF_MAJOR + 1, 0, SHMSTAT_EVERSION, "this build reads 2.x");
	CASE(h.tier[0].step_ns++, 0, SHMSTAT_ECORRUPT, "checksum");
	CASE(h.hdr_size = 100, 1, SHMSTAT_ECORRUPT, "header size");
	CASE(h.ntiers = 0, 1, SHMSTAT_ECORRUPT, "0 tiers");
	CASE(h.ntiers = 9, 1, SHMSTAT_ECORRUPT, "9 tiers");
	CASE(h.top_keys = 5000, 1, SHMSTAT_ECORRUPT, "top keys");
	CASE(h.tier[0].step_ns = 0, 1, SHMSTAT_ECORRUPT, "tier 0");
	CASE(h.tier[0].span_ns = 1, 1, SHMSTAT_ECORRUPT, "tier 0");
	/* rings and dictionary outside the file, overlapping, misaligned */
	CASE(h.tier[0].ring_off = v.size, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_off = v.size - 4096, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_len = UINT64_MAX - 4095, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_off = UINT64_MAX - 7, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_off = 0, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_off += 4, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_off = h.dict_off, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.tier[0].ring_len = 8, 1, SHMSTAT_ECORRUPT, "ring of tier 0");
	CASE(h.dict_off = v.size, 1, SHMSTAT_ECORRUPT, "dictionary");
	CASE(h.dict_len = UINT64_MAX - 4095, 1, SHMSTAT_ECORRUPT, "dictionary");
	CASE(h.dict_len = 0, 1, SHMSTAT_ECORRUPT, "dictionary");
	CASE((h.ntiers = 2, h.tier[1] = h.tier[0], h.tier[1].step_ns *= 10), 1,
	     SHMSTAT_ECORRUPT, "overlap");
	CASE((h.ntiers = 2, h.tier[1] = h.tier[0]), 1, SHMSTAT_ECORRUPT, "tier 1");
#undef CASE

	/* random bytes: not a history file */
	restore(&v);
	{
		unsigned char *r = malloc(v.size);

		assert_non_null(r);
		for (size_t i = 0; i < v.size; i += 8) {
			uint64_t x = rnd(&seed);

			memcpy(r + i, &x, 8);
		}
		hy_write_at(v.path, r, v.size, 0);
		expect_open_error(v.path, SHMSTAT_EFOREIGN, "bad magic");
		/* a valid header over random bytes: nothing to read, and a
		 * writer makes a good file of it */
		hy_write_at(v.path, &v.hdr, sizeof(v.hdr), 0);
		assert_int_equal(read_all(v.path, NULL), 0);
		free(r);
	}
	{
		const char *name = ut_name("hist-hostile-w");
		shmstat_history *w;
		shmstat_frame **f;
		struct hy_exp e;
		struct hy_seg s;
		shmstat_snap *sn;

		hy_seg_open(&s, name);
		assert_int_equal(shmstat_history_create(v.path, NULL, &w), 0);
		hy_seg_step(&s, 0);
		sn = hy_snap(&s);
		hy_expect(&e, sn, HY_T0, 8);
		assert_int_equal(shmstat_history_append(w, sn, HY_T0, NULL), 0);
		shmstat_snap_free(sn);
		shmstat_history_close(w);
		assert_int_equal(read_all(v.path, &f), 1);
		hy_check_frame(f[0], &e, "");
		shmstat_frames_free(f, 1);
		hy_expect_free(&e);
		hy_seg_close(&s);
	}
	free_valid(&v);
}

/* ------------------------------------------------------- torn records */

/* Change the @n bytes at @off (xor). */
static void flip(const char *path, uint64_t off, size_t n)
{
	unsigned char b[64];

	assert_true(n <= sizeof(b));
	hy_read_at(path, b, n, off);
	for (size_t i = 0; i < n; i++)
		b[i] ^= 0x5a;
	hy_write_at(path, b, n, off);
}

static void check_first(shmstat_frame **f, size_t n, const struct valid *v)
{
	for (size_t i = 0; i < n; i++)
		hy_check_frame(f[i], &v->exp[i], "");
}

static void test_torn(void **state)
{
	static struct valid v;        /* megabytes: not on the stack */
	shmstat_frame **f;
	uint64_t ring = 0, last_off, seed = 7;
	uint32_t last_len;
	unsigned char junk[256];
	size_t n;

	(void)state;
	make_valid(&v, "torn.shmhist");
	ring = v.hdr.tier[0].ring_off;
	last_off = ring + v.rec_off[VN - 1];
	last_len = v.rec_len[VN - 1];
	for (size_t i = 0; i < sizeof(junk); i += 8) {
		uint64_t x = rnd(&seed);

		memcpy(junk + i, &x, 8);
	}
	/* the last record's tail never written (zeros, as before it) */
	{
		unsigned char z[4096];

		memset(z, 0, sizeof(z));
		assert_true(last_len / 2 <= sizeof(z));
		hy_write_at(v.path, z, last_len - last_len / 2, last_off + last_len / 2);
		n = read_all(v.path, &f);
		assert_int_equal(n, VN - 1);
		check_first(f, n, &v);
		shmstat_frames_free(f, n);
		/* its last 8 bytes only */
		restore(&v);
		flip(v.path, last_off + last_len - 8, 8);
		n = read_all(v.path, &f);
		assert_int_equal(n, VN - 1);
		check_first(f, n, &v);
		shmstat_frames_free(f, n);
		/* only its header written */
		restore(&v);
		hy_write_at(v.path, z, last_len - SHMSTAT_HF_REC_HDR, last_off + SHMSTAT_HF_REC_HDR);
		assert_int_equal(read_all(v.path, NULL), VN - 1);
	}
	/* garbage over its tail, over its header, in the middle */
	restore(&v);
	hy_write_at(v.path, junk, 100, last_off + last_len - 100);
	assert_int_equal(read_all(v.path, NULL), VN - 1);
	restore(&v);
	flip(v.path, last_off, 16);
	assert_int_equal(read_all(v.path, NULL), VN - 1);
	restore(&v);
	flip(v.path, last_off + last_len / 2, 1);
	assert_int_equal(read_all(v.path, NULL), VN - 1);
	/* a record in the middle damaged: only the newer ones remain (a
	 * crash tears the last record only; this is damage, and what is
	 * before the hole is not the newest run) */
	restore(&v);
	flip(v.path, ring + v.rec_off[10] + 40, 1);
	n = read_all(v.path, &f);
	assert_int_equal(n, VN - 11);
	for (size_t i = 0; i < n; i++)
		hy_check_frame(f[i], &v.exp[11 + i], "");
	shmstat_frames_free(f, n);

	/* a writer after a torn record writes in its place and goes on */
	restore(&v);
	hy_write_at(v.path, junk, 100, last_off + last_len - 100);
	{
		const char *name = ut_name("hist-torn-w");
		struct shmstat__hf_tier_stat ts;
		shmstat_history *w;
		struct hy_exp e[2];
		struct hy_seg s;

		hy_seg_open(&s, name);
		assert_int_equal(shmstat_history_create(v.path, NULL, &w), 0);
		for (unsigned i = 0; i < 2; i++) {
			shmstat_snap *sn;

			hy_seg_step(&s, i);
			sn = hy_snap(&s);
			hy_expect(&e[i], sn, HY_T0 + (VN - 1 + i) * HY_S, 8);
			/* the torn record's time is free again */
			assert_int_equal(shmstat_history_append(w, sn, HY_T0 + (VN - 1 + i) * HY_S,
								NULL), 0);
			shmstat_snap_free(sn);
		}
		assert_int_equal(shmstat__history_tier_stat(w, 0, &ts), 0);
		assert_int_equal(ts.records, VN + 1);
		shmstat_history_close(w);
		n = read_all(v.path, &f);
		assert_int_equal(n, VN + 1);
		check_first(f, VN - 1, &v);
		hy_check_frame(f[VN - 1], &e[0], "");
		hy_check_frame(f[VN], &e[1], "");
		shmstat_frames_free(f, n);
		hy_expect_free(&e[0]);
		hy_expect_free(&e[1]);
		hy_seg_close(&s);
	}
	free_valid(&v);
}

/* The file shrinks under a reader: an error, not a SIGBUS. */
static void test_truncated_under_reader(void **state)
{
	static struct valid v;        /* megabytes: not on the stack */
	shmstat_history *h;
	shmstat_frame **f;
	size_t n;

	(void)state;
	make_valid(&v, "shrink.shmhist");
	assert_int_equal(shmstat_history_open(v.path, &h), 0);
	assert_int_equal(truncate(v.path, 8192), 0);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), SHMSTAT_ETRUNCATED);
	hy_check_error(v.path);
	hy_check_error("truncated");
	assert_int_equal(n, 0);
	assert_null(f);
	shmstat_history_close(h);
	expect_open_error(v.path, SHMSTAT_ETRUNCATED, "truncated");
	free_valid(&v);
}

/* ----------------------------------------------------------------- fuzz */

/* Random damage without valid checksums: whatever is read back is exactly
 * what was written, at its time. */
static void test_fuzz_damage(void **state)
{
	static struct valid v;        /* megabytes: not on the stack */
	uint64_t seed = 12345, body, span;

	(void)state;
	make_valid(&v, "fuzz1.shmhist");
	body = v.hdr.dict_off;
	span = v.hdr.tier[0].ring_off + v.rec_off[VN - 1] + v.rec_len[VN - 1] + 64 - body;
	for (int it = 0; it < 300; it++) {
		shmstat_frame **f;
		size_t n;
		int flips = 1 + (int)(rnd(&seed) % 8);

		restore(&v);
		for (int k = 0; k < flips; k++) {
			uint64_t at = body + rnd(&seed) % span;
			unsigned char b;

			hy_read_at(v.path, &b, 1, at);
			b ^= (unsigned char)(1u << (rnd(&seed) % 8));
			if (rnd(&seed) % 4 == 0)
				b = (unsigned char)rnd(&seed);
			hy_write_at(v.path, &b, 1, at);
		}
		n = read_all(v.path, &f);
		assert_true(n <= VN);
		for (size_t i = 0; i < n; i++) {
			struct shmstat_frame_info fi;

			shmstat_frame_info(f[i], &fi);
			assert_true(fi.time_ns >= HY_T0 && fi.time_ns < HY_T0 + VN * HY_S);
			hy_check_frame(f[i], &v.exp[(fi.time_ns - HY_T0) / HY_S], "");
		}
		shmstat_frames_free(f, n);
	}
	free_valid(&v);
}

/* Write @len bytes at @p as a record (its header filled here) of ring
 * @k at ring offset @off. */
static void forge_record(const char *path, const struct shmstat_hf_hdr *hd, unsigned k,
			 uint64_t off, unsigned char *p, uint32_t len, uint64_t seq, uint64_t t)
{
	struct shmstat_hf_rec rh = { SHMSTAT_HF_REC_MAGIC, len, 0, seq, t };

	memcpy(p, &rh, sizeof(rh));
	rh.sum = shmstat__hf_sum(p, len, hd->seed, k);
	memcpy(p, &rh, sizeof(rh));
	hy_write_at(path, p, len, hd->tier[k].ring_off + off);
}

static void forge_entry(const char *path, const struct shmstat_hf_hdr *hd, uint64_t off,
			unsigned char *p, uint32_t len, uint64_t index)
{
	struct shmstat_hf_ent eh = { SHMSTAT_HF_ENT_MAGIC, len, 0, index };

	memcpy(p, &eh, sizeof(eh));
	eh.sum = shmstat__hf_sum(p, len, hd->seed, SHMSTAT_HF_AREA_DICT);
	memcpy(p, &eh, sizeof(eh));
	hy_write_at(path, p, len, hd->dict_off + off);
}

/* Mutations of records and dictionary entries, checksums made valid
 * again: decoded or left out, never a crash; a writer then goes on. */
static void test_fuzz_forged(void **state)
{
	static struct valid v;        /* megabytes: not on the stack */
	uint64_t seed = 999;
	unsigned char buf[1 << 16];
	uint64_t dict_used = 0;
	struct hy_seg s;

	(void)state;
	make_valid(&v, "fuzz2.shmhist");
	hy_seg_open(&s, ut_name("hist-forged-w"));
	/* the dictionary's entries */
	uint64_t ent_off[64];
	uint32_t ent_len[64];
	size_t nent = 0;

	while (nent < 64) {
		struct shmstat_hf_ent eh;

		memcpy(&eh, v.bytes + v.hdr.dict_off + dict_used, sizeof(eh));
		if (eh.magic != SHMSTAT_HF_ENT_MAGIC)
			break;
		ent_off[nent] = dict_used;
		ent_len[nent++] = eh.len;
		dict_used += eh.len;
	}
	assert_true(nent >= 8);                      /* 7 series and a schema */
	for (int it = 0; it < 600; it++) {
		int on_dict = it % 3 == 0, flips = 1 + (int)(rnd(&seed) % 4);
		size_t pick;
		uint32_t len;

		restore(&v);
		if (on_dict) {
			pick = rnd(&seed) % nent;
			len = ent_len[pick];
			memcpy(buf, v.bytes + v.hdr.dict_off + ent_off[pick], len);
		} else {
			pick = VN - 1 - rnd(&seed) % 3;
			len = v.rec_len[pick];
			memcpy(buf, v.bytes + v.hdr.tier[0].ring_off + v.rec_off[pick], len);
		}
		for (int k = 0; k < flips; k++) {
			size_t hdr = on_dict ? SHMSTAT_HF_ENT_HDR : SHMSTAT_HF_REC_HDR;
			size_t at = hdr + rnd(&seed) % (len - hdr), cut;

			switch (rnd(&seed) % 5) {
			case 0:
				buf[at] = (unsigned char)rnd(&seed);
				break;
			case 1:         /* bytes taken out: the varints shift */
				cut = 1 + rnd(&seed) % 16;
				if (at + cut < len) {
					memmove(buf + at, buf + at + cut, len - at - cut);
					memset(buf + len - cut, 0, cut);
				}
				break;
			case 2:         /* bytes put in (the record may grow) */
				cut = 1 + rnd(&seed) % 16;
				if (len + cut + 8 < sizeof(buf)) {
					size_t grown = (len + cut + 7) & ~(size_t)7;

					memmove(buf + at + cut, buf + at, len - at);
					for (size_t j = 0; j < cut; j++)
						buf[at + j] = (unsigned char)rnd(&seed);
					/* the padding to 8 bytes: zeros, not stack garbage */
					memset(buf + len + cut, 0, grown - len - cut);
					len = (uint32_t)grown;
				}
				break;
			default:
				buf[at] ^= (unsigned char)(1u << (rnd(&seed) % 8));
				break;
			}
		}
		if (on_dict) {
			struct shmstat_hf_ent eh;

			memcpy(&eh, buf, sizeof(eh));
			forge_entry(v.path, &v.hdr, ent_off[pick], buf, len, eh.index);
		} else {
			struct shmstat_hf_rec rh;

			memcpy(&rh, buf, sizeof(rh));
			forge_record(v.path, &v.hdr, 0, v.rec_off[pick], buf, len, rh.seq, rh.time_ns);
		}
		(void)read_all(v.path, NULL);
		if (it % 10 == 0) {
			/* a writer on the forged file: what it appends reads back */
			shmstat_history *w;
			shmstat_snap *sn;
			shmstat_frame **f;
			/* static: big (a snapshot's top keys), and this frame
			 * holds a 64 KiB buffer already */
			static struct hy_exp e;
			size_t n;

			assert_int_equal(shmstat_history_create(v.path, NULL, &w), 0);
			hy_seg_step(&s, 0);
			sn = hy_snap(&s);
			hy_expect(&e, sn, HY_T0 + 1000 * HY_S, 8);
			assert_int_equal(shmstat_history_append(w, sn, HY_T0 + 1000 * HY_S, NULL), 0);
			shmstat_snap_free(sn);
			shmstat_history_close(w);
			n = read_all(v.path, &f);
			assert_true(n >= 1);
			hy_check_frame(f[n - 1], &e, "");
			shmstat_frames_free(f, n);
			hy_expect_free(&e);
		}
	}
	hy_seg_close(&s);
	free_valid(&v);
}

/* ----------------------------------------------- forged by hand, field by field */

struct craft {
	unsigned char b[8192];
	size_t n;
};

static void c_u8(struct craft *c, unsigned v)
{
	c->b[c->n++] = (unsigned char)v;
}

static void c_v(struct craft *c, uint64_t v)
{
	do {
		c_u8(c, (unsigned)(v & 0x7f) | (v >> 7 ? 0x80u : 0));
		v >>= 7;
	} while (v);
}

static void c_f64(struct craft *c, uint64_t v)
{
	memcpy(c->b + c->n, &v, 8);
	c->n += 8;
}

static void c_str(struct craft *c, const char *s, size_t n)
{
	c_v(c, n);
	memcpy(c->b + c->n, s, n);
	c->n += n;
}

static uint64_t c_zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Payload @c (after a header of @hdr bytes) padded to 8: its full length. */
static uint32_t c_frame(struct craft *c, size_t hdr, unsigned char *out)
{
	size_t len = (hdr + c->n + 7) & ~(size_t)7;

	memset(out, 0, len);
	memcpy(out + hdr, c->b, c->n);
	return (uint32_t)len;
}

/* Series entries: counter "c", gauge "g" (max), histogram "h" (bits 4,
 * 1 .. 1000), sigtable "t"; a schema [c, g, h, t] with reg ids 5, 6, 7,
 * 9. Entries 0..4. */
static void craft_series_h(struct craft *c, unsigned type, unsigned agg, const char *name,
			   uint64_t lowest, uint64_t highest)
{
	c->n = 0;
	c_u8(c, 1);
	c_u8(c, type);
	c_u8(c, agg);
	if (type == SHMSTAT_HISTOGRAM) {
		c_v(c, 4);
		c_v(c, lowest);
		c_v(c, highest);
	}
	c_str(c, name, strlen(name));
	c_str(c, "k=\"v\"", 5);
	c_str(c, "help", 4);
	c_str(c, "", 0);
}

static void craft_series(struct craft *c, unsigned type, unsigned agg, const char *name)
{
	craft_series_h(c, type, agg, name, 1, 1000);
}

/* @inline_last: 0 entry 3, 1 the table inline, 2 inline with type 9 */
static void craft_schema_body(struct craft *c, int inline_last)
{
	c_v(c, 4);
	c_v(c, 0 << 1);            /* entry 0 */
	c_v(c, c_zz(5));
	c_v(c, 0 << 1);            /* entry 1 */
	c_v(c, c_zz(1));
	c_v(c, 0 << 1);            /* entry 2 */
	c_v(c, c_zz(1));
	if (inline_last) {
		struct craft s;

		craft_series(&s, SHMSTAT_SIGTABLE, 0, "t");
		if (inline_last == 2)
			s.b[1] = 9;
		c_v(c, 1);
		c_str(c, (const char *)s.b, s.n);
	} else {
		c_v(c, 0 << 1);    /* entry 3 */
	}
	c_v(c, c_zz(2));
}

/* A file with that dictionary; its header into @hd. */
static void craft_file(const char *path, struct shmstat_hf_hdr *hd)
{
	struct shmstat_history_opts o = hy_opts(64 << 10, 8, UINT64_C(1), UINT64_C(100),
						UINT64_C(0));
	unsigned char out[8192];
	struct craft c;
	uint64_t off = 0;
	shmstat_history *h;
	uint32_t len;

	unlink(path);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	hy_read_hdr(path, hd);
	craft_series(&c, SHMSTAT_COUNTER, 0, "c");
	len = c_frame(&c, SHMSTAT_HF_ENT_HDR, out);
	forge_entry(path, hd, off, out, len, 0);
	off += len;
	craft_series(&c, SHMSTAT_GAUGE, SHMSTAT_AGG_MAX, "g");
	len = c_frame(&c, SHMSTAT_HF_ENT_HDR, out);
	forge_entry(path, hd, off, out, len, 1);
	off += len;
	craft_series(&c, SHMSTAT_HISTOGRAM, 0, "h");
	len = c_frame(&c, SHMSTAT_HF_ENT_HDR, out);
	forge_entry(path, hd, off, out, len, 2);
	off += len;
	craft_series(&c, SHMSTAT_SIGTABLE, 0, "t");
	len = c_frame(&c, SHMSTAT_HF_ENT_HDR, out);
	forge_entry(path, hd, off, out, len, 3);
	off += len;
	c.n = 0;
	c_u8(&c, 2);
	craft_schema_body(&c, 0);
	len = c_frame(&c, SHMSTAT_HF_ENT_HDR, out);
	forge_entry(path, hd, off, out, len, 4);
}

/* What can be wrong in a valid record's payload. */
enum flaw {
	F_NONE, F_KIND, F_SCHEMA_FAR, F_SCHEMA_SERIES, F_SCHEMA_ODD, F_INLINE,
	F_INLINE_BAD, F_SHORT, F_TRAIL, F_TRAIL_ZEROS, F_SEG_NUL, F_SEG_LONG,
	F_VARINT_LONG, F_VARINT_TOP, F_GAUGE_HV, F_RUN_GAP, F_RUN_ZERO, F_RUN_LONG,
	F_RUNS_MANY, F_KEYS_MANY, F_PREFIX_LONG, F_OWNER_NUL, F_KEYLEN,
	F_COUNT
};

/* A payload: counter 12345, gauge -7 (has a value), histogram with
 * sum 3000, max 900, min 100, under 1, over 2, buckets 3 and 5 (runs:
 * gap 3 len 1 [4], gap 1 len 1 [6]), table 10 hits 2 misses 30 weight
 * 1 eviction, no unsummarized event, a largest error of 4, one owner
 * "own" (10, 2, 30), one key "ab\0c" of 9 bytes owned by "own" with
 * errors 4 and 7; with @flaw. */
static void craft_payload(struct craft *c, enum flaw flaw)
{
	c->n = 0;
	c_u8(c, flaw == F_KIND ? 2 : 1);
	c_f64(c, UINT64_C(0x1122334455667788));
	if (flaw == F_SEG_NUL)
		c_str(c, "se\0g", 4);
	else if (flaw == F_SEG_LONG) {
		char s[300];

		memset(s, 'a', sizeof(s));
		c_str(c, s, sizeof(s));
	} else
		c_str(c, "seg", 3);
	if (flaw == F_SCHEMA_FAR)
		c_v(c, 1000u << 1);
	else if (flaw == F_SCHEMA_SERIES)
		c_v(c, 0u << 1);
	else if (flaw == F_SCHEMA_ODD)
		c_v(c, 3);
	else if (flaw == F_INLINE || flaw == F_INLINE_BAD) {
		c_v(c, 1);
		craft_schema_body(c, flaw == F_INLINE_BAD ? 2 : 1);
	} else
		c_v(c, 4u << 1);
	/* counter */
	if (flaw == F_VARINT_LONG) {
		for (int k = 0; k < 10; k++)
			c_u8(c, 0x80);
		c_u8(c, 0);
	} else if (flaw == F_VARINT_TOP) {
		for (int k = 0; k < 9; k++)
			c_u8(c, 0xff);
		c_u8(c, 0x02);
	} else
		c_v(c, 12345);
	/* gauge */
	c_v(c, flaw == F_GAUGE_HV ? 2 : 1);
	c_v(c, c_zz(-7));
	/* histogram: bits 4, highest 1000: 4 * 2^3 + ... buckets */
	c_v(c, 3000);
	c_v(c, 900);
	c_v(c, 101);
	c_v(c, 1);
	c_v(c, 2);
	if (flaw == F_RUNS_MANY) {
		c_v(c, 1000);
	} else {
		c_v(c, 2);
		c_v(c, flaw == F_RUN_GAP ? 1000 : 3);
		c_v(c, flaw == F_RUN_ZERO ? 0 : flaw == F_RUN_LONG ? 500 : 1);
		c_v(c, 3);
		c_v(c, 1);
		c_v(c, 1);
		c_v(c, 5);
	}
	if (flaw == F_SHORT)
		return;
	/* table: totals, unsummarized, max error, one owner */
	c_v(c, 10);
	c_v(c, 2);
	c_v(c, 30);
	c_v(c, 1);
	c_v(c, 0);
	c_v(c, 4);
	c_v(c, 1);
	c_str(c, "own", 3);
	c_v(c, 10);
	c_v(c, 2);
	c_v(c, 30);
	c_v(c, flaw == F_KEYS_MANY ? 5000 : 1);
	c_f64(c, UINT64_C(0xabcdef));
	if (flaw == F_PREFIX_LONG) {
		char p[140];

		memset(p, 'p', sizeof(p));
		c_str(c, p, sizeof(p));
	} else
		c_str(c, "ab\0c", 4);
	c_v(c, flaw == F_KEYLEN ? UINT64_C(1) << 40 : 9);
	if (flaw == F_OWNER_NUL)
		c_str(c, "o\0n", 3);
	else
		c_str(c, "own", 3);
	c_v(c, 10);
	c_v(c, 2);
	c_v(c, 30);
	c_v(c, 4);
	c_v(c, 7);
	if (flaw == F_TRAIL)
		c_u8(c, 1);
	if (flaw == F_TRAIL_ZEROS)
		for (int k = 0; k < 8; k++)
			c_u8(c, 0);
}

static void check_crafted(shmstat_frame *f, int inl)
{
	struct shmstat_frame_info fi;
	struct shmstat_series s;
	struct shmstat_hstats st;
	struct shmstat_sigkey k;
	shmstat_hdata *hd;
	uint64_t lo, hi, cnt;

	shmstat_frame_info(f, &fi);
	assert_int_equal(fi.time_ns, HY_T0);
	assert_int_equal(fi.generation, UINT64_C(0x1122334455667788));
	assert_string_equal(fi.segment, "seg");
	assert_int_equal(fi.series, 4);
	assert_int_equal(shmstat_frame_series(f, 0, &s), 0);
	assert_string_equal(s.name, "c");
	assert_string_equal(s.labels, "k=\"v\"");
	assert_string_equal(s.help, "help");
	assert_int_equal(s.type, SHMSTAT_COUNTER);
	assert_int_equal(s.reg_id, 5);
	assert_int_equal(s.counter, 12345);
	assert_int_equal(shmstat_frame_series(f, 1, &s), 0);
	assert_int_equal(s.type, SHMSTAT_GAUGE);
	assert_int_equal(s.agg, SHMSTAT_AGG_MAX);
	assert_int_equal(s.reg_id, 6);
	assert_int_equal(s.gauge, -7);
	assert_int_equal(s.has_value, 1);
	assert_int_equal(shmstat_frame_series(f, 2, &s), 0);
	assert_int_equal(s.type, SHMSTAT_HISTOGRAM);
	assert_int_equal(s.reg_id, 7);
	assert_int_equal(s.counter, 1 + 2 + 3 + 5);
	assert_int_equal(shmstat_frame_hist(f, 2, &hd), 0);
	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.count, 11);
	assert_int_equal(st.sum, 3000);
	assert_int_equal(st.max, 900);
	assert_int_equal(st.min, 100);
	assert_int_equal(st.underflow, 1);
	assert_int_equal(st.overflow, 2);
	assert_int_equal(st.bits, 4);
	assert_int_equal(st.highest, 1000);
	assert_int_equal(shmstat_hdata_bucket(hd, 3, &lo, &hi, &cnt), 0);
	assert_int_equal(cnt, 3);
	assert_int_equal(shmstat_hdata_bucket(hd, 5, &lo, &hi, &cnt), 0);
	assert_int_equal(cnt, 5);
	assert_int_equal(shmstat_hdata_bucket(hd, 4, &lo, &hi, &cnt), 0);
	assert_int_equal(cnt, 0);
	shmstat_hdata_free(hd);
	assert_int_equal(shmstat_frame_series(f, 3, &s), 0);
	assert_string_equal(s.name, "t");
	assert_int_equal(s.type, SHMSTAT_SIGTABLE);
	assert_int_equal(s.reg_id, 9);
	assert_int_equal(s.counter, 10);
	assert_int_equal(s.sig_hits, 10);
	assert_int_equal(s.sig_misses, 2);
	assert_int_equal(s.sig_weight, 30);
	assert_int_equal(s.sig_evictions, 1);
	assert_int_equal(s.top, 1);
	assert_int_equal(shmstat_frame_sigkey(f, 3, 0, &k), 0);
	assert_int_equal(k.key_len, 4);
	assert_memory_equal(k.key, "ab\0c", 5);
	assert_int_equal(k.full_len, 9);
	assert_int_equal(k.hash, 0xabcdef);
	assert_string_equal(k.owner, "own");
	assert_int_equal(k.hits, 10);
	assert_int_equal(k.err_hits, 4);
	assert_int_equal(k.err_weight, 7);
	assert_int_equal(s.sig_max_error, 4);
	assert_int_equal(s.sig_unsummarized, 0);
	assert_int_equal(s.owners, 1);
	{
		struct shmstat_sigowner_info oi;

		assert_int_equal(shmstat_frame_sigowner(f, 3, 0, &oi), 0);
		assert_string_equal(oi.name, "own");
		assert_int_equal(oi.hits, 10);
		assert_int_equal(oi.misses, 2);
		assert_int_equal(oi.weight, 30);
		assert_int_equal(shmstat_frame_sigowner(f, 3, 1, &oi), EINVAL);
	}
	(void)inl;
}

static void test_forged_by_hand(void **state)
{
	struct shmstat_hf_hdr hd;
	unsigned char out[8192];
	struct craft c;
	shmstat_frame **f;
	char path[512];
	uint32_t len;
	size_t n;

	(void)state;
	hy_path(path, sizeof(path), "craft.shmhist");
	for (int flaw = F_NONE; flaw < F_COUNT; flaw++) {
		craft_file(path, &hd);
		craft_payload(&c, (enum flaw)flaw);
		len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
		forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);
		n = read_all(path, &f);
		if (flaw == F_NONE || flaw == F_INLINE) {
			if (n != 1)
				fail_msg("a valid payload (%d) was left out", flaw);
			check_crafted(f[0], flaw == F_INLINE);
		} else if (n != 0) {
			fail_msg("payload with flaw %d was read", flaw);
		}
		shmstat_frames_free(f, n);
	}

	/* the records' own fields */
	craft_file(path, &hd);
	craft_payload(&c, F_NONE);
	len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
	forge_record(path, &hd, 0, 0, out, len, 0, HY_T0);          /* seq 0 */
	assert_int_equal(read_all(path, NULL), 0);
	forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);          /* seq 1 */
	assert_int_equal(read_all(path, NULL), 1);
	{
		/* a record of another ring (its checksum says so) */
		struct shmstat_hf_rec rh;

		memcpy(&rh, out, sizeof(rh));
		rh.sum = shmstat__hf_sum(out, len, hd.seed, 1);
		memcpy(out, &rh, sizeof(rh));
		hy_write_at(path, out, len, hd.tier[0].ring_off);
		assert_int_equal(read_all(path, NULL), 0);
	}
	/* seqs 1, 2, 4: only 4 (the run down from the newest) */
	craft_file(path, &hd);
	forge_record(path, &hd, 0, 0, out, len, 1, HY_T0 - 2 * HY_S);
	forge_record(path, &hd, 0, len, out, len, 2, HY_T0 - HY_S);
	forge_record(path, &hd, 0, 2 * len, out, len, 4, HY_T0);
	assert_int_equal(read_all(path, NULL), 1);
	/* seqs 1, 2, 3 with time going back at 3: 3 alone */
	forge_record(path, &hd, 0, 2 * len, out, len, 3, HY_T0 - 5 * HY_S);
	assert_int_equal(read_all(path, NULL), 1);
	/* 1, 2, 3 in order: all */
	forge_record(path, &hd, 0, 2 * len, out, len, 3, HY_T0);
	assert_int_equal(read_all(path, NULL), 3);
	/* out of place in the ring does not matter: 3, 1, 2 */
	craft_file(path, &hd);
	forge_record(path, &hd, 0, 0, out, len, 3, HY_T0);
	forge_record(path, &hd, 0, len, out, len, 1, HY_T0 - 2 * HY_S);
	forge_record(path, &hd, 0, 2 * len, out, len, 2, HY_T0 - HY_S);
	n = read_all(path, &f);
	assert_int_equal(n, 3);
	check_crafted(f[2], 0);
	shmstat_frames_free(f, n);

	/* dictionary entries: bad series, a schema naming a later entry,
	 * indexes out of order */
	{
		struct craft e;
		uint64_t off;
		struct shmstat_hf_ent eh;

		for (int bad = 0; bad < 7; bad++) {
			craft_file(path, &hd);
			off = 0;
			for (int k = 0; k < 2; k++) {
				hy_read_at(path, &eh, sizeof(eh), hd.dict_off + off);
				off += eh.len;
			}
			/* entry 2, the histogram, replaced */
			craft_series(&e, SHMSTAT_HISTOGRAM, 0, "h");
			switch (bad) {
			case 0: e.b[3] = 0; break;             /* bits 0 */
			case 1: e.b[3] = 17; break;            /* bits 17 */
			case 2: e.b[1] = 9; break;             /* type 9 */
			case 3: e.b[2] = 8; break;             /* agg 8 */
			case 4: craft_series_h(&e, SHMSTAT_HISTOGRAM, 0, "h", 2000, 1000);
				break;                         /* lowest > highest */
			case 5: e.b[8] = 0; break;             /* a NUL in the name */
			case 6: e.b[0] = 2; break;             /* a schema of junk */
			}
			len = c_frame(&e, SHMSTAT_HF_ENT_HDR, out);
			forge_entry(path, &hd, off, out, len, 2);
			craft_payload(&c, F_NONE);
			len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
			forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);
			if (read_all(path, NULL) != 0)
				fail_msg("a schema naming a bad series entry (%d) was used", bad);
		}
		/* the schema names itself: left out */
		craft_file(path, &hd);
		off = 0;
		for (int k = 0; k < 4; k++) {
			hy_read_at(path, &eh, sizeof(eh), hd.dict_off + off);
			off += eh.len;
		}
		e.n = 0;
		c_u8(&e, 2);
		c_v(&e, 1);
		c_v(&e, c_zz(4) << 1);
		c_v(&e, 0);
		len = c_frame(&e, SHMSTAT_HF_ENT_HDR, out);
		forge_entry(path, &hd, off, out, len, 4);
		craft_payload(&c, F_NONE);
		len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
		forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);
		assert_int_equal(read_all(path, NULL), 0);
		/* an entry whose index is not its rank ends the dictionary */
		craft_file(path, &hd);
		hy_read_at(path, &eh, sizeof(eh), hd.dict_off);
		craft_series(&e, SHMSTAT_COUNTER, 0, "c");
		len = c_frame(&e, SHMSTAT_HF_ENT_HDR, out);
		forge_entry(path, &hd, eh.len, out, len, 7);
		craft_payload(&c, F_NONE);
		len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
		forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);
		assert_int_equal(read_all(path, NULL), 0);
	}
}

/* Owners that share a name (a forged file; or two claims of one name
 * racing): an owner's figures over a window are the first's with the
 * name, in every frame, as a walk of the owners in order finds it. */
#define DUP_OWNERS 300

static const char *dup_name(char *buf, size_t n, unsigned k)
{
	if (k % 50 == 7)
		buf[0] = '\0';                        /* unnamed, several times */
	else
		snprintf(buf, n, "acct-%u", k % 120);   /* slots 120 .. dup 0 .. */
	return buf;
}

/* A payload of the crafted file (schema [c, g, h, t]) whose table has
 * DUP_OWNERS owners, owner k with @mul x (k + 1) hits, as many misses,
 * and a weight of @mul x (k + 1) x 10. */
static void craft_dup_payload(struct craft *c, uint64_t mul)
{
	char name[32];

	c->n = 0;
	c_u8(c, 1);
	c_f64(c, UINT64_C(0x1122334455667788));
	c_str(c, "seg", 3);
	c_v(c, 4u << 1);
	c_v(c, 1);                                    /* counter */
	c_v(c, 0);                                    /* gauge: no value */
	c_v(c, 0);
	for (int k = 0; k < 6; k++)                   /* histogram: empty */
		c_v(c, 0);
	for (int k = 0; k < 6; k++)                   /* table totals */
		c_v(c, 0);
	c_v(c, DUP_OWNERS);
	for (unsigned k = 0; k < DUP_OWNERS; k++) {
		dup_name(name, sizeof(name), k);
		c_str(c, name, strlen(name));
		c_v(c, mul * (k + 1));
		c_v(c, mul * (k + 1));
		c_v(c, mul * (k + 1) * 10);
	}
	c_v(c, 0);                                    /* no top keys */
}

static void test_owner_names_shared(void **state)
{
	struct shmstat_hf_hdr hd;
	unsigned char out[8192];
	struct craft c;
	shmstat_frame **f;
	char path[512], name[32];
	uint32_t len, len1;
	size_t n;

	(void)state;
	hy_path(path, sizeof(path), "dup.shmhist");
	craft_file(path, &hd);
	craft_dup_payload(&c, 1);
	len1 = len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
	forge_record(path, &hd, 0, 0, out, len, 1, HY_T0);
	craft_dup_payload(&c, 3);
	len = c_frame(&c, SHMSTAT_HF_REC_HDR, out);
	forge_record(path, &hd, 0, len1, out, len, 2, HY_T0 + HY_S);
	n = read_all(path, &f);
	assert_int_equal(n, 2);
	for (unsigned k = 0; k <= DUP_OWNERS; k++) {
		struct shmstat_wquery qy = { .name = "t", .fig = SHMSTAT_FIG_SIG_WEIGHT };
		struct shmstat_wvalue v;
		struct shmstat_sigowner_info oi;
		unsigned first;

		/* the reference: the first owner with the name, in order */
		if (k < DUP_OWNERS)
			qy.owner = dup_name(name, sizeof(name), k);
		else
			qy.owner = "acct-none";
		for (first = 0; first < DUP_OWNERS; first++) {
			assert_int_equal(shmstat_frame_sigowner(f[1], 3, first, &oi), 0);
			if (strcmp(oi.name, qy.owner) == 0)
				break;
		}
		assert_int_equal(shmstat_window(f, n, &qy, HY_T0, HY_T0 + HY_S, &v), 0);
		if (first == DUP_OWNERS) {
			assert_false(v.has_value);
			assert_string_equal(v.why, "no such series in the window");
			continue;
		}
		assert_true(first <= k);
		assert_true(v.has_value);
		assert_true(v.value == (double)(2 * (first + 1) * 10));
		qy.fig = SHMSTAT_FIG_SIG_HITS;
		assert_int_equal(shmstat_window(f, n, &qy, HY_T0, HY_T0 + HY_S, &v), 0);
		assert_true(v.value == (double)(2 * (first + 1)));
		assert_int_equal(v.samples, 4 * (first + 1));
	}
	shmstat_frames_free(f, n);
}

/* A ring full of record headers that claim the rest of the ring: the
 * work is bounded (two passes of hashing), then the rest is ignored. */
static void test_scan_bound(void **state)
{
	struct shmstat_hf_hdr hd;
	static struct valid v;        /* megabytes: not on the stack */
	unsigned char *ring;

	(void)state;
	make_valid(&v, "bound.shmhist");
	hd = v.hdr;
	ring = calloc(1, hd.tier[0].ring_len);
	assert_non_null(ring);
	for (uint64_t off = 0; off + 32 <= hd.tier[0].ring_len; off += 8) {
		struct shmstat_hf_rec rh = { SHMSTAT_HF_REC_MAGIC,
					     (uint32_t)(hd.tier[0].ring_len - off), off, 1, 1 };

		if (rh.len >= 40)
			memcpy(ring + off, &rh, sizeof(rh));
	}
	hy_write_at(v.path, ring, hd.tier[0].ring_len, hd.tier[0].ring_off);
	assert_int_equal(read_all(v.path, NULL), 0);
	free(ring);
	free_valid(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_headers, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_torn, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_under_reader, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_damage, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_forged, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_forged_by_hand, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_owner_names_shared, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_scan_bound, hy_setup, hy_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
