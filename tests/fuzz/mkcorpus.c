/*
 * mkcorpus.c - seed inputs for the fuzzers (tests/fuzz/README in
 * docs/fuzzing.md): small real segments and history files, made with the
 * public API.
 *
 *   mkcorpus SEGDIR HISTDIR
 *
 * Segments are created with tiny capacities (a few pages each) so that
 * every seed stays well under the fuzzers' -max_len; each one is copied
 * byte for byte from /dev/shm/shmstat.NAME into SEGDIR/NAME and removed.
 * They hold counters, gauges of every aggregation, histograms of several
 * layouts (under- and overflow too), signature tables (evictions, owners,
 * batches not yet flushed), live, exited and dead (killed) writers,
 * thread stripes, removed metrics and refused registrations; counts and
 * values near 2^64 (edges).
 *
 * History files (16 to 64 KiB, 1 to 3 tiers) are written into HISTDIR
 * with shmstat_history_append() on a driven clock: wrapped rings, a
 * metric removed and registered again (a new reg_id), a segment
 * re-created (a new generation), a full dictionary (inline schemas), an
 * empty file.
 *
 * Build: with the library's sources, as tests/fuzz/run.sh does (run.sh
 * --corpus DIR makes a fresh set); SEGDIR and HISTDIR must exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_profile.h"

#define NS 1000000000ull

static char segdir[4096], histdir[4096];

static void die(const char *what, int err)
{
	fprintf(stderr, "mkcorpus: %s: %s (%s)\n", what, shmstat_strerror(err),
		shmstat_last_error());
	exit(1);
}

#define CHECK(what, call) do { int e_ = (call); if (e_) die(what, e_); } while (0)

static void small_opts(struct shmstat_opts *o)
{
	shmstat_opts_init(o);
	o->max_procs = 4;
	o->max_metrics = 16;
	o->max_values = 256;
	o->max_threads = 4;
	o->sig_bytes = 16 << 10;
	o->max_stacks = 4;
	o->max_modules = 4;
}

static char *segname(const char *tag)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "mkcorpus-%d-%s", (int)getpid(), tag);
	return buf;
}

/* /dev/shm/shmstat.NAME into SEGDIR/TAG */
static void copy_segment(const char *name, const char *tag)
{
	char src[512], dst[8192];
	static unsigned char buf[1 << 20];
	ssize_t n;
	int in, out;

	snprintf(src, sizeof(src), "/dev/shm/shmstat.%s", name);
	snprintf(dst, sizeof(dst), "%s/%s", segdir, tag);
	in = open(src, O_RDONLY);
	if (in < 0) {
		perror(src);
		exit(1);
	}
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n <= 0 || n == (ssize_t)sizeof(buf)) {
		fprintf(stderr, "mkcorpus: %s: %zd bytes\n", src, n);
		exit(1);
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf, (size_t)n) != n) {
		perror(dst);
		exit(1);
	}
	close(out);
	printf("%s: %zd bytes\n", dst, n);
}

static const char *const lab_a[] = { "tier", "l1", "op", "get", NULL };
static const char *const lab_b[] = { "tier", "l2", "path", "a \"quoted\" \\ value\nx", NULL };

struct metrics {
	shmstat_counter *c1, *c2, *c3;
	shmstat_gauge *g[8];
	shmstat_hist *h1, *h2, *h3;
	shmstat_sigtab *t1, *t2;
	uint32_t own[3];
};

static void reg_all(shmstat_seg *seg, struct metrics *m, int with_sig)
{
	struct shmstat_metric_def d = { 0 };
	struct shmstat_hist_opts ho;
	struct shmstat_sigtab_opts so;
	char name[64];

	d.name = "requests_total";
	d.labels = lab_a;
	d.help = "requests served";
	CHECK("counter", shmstat_counter_register(seg, &d, &m->c1));
	d.labels = lab_b;
	CHECK("counter", shmstat_counter_register(seg, &d, &m->c2));
	d.name = "bytes_total";
	d.labels = NULL;
	d.help = NULL;
	d.unit = "bytes";
	CHECK("counter", shmstat_counter_register(seg, &d, &m->c3));
	d.unit = NULL;
	for (int a = 0; a < 8; a++) {
		snprintf(name, sizeof(name), "gauge_%s", shmstat_agg_name((enum shmstat_agg)a));
		d.name = name;
		d.help = "a gauge";
		CHECK("gauge", shmstat_gauge_register(seg, &d, (enum shmstat_agg)a, &m->g[a]));
	}
	d.name = "latency_ns";
	d.help = "latency";
	d.unit = "ns";
	ho = (struct shmstat_hist_opts){ .lowest = 1, .highest = 1000, .bits = 2 };
	CHECK("hist", shmstat_hist_register(seg, &d, &ho, &m->h1));
	d.name = "size_bytes";
	d.unit = "bytes";
	ho = (struct shmstat_hist_opts){ .lowest = 10, .highest = 100, .bits = 1 };
	CHECK("hist", shmstat_hist_register(seg, &d, &ho, &m->h2));
	d.name = "wide";
	d.unit = NULL;
	ho = (struct shmstat_hist_opts){ .lowest = 0, .highest = 200, .bits = 4 };
	CHECK("hist", shmstat_hist_register(seg, &d, &ho, &m->h3));
	m->t1 = m->t2 = NULL;
	if (!with_sig)
		return;
	d.name = "sigs";
	d.help = "signatures";
	d.labels = lab_a;
	so = (struct shmstat_sigtab_opts){ .capacity = 4, .key_bytes = 8, .owners = 3,
					   .summaries = 3, .ttl_ns = 1 * NS };
	CHECK("sigtab", shmstat_sigtab_register(seg, &d, &so, &m->t1));
	CHECK("owner", shmstat_sig_owner(m->t1, "alice", &m->own[0]));
	CHECK("owner", shmstat_sig_owner(m->t1, "bob \"b\"", &m->own[1]));
	d.name = "sigs_plain";
	d.labels = NULL;
	so = (struct shmstat_sigtab_opts){ .capacity = 2, .key_bytes = 8, .owners = 0,
					   .summaries = 2, .ttl_ns = 0 };
	CHECK("sigtab", shmstat_sigtab_register(seg, &d, &so, &m->t2));
}

static void update(struct metrics *m, unsigned round)
{
	char key[64];

	shmstat_counter_add(m->c1, 3 + round);
	shmstat_counter_inc(m->c2);
	shmstat_counter_add(m->c3, 4096u * (round + 1));
	for (int a = 0; a < 8; a++) {
		if (round % 2)
			shmstat_gauge_set(m->g[a], (int64_t)round * 10 - 25 + a);
		else
			shmstat_gauge_add(m->g[a], -(int64_t)a);
	}
	for (unsigned v = 0; v < 12; v++) {
		shmstat_hist_record(m->h1, v * v * (round + 3));
		shmstat_hist_record_n(m->h2, v * 11, round + 1);
		shmstat_hist_record(m->h3, v * 17);
	}
	shmstat_hist_record(m->h1, 0);              /* underflow */
	shmstat_hist_record(m->h1, 5000);           /* overflow */
	if (m->t1) {
		for (unsigned k = 0; k < 7 + round; k++) {
			int n = snprintf(key, sizeof(key), "key-%u-%s", k % 6,
					 k % 3 ? "long-key-beyond-the-prefix" : "");

			if (k % 4)
				shmstat_sig_hit(m->t1, key, (size_t)n, 100 + k, m->own[k % 3]);
			else
				shmstat_sig_miss(m->t1, key, (size_t)n, m->own[k % 2]);
			shmstat_sig_hit(m->t2, key, (size_t)n, 1, 0);
		}
		/* a key with a NUL inside */
		shmstat_sig_hit(m->t1, "bin\0key\xff", 8, 7, 0);
	}
}

/* A child that attaches, counts, then dies without detaching
 * (@how 0: killed, its slot stays LIVE) or detaches (@how 1). */
static void child_writer(const char *name, int how, int with_sig)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		shmstat_seg *seg;
		struct metrics m;

		if (shmstat_open(name, NULL, &seg) != 0)
			_exit(2);
		reg_all(seg, &m, with_sig);
		update(&m, 5);
		shmstat_heartbeat(seg);
		if (how == 0) {
			raise(SIGKILL);
		}
		shmstat_close(seg);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

struct thr {
	struct metrics *m;
	unsigned round;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	update(t->m, t->round);
	return NULL;
}

/* ------------------------------------------------------------- segments */

static void seg_full(void)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	struct metrics m;
	const char *name = segname("full");
	pthread_t th[2];
	struct thr ta[2];

	small_opts(&o);
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 1);
	for (unsigned r = 0; r < 4; r++)
		update(&m, r);
	/* a hot key: batched in this thread's stripe, not flushed */
	for (unsigned i = 0; i < 700; i++)
		shmstat_sig_hit(m.t1, "hot-key", 7, 1, m.own[0]);
	for (int i = 0; i < 2; i++) {
		ta[i] = (struct thr){ &m, 7u + (unsigned)i };
		pthread_create(&th[i], NULL, thread_main, &ta[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	child_writer(name, 1, 1);
	child_writer(name, 0, 1);
	copy_segment(name, "full");
	shmstat_close(seg);
	shmstat_unlink(name);
}

static void seg_removed(void)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	struct metrics m;
	const char *name = segname("removed");
	struct shmstat_metric_def d = { .name = "requests_total", .labels = lab_b,
					.help = "requests served" };
	shmstat_counter *c;

	small_opts(&o);
	o.max_metrics = 18;
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 0);
	update(&m, 1);
	child_writer(name, 0, 1);
	CHECK("remove", shmstat_remove(seg, &d));
	CHECK("quiesce", shmstat_quiesce(seg));
	/* registered again: a new reg_id; and refused ones (no room) */
	CHECK("counter", shmstat_counter_register(seg, &d, &c));
	shmstat_counter_add(c, 42);
	for (int i = 0; i < 8; i++) {
		char name2[32];
		struct shmstat_metric_def d2 = { .name = name2 };

		snprintf(name2, sizeof(name2), "extra_%d", i);
		(void)shmstat_counter_register(seg, &d2, &c);
		shmstat_counter_inc(c);
	}
	copy_segment(name, "removed");
	shmstat_close(seg);
	shmstat_unlink(name);
}

/* latency stacks (every timed section, so no timer and no sampling
 * luck) and module records (format 2.1) */
__attribute__((noinline)) static void timed(shmstat_hist *h, unsigned n)
{
	SHMSTAT_TIME_SCOPE(h);
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static void seg_profile(void)
{
	struct shmstat_opts o;
	struct shmstat_hist_opts ho = { .lowest = 1, .highest = 1000000, .bits = 2 };
	struct shmstat_metric_def d = { .name = "op_ns", .unit = "ns" };
	shmstat_seg *seg;
	shmstat_hist *h;
	const char *name = segname("profile");

	small_opts(&o);
	o.max_stacks = 8;
	o.max_modules = 8;
	CHECK("open", shmstat_open(name, &o, &seg));
	CHECK("hist", shmstat_hist_register(seg, &d, &ho, &h));
	CHECK("latency", shmstat_profiler_latency(seg, 1));
	for (unsigned i = 0; i < 5; i++)
		timed(h, 100 * i);
	CHECK("latency off", shmstat_profiler_latency(seg, 0));
	copy_segment(name, "profile");
	shmstat_close(seg);
	shmstat_unlink(name);
}

static void seg_empty(void)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	const char *name = segname("empty");

	small_opts(&o);
	o.sig_bytes = 0;
	o.max_procs = 1;
	o.max_metrics = 1;
	o.max_values = 1;
	o.max_threads = 1;
	CHECK("open", shmstat_open(name, &o, &seg));
	copy_segment(name, "empty");
	shmstat_close(seg);
	shmstat_unlink(name);
}

/* figures at their limits, what the bugs of docs/fuzzing.md's table
 * needed: a count near 2^64 (a quantile's rank), values near 2^64 (a
 * mean, a sum past 2^64 many times, an estimate) */
static void seg_edges(void)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_hist *big_n, *big_v;
	struct shmstat_hist_opts ho;
	const char *name = segname("edges");

	small_opts(&o);
	o.sig_bytes = 0;
	CHECK("open", shmstat_open(name, &o, &seg));
	shmstat_hist_opts_init(&ho);
	ho.bits = 2;     /* few buckets: 256 value slots */
	CHECK("hist", shmstat_hist_register(seg, &(struct shmstat_metric_def){
		.name = "edge_count", .unit = "ns" }, &ho, &big_n));
	shmstat_hist_record_n(big_n, 1000, UINT64_MAX - 2);
	shmstat_hist_record_n(big_n, 2000, 1);
	ho.highest = 1000;
	CHECK("hist", shmstat_hist_register(seg, &(struct shmstat_metric_def){
		.name = "edge_value", .unit = "ns" }, &ho, &big_v));
	shmstat_hist_record_n(big_v, UINT64_MAX - 7, 3);
	shmstat_hist_record(big_v, 1);
	copy_segment(name, "edges");
	shmstat_close(seg);
	shmstat_unlink(name);
}

static void seg_counters(void)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	struct metrics m;
	const char *name = segname("counters");

	small_opts(&o);
	o.sig_bytes = 0;
	o.mode = 0640;
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 0);
	update(&m, 2);
	child_writer(name, 1, 0);
	copy_segment(name, "counters");
	shmstat_close(seg);
	shmstat_unlink(name);
}

/* ---------------------------------------------------------------- history */

static shmstat_snap *snap_of(const char *name)
{
	shmstat_reader *r;
	shmstat_snap *s;

	CHECK("reader", shmstat_reader_open(name, &r));
	CHECK("snapshot", shmstat_snapshot(r, &s));
	shmstat_reader_close(r);
	return s;
}

static void append(shmstat_history *h, const char *name, uint64_t t)
{
	shmstat_snap *s = snap_of(name);
	int e = shmstat_history_append(h, s, t, NULL);

	if (e && e != ENOSPC)
		die("append", e);
	shmstat_snap_free(s);
}

static shmstat_history *hist_new(const char *tag, uint64_t bytes, unsigned ntiers,
				 const struct shmstat_tier *tiers, unsigned top)
{
	struct shmstat_history_opts o;
	shmstat_history *h;
	char path[8192];

	shmstat_history_opts_init(&o);
	o.max_bytes = bytes;
	o.ntiers = ntiers;
	for (unsigned k = 0; k < ntiers; k++)
		o.tier[k] = tiers[k];
	o.top_keys = top;
	snprintf(path, sizeof(path), "%s/%s", histdir, tag);
	unlink(path);
	CHECK("history", shmstat_history_create(path, &o, &h));
	return h;
}

static void hist_done(shmstat_history *h, const char *tag)
{
	char path[8192];
	struct stat st;

	shmstat_history_close(h);
	snprintf(path, sizeof(path), "%s/%s", histdir, tag);
	chmod(path, 0644);
	if (stat(path, &st) == 0)
		printf("%s: %lld bytes\n", path, (long long)st.st_size);
}

static const uint64_t T0 = 1763780000ull * NS;

static void hist_small(void)
{
	static const struct shmstat_tier t[2] = { { 1 * NS, 60 * NS }, { 10 * NS, 600 * NS } };
	const char *name = segname("h1");
	struct shmstat_opts o;
	shmstat_seg *seg;
	struct metrics m;
	shmstat_history *h;

	small_opts(&o);
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 1);
	h = hist_new("wrapped-2tiers", 16384, 2, t, 5);
	CHECK("set_segment", shmstat_history_set_segment(h, name));
	for (unsigned i = 0; i < 90; i++) {
		update(&m, i % 5);
		append(h, name, T0 + i * NS + (i % 3) * 1000);
	}
	hist_done(h, "wrapped-2tiers");
	shmstat_close(seg);
	shmstat_unlink(name);
}

static void hist_resets(void)
{
	static const struct shmstat_tier t[3] = {
		{ 1 * NS, 30 * NS }, { 5 * NS, 120 * NS }, { 60 * NS, 3600 * NS } };
	const char *name = segname("h2");
	struct shmstat_metric_def d = { .name = "requests_total", .labels = lab_a,
					.help = "requests served" };
	struct shmstat_opts o;
	shmstat_seg *seg;
	struct metrics m;
	shmstat_history *h;
	shmstat_counter *c;
	unsigned i = 0;

	small_opts(&o);
	o.max_metrics = 18;
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 1);
	h = hist_new("resets-3tiers", 65536, 3, t, 3);
	CHECK("set_segment", shmstat_history_set_segment(h, name));
	for (; i < 20; i++) {
		update(&m, i % 4);
		append(h, name, T0 + i * NS);
	}
	/* removed and registered again: a new reg_id, a value from zero */
	CHECK("remove", shmstat_remove(seg, &d));
	CHECK("quiesce", shmstat_quiesce(seg));
	CHECK("counter", shmstat_counter_register(seg, &d, &c));
	for (; i < 30; i++) {
		shmstat_counter_add(c, i);
		append(h, name, T0 + i * NS);
	}
	/* the segment re-created: a new generation */
	shmstat_close(seg);
	shmstat_unlink(name);
	CHECK("open", shmstat_open(name, &o, &seg));
	reg_all(seg, &m, 1);
	for (; i < 45; i++) {
		update(&m, i % 3);
		append(h, name, T0 + i * 5 * NS);
	}
	hist_done(h, "resets-3tiers");
	shmstat_close(seg);
	shmstat_unlink(name);
}

/* many series with long help: the 4 KiB dictionary fills up, records
 * then carry their schema inline */
static void hist_dictfull(void)
{
	static const struct shmstat_tier t[1] = { { 1 * NS, 100 * NS } };
	const char *name = segname("h3");
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_history *h;
	shmstat_counter *c[40];
	shmstat_hist *hi;
	unsigned i;

	small_opts(&o);
	o.max_metrics = 64;
	CHECK("open", shmstat_open(name, &o, &seg));
	h = hist_new("dictfull", 16384, 1, t, 20);
	for (i = 0; i < 40; i++) {
		char nm[64], help[80];
		struct shmstat_metric_def d = { .name = nm, .help = help };

		snprintf(nm, sizeof(nm), "a_rather_long_metric_name_number_%u_total", i);
		memset(help, 'h', sizeof(help) - 1);
		help[sizeof(help) - 1] = '\0';
		CHECK("counter", shmstat_counter_register(seg, &d, &c[i]));
		shmstat_counter_add(c[i], i);
		if (i % 8 == 7)
			append(h, name, T0 + i * NS);
	}
	{
		struct shmstat_metric_def d = { .name = "late_hist" };
		struct shmstat_hist_opts ho = { .lowest = 1, .highest = 50, .bits = 3 };

		CHECK("hist", shmstat_hist_register(seg, &d, &ho, &hi));
		shmstat_hist_record(hi, 7);
	}
	for (; i < 60; i++) {
		shmstat_counter_add(c[i % 40], 1);
		shmstat_hist_record(hi, i);
		append(h, name, T0 + i * NS);
	}
	hist_done(h, "dictfull");
	shmstat_close(seg);
	shmstat_unlink(name);
}

static void hist_empty(void)
{
	static const struct shmstat_tier t[1] = { { 1 * NS, 10 * NS } };
	shmstat_history *h = hist_new("empty", 16384, 1, t, 0);

	hist_done(h, "empty");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkcorpus SEGDIR HISTDIR\n");
		return 2;
	}
	snprintf(segdir, sizeof(segdir), "%s", argv[1]);
	snprintf(histdir, sizeof(histdir), "%s", argv[2]);
	seg_full();
	seg_removed();
	seg_empty();
	seg_profile();
	seg_counters();
	seg_edges();
	hist_small();
	hist_resets();
	hist_dictfull();
	hist_empty();
	return 0;
}
