/*
 * hy_util.h - helpers shared by the history-file tests: a private
 * directory for the files, a test segment holding every kind of metric
 * and driven step by step (deterministically), and what a snapshot held,
 * kept to compare the frames read back with.
 *
 * The checking helpers assert with cmocka: use them in the test process
 * only (children check with CHILD_CHECK or exit codes).
 */
#ifndef HY_UTIL_H
#define HY_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "history.h"
#include "ut_common.h"

#define HY_S   UINT64_C(1000000000)
#define HY_T0  (UINT64_C(1700000000) * HY_S)   /* a synthetic clock's start */

/* ------------------------------------------------------------ files */

/* A new private directory for history files into @dir. */
static inline void hy_dir_make(char *dir, size_t n)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, n, "%s/shmstat-history-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp(%s): %s", dir, strerror(errno));
}

/* Remove @dir and every file in it. */
static inline void hy_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[512];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	closedir(d);
	rmdir(dir);
}

/* The test's private directory: made before each test and removed after
 * it (cmocka setup and teardown), and a file in it. */
static char hy_dir[256] __attribute__((unused));

static inline int hy_setup(void **state)
{
	hy_dir_make(hy_dir, sizeof(hy_dir));
	return ut_setup(state);
}

static inline int hy_teardown(void **state)
{
	hy_dir_remove(hy_dir);
	return ut_teardown(state);
}

static inline void hy_path(char *p, size_t n, const char *file)
{
	snprintf(p, n, "%s/%s", hy_dir, file);
}

/* Number of entries in @dir (not . and ..). */
static inline int hy_dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static inline uint64_t hy_file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return UINT64_MAX;
	return (uint64_t)st.st_size;
}

/* The header of history file @path. */
static inline void hy_read_hdr(const char *path, struct shmstat_hf_hdr *h)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
	close(fd);
}

static inline void hy_write_at(const char *path, const void *p, size_t n, uint64_t off)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static inline void hy_read_at(const char *path, void *p, size_t n, uint64_t off)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, p, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* Options: one tier per (step, span) pair in seconds, then 0. */
static inline struct shmstat_history_opts hy_opts(uint64_t max_bytes, uint32_t top_keys, ...)
{
	struct shmstat_history_opts o;
	va_list ap;
	uint64_t step;

	shmstat_history_opts_init(&o);
	o.max_bytes = max_bytes;
	o.top_keys = top_keys;
	o.ntiers = 0;
	va_start(ap, top_keys);
	while ((step = va_arg(ap, uint64_t)) != 0) {
		o.tier[o.ntiers].step_ns = step * HY_S;
		o.tier[o.ntiers].span_ns = va_arg(ap, uint64_t) * HY_S;
		o.ntiers++;
	}
	va_end(ap);
	return o;
}

/* ------------------------------------------------------- the segment */

struct hy_seg {
	const char *name;
	shmstat_seg *seg;
	shmstat_reader *r;
	shmstat_counter *req, *req200, *bytes;
	shmstat_gauge *conns, *peak;
	shmstat_hist *lat;
	shmstat_sigtab *keys;
	uint32_t owner_a, owner_b;
	int hist_spread;           /* values of lat: 16 distinct (0), spread
				    * over 1 us .. 3.7 ms (1), 1 ns .. 1 h (2) */
};

/* Open segment @name (created with small capacities) and register: two
 * counters req_total (one with a label), bytes_total, gauges conns (sum)
 * and peak (max, no value until step 2), histogram lat_ns and signature
 * table keys with owners "alice" and "bob". */
static inline void hy_seg_open(struct hy_seg *s, const char *name)
{
	static const char *const l200[] = { "code", "200", NULL };
	struct shmstat_opts o;
	struct shmstat_sigtab_opts so;
	struct shmstat_metric_def d;

	memset(s, 0, sizeof(*s));
	s->name = name;
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 64;
	o.max_values = 8192;
	o.max_threads = 4;
	o.sig_bytes = 4u << 20;
	assert_int_equal(shmstat_open(name, &o, &s->seg), 0);
	d = (struct shmstat_metric_def){ .name = "req_total", .help = "requests", .unit = "" };
	assert_int_equal(shmstat_counter_register(s->seg, &d, &s->req), 0);
	d = (struct shmstat_metric_def){ .name = "req_total", .labels = l200, .help = "requests" };
	assert_int_equal(shmstat_counter_register(s->seg, &d, &s->req200), 0);
	d = (struct shmstat_metric_def){ .name = "bytes_total", .unit = "bytes" };
	assert_int_equal(shmstat_counter_register(s->seg, &d, &s->bytes), 0);
	d = (struct shmstat_metric_def){ .name = "conns" };
	assert_int_equal(shmstat_gauge_register(s->seg, &d, SHMSTAT_AGG_SUM, &s->conns), 0);
	d = (struct shmstat_metric_def){ .name = "peak" };
	assert_int_equal(shmstat_gauge_register(s->seg, &d, SHMSTAT_AGG_MAX, &s->peak), 0);
	d = (struct shmstat_metric_def){ .name = "lat_ns", .unit = "ns", .help = "latency" };
	assert_int_equal(shmstat_hist_register(s->seg, &d, NULL, &s->lat), 0);
	shmstat_sigtab_opts_init(&so);
	so.capacity = 64;
	so.owners = 4;
	so.summaries = 2;
	d = (struct shmstat_metric_def){ .name = "keys" };
	assert_int_equal(shmstat_sigtab_register(s->seg, &d, &so, &s->keys), 0);
	assert_int_equal(shmstat_sig_owner(s->keys, "alice", &s->owner_a), 0);
	assert_int_equal(shmstat_sig_owner(s->keys, "bob", &s->owner_b), 0);
	assert_int_equal(shmstat_reader_open(name, &s->r), 0);
}

static inline void hy_seg_close(struct hy_seg *s)
{
	shmstat_reader_close(s->r);
	shmstat_close(s->seg);
	shmstat_unlink(s->name);
	memset(s, 0, sizeof(*s));
}

/* Value @k (0..99) of step @i of the histogram. */
static inline uint64_t hy_lat(const struct hy_seg *s, unsigned i, unsigned k)
{
	if (s->hist_spread == 2) {
		unsigned e = (i * 7 + k * 13) % 41;

		return (UINT64_C(1) << e) + (uint64_t)(i * 977 + k * 131) % (UINT64_C(1) << e);
	}
	if (s->hist_spread)
		return 1000 + (uint64_t)((i * 131 + k * 977) % 100000) * 37;
	return 1000u * (1u + (i + k) % 16u);
}

/* Step @i: deterministic updates of every metric. */
static inline void hy_seg_step(struct hy_seg *s, unsigned i)
{
	char key[32];

	shmstat_counter_add(s->req, i + 1);
	shmstat_counter_add(s->req200, 2u * i);
	shmstat_counter_add(s->bytes, 1000u * i + 7);
	shmstat_gauge_set(s->conns, (int64_t)(i % 7) - 3);
	if (i >= 2)
		shmstat_gauge_set(s->peak, (int64_t)i * 3);
	for (unsigned k = 0; k < 100; k++)
		shmstat_hist_record(s->lat, hy_lat(s, i, k));
	if (i % 5 == 0)
		shmstat_hist_record(s->lat, 0);                       /* underflow */
	if (i % 7 == 0)
		shmstat_hist_record(s->lat, UINT64_C(4000000000000)); /* overflow */
	shmstat_sig_hit(s->keys, "hot-key", 7, 10, s->owner_a);
	for (unsigned k = 0; k < i + 4; k++)
		shmstat_sig_hit(s->keys, "hot-key", 7, 10, s->owner_a);
	snprintf(key, sizeof(key), "warm-key-%u", i % 3);
	shmstat_sig_hit(s->keys, key, strlen(key), 3, s->owner_b);
	shmstat_sig_hit(s->keys, key, strlen(key), 3, s->owner_b);
	snprintf(key, sizeof(key), "cold-%u", i);
	shmstat_sig_miss(s->keys, key, strlen(key), 0);
}

static inline shmstat_snap *hy_snap(struct hy_seg *s)
{
	shmstat_snap *sn = NULL;
	int err = shmstat_snapshot(s->r, &sn);

	if (err)
		fail_msg("snapshot of %s: %s", s->name, shmstat_last_error());
	return sn;
}

/* ------------------------------------------------- what a snapshot held */

#define HY_MAX_METRICS 16
#define HY_MAX_KEYS 32

struct hy_key {
	char key[140];
	uint32_t key_len, full_len;
	uint64_t hash, hits, misses, weight, err_hits, err_weight;
	char owner[64];
};

struct hy_metric {
	char name[128], labels[256], help[96], unit[40];
	enum shmstat_type type;
	enum shmstat_agg agg;
	uint64_t reg_id, counter;
	int64_t gauge;
	int has_value;
	shmstat_hdata *hd;
	struct shmstat_sigstats ss;
	size_t ntop;
	struct hy_key top[HY_MAX_KEYS];
};

struct hy_exp {
	uint64_t time_ns, generation;
	size_t n;
	struct hy_metric m[HY_MAX_METRICS];
};

/* What snapshot @sn holds, with @top_keys keys per table. */
static inline void hy_expect(struct hy_exp *e, const shmstat_snap *sn, uint64_t time_ns,
			     unsigned top_keys)
{
	struct shmstat_seg_info si;

	memset(e, 0, sizeof(*e));
	shmstat_snap_info(sn, &si);
	e->time_ns = time_ns;
	e->generation = si.generation;
	e->n = shmstat_snap_metrics(sn);
	assert_true(e->n <= HY_MAX_METRICS);
	for (size_t i = 0; i < e->n; i++) {
		struct shmstat_metric_info mi;
		struct hy_metric *m = &e->m[i];

		assert_int_equal(shmstat_snap_metric(sn, i, &mi), 0);
		snprintf(m->name, sizeof(m->name), "%s", mi.name);
		snprintf(m->labels, sizeof(m->labels), "%s", mi.labels ? mi.labels : "");
		snprintf(m->help, sizeof(m->help), "%s", mi.help ? mi.help : "");
		snprintf(m->unit, sizeof(m->unit), "%s", mi.unit ? mi.unit : "");
		m->type = mi.type;
		m->agg = mi.agg;
		m->reg_id = mi.reg_id;
		m->counter = mi.counter;
		m->gauge = mi.gauge;
		m->has_value = mi.has_value;
		if (mi.type == SHMSTAT_HISTOGRAM)
			assert_int_equal(shmstat_snap_hist(sn, i, SHMSTAT_PROC_ALL, &m->hd), 0);
		if (mi.type == SHMSTAT_SIGTABLE) {
			shmstat_sigview *v;
			size_t idx[HY_MAX_KEYS];

			assert_int_equal(shmstat_snap_sigtab(sn, i, &v), 0);
			shmstat_sigview_stats(v, &m->ss);
			m->ntop = shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL,
						      top_keys < HY_MAX_KEYS ? top_keys : HY_MAX_KEYS,
						      idx);
			for (size_t k = 0; k < m->ntop; k++) {
				struct shmstat_sigentry se;
				struct hy_key *hk = &m->top[k];

				assert_int_equal(shmstat_sigview_entry(v, idx[k], &se), 0);
				memcpy(hk->key, se.key, se.key_len);
				hk->key_len = se.key_len;
				/* recorded: a key known by its hash alone
				 * has no bytes and a length of at least 1 */
				hk->full_len = se.has_key || se.full_len ? se.full_len : 1;
				hk->hash = se.hash;
				hk->hits = se.hits;
				hk->misses = se.misses;
				hk->weight = se.weight;
				hk->err_hits = se.err_hits;
				hk->err_weight = se.err_weight;
				snprintf(hk->owner, sizeof(hk->owner), "%s", se.owner ? se.owner : "");
			}
			shmstat_sigview_free(v);
		}
	}
}

static inline void hy_expect_free(struct hy_exp *e)
{
	for (size_t i = 0; i < e->n; i++)
		shmstat_hdata_free(e->m[i].hd);
	memset(e, 0, sizeof(*e));
}

/* Two histograms hold the same: stats and every bucket. */
static inline void hy_check_hdata(const shmstat_hdata *a, const shmstat_hdata *b)
{
	struct shmstat_hstats x, y;
	size_t nb = shmstat_hdata_buckets(a);

	shmstat_hdata_stats(a, &x);
	shmstat_hdata_stats(b, &y);
	assert_int_equal(x.count, y.count);
	assert_int_equal(x.sum, y.sum);
	assert_int_equal(x.min, y.min);
	assert_int_equal(x.max, y.max);
	assert_int_equal(x.underflow, y.underflow);
	assert_int_equal(x.overflow, y.overflow);
	assert_int_equal(x.lowest, y.lowest);
	assert_int_equal(x.highest, y.highest);
	assert_int_equal(x.bits, y.bits);
	assert_int_equal(nb, shmstat_hdata_buckets(b));
	for (size_t k = 0; k < nb; k++) {
		uint64_t lo, hi, c1, c2;

		assert_int_equal(shmstat_hdata_bucket(a, k, &lo, &hi, &c1), 0);
		assert_int_equal(shmstat_hdata_bucket(b, k, &lo, &hi, &c2), 0);
		if (c1 != c2)
			fail_msg("bucket %zu: %llu, expected %llu", k, (unsigned long long)c1,
				 (unsigned long long)c2);
	}
}

/* Frame @f holds exactly what @e says, segment named @segment. */
static inline void hy_check_frame(const shmstat_frame *f, const struct hy_exp *e,
				  const char *segment)
{
	struct shmstat_frame_info fi;

	shmstat_frame_info(f, &fi);
	assert_int_equal(fi.time_ns, e->time_ns);
	assert_int_equal(fi.generation, e->generation);
	assert_int_equal(fi.series, e->n);
	if (segment)
		assert_string_equal(fi.segment, segment);
	for (size_t i = 0; i < e->n; i++) {
		const struct hy_metric *m = &e->m[i];
		struct shmstat_series s;
		long j = shmstat_frame_find(f, m->name, m->labels);

		assert_int_equal(j, (long)i);          /* the snapshot's order */
		assert_int_equal(shmstat_frame_series(f, (size_t)j, &s), 0);
		assert_string_equal(s.name, m->name);
		assert_string_equal(s.labels, m->labels);
		assert_string_equal(s.help, m->help);
		assert_string_equal(s.unit, m->unit);
		assert_int_equal(s.type, m->type);
		assert_int_equal(s.reg_id, m->reg_id);
		assert_int_equal(s.has_value, m->has_value);
		if (m->type == SHMSTAT_GAUGE) {
			assert_int_equal(s.agg, m->agg);
			assert_int_equal(s.gauge, m->gauge);
		} else {
			assert_int_equal(s.counter, m->counter);
		}
		if (m->type == SHMSTAT_HISTOGRAM) {
			shmstat_hdata *hd;

			assert_int_equal(shmstat_frame_hist(f, (size_t)j, &hd), 0);
			hy_check_hdata(hd, m->hd);
			shmstat_hdata_free(hd);
		} else {
			shmstat_hdata *hd = NULL;

			assert_int_equal(shmstat_frame_hist(f, (size_t)j, &hd), EINVAL);
			assert_null(hd);
		}
		if (m->type == SHMSTAT_SIGTABLE) {
			assert_int_equal(s.sig_hits, m->ss.hits);
			assert_int_equal(s.sig_misses, m->ss.misses);
			assert_int_equal(s.sig_weight, m->ss.weight);
			assert_int_equal(s.sig_evictions, m->ss.evictions);
			assert_int_equal(s.sig_unsummarized, m->ss.unsummarized);
			assert_int_equal(s.sig_max_error, m->ss.max_error);
			assert_int_equal(s.owners, m->ss.owners);
			assert_int_equal(s.top, m->ntop);
			for (size_t k = 0; k < m->ntop; k++) {
				struct shmstat_sigkey sk;
				const struct hy_key *hk = &m->top[k];

				assert_int_equal(shmstat_frame_sigkey(f, (size_t)j, k, &sk), 0);
				assert_int_equal(sk.key_len, hk->key_len);
				assert_memory_equal(sk.key, hk->key, hk->key_len);
				assert_int_equal(sk.key[sk.key_len], '\0');
				assert_int_equal(sk.full_len, hk->full_len);
				assert_int_equal(sk.hash, hk->hash);
				assert_int_equal(sk.hits, hk->hits);
				assert_int_equal(sk.misses, hk->misses);
				assert_int_equal(sk.weight, hk->weight);
				assert_int_equal(sk.err_hits, hk->err_hits);
				assert_int_equal(sk.err_weight, hk->err_weight);
				assert_string_equal(sk.owner, hk->owner);
			}
			{
				struct shmstat_sigkey sk;

				assert_int_equal(shmstat_frame_sigkey(f, (size_t)j, m->ntop, &sk),
						 EINVAL);
			}
		} else {
			struct shmstat_sigkey sk;

			assert_int_equal(s.top, 0);
			assert_int_equal(shmstat_frame_sigkey(f, (size_t)j, 0, &sk), EINVAL);
		}
	}
	{
		struct shmstat_series s;

		assert_int_equal(shmstat_frame_series(f, e->n, &s), EINVAL);
	}
}

/* The error text is lowercase and names @what. */
static inline void hy_check_error(const char *what)
{
	const char *e = shmstat_last_error();

	if (e[0] == '\0' || !(e[0] >= 'a' && e[0] <= 'z'))
		fail_msg("error text \"%s\" does not start lowercase", e);
	if (what && strstr(e, what) == NULL)
		fail_msg("error text \"%s\" does not mention '%s'", e, what);
}

#endif
