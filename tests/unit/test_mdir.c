/*
 * test_mdir.c - a snapshot's metric directory (mdir.c, issue 19): every
 * metric of a segment comes back whole from records of its fields and
 * texts, which take the bytes of those and not the 512 of a descriptor;
 * the directory read through extents cut anywhere (a descriptor split
 * between two chunks), with a hole claimed, with a subset, and with a
 * damaged descriptor is the one read whole, less what it must leave out.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ut_common.h"
#include "hook.h"
#include "snap.h"

#define NCOUNTERS 3000

static void name_of(char *buf, size_t n, int i)
{
	snprintf(buf, n, "svc_request_%05d_total", i);
}

/* A segment of NCOUNTERS counters (every third with labels), a gauge and
 * a histogram with units and help; counter i counts i. */
static shmstat_seg *make(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	shmstat_opts_init(&o);
	o.max_metrics = NCOUNTERS + 64;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	for (int i = 0; i < NCOUNTERS; i++) {
		char n[64], v[16];
		const char *l[] = { "tier", v, NULL };
		struct shmstat_metric_def d = { .name = n, .help = "requests served" };
		shmstat_counter *c;

		name_of(n, sizeof(n), i);
		snprintf(v, sizeof(v), "t%d", i % 7);
		if (i % 3 == 0)
			d.labels = l;
		assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
		shmstat_counter_add(c, (uint64_t)i);
	}
	{
		struct shmstat_metric_def gd = { .name = "queue_bytes", .unit = "bytes",
						 .help = "bytes queued" };
		struct shmstat_metric_def hd = { .name = "lookup_latency", .unit = "ns" };
		shmstat_gauge *g;
		shmstat_hist *h;

		assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &g), 0);
		shmstat_gauge_set(g, 4096);
		assert_int_equal(shmstat_hist_register(seg, &hd, NULL, &h), 0);
		shmstat_hist_record(h, 1500);
	}
	return seg;
}

/* Every metric whole, from records that take about their texts */
static void test_whole_and_compact(void **state)
{
	const char *name = ut_name("mdir");
	shmstat_seg *seg = make(name);
	shmstat_snap *s = ut_snap(name);
	struct shmstat_metric_info mi;
	size_t texts = 0;

	(void)state;
	assert_int_equal(shmstat_snap_metrics(s), NCOUNTERS + 2);
	for (int i = 0; i < NCOUNTERS; i++) {
		char n[64], l[64];

		name_of(n, sizeof(n), i);
		snprintf(l, sizeof(l), "tier=\"t%d\"", i % 7);
		assert_true(ut_find(s, n, i % 3 == 0 ? l : "", &mi) >= 0);
		assert_int_equal(mi.counter, i);
		assert_int_equal(mi.type, SHMSTAT_COUNTER);
		assert_string_equal(mi.help, "requests served");
		assert_string_equal(mi.unit, "");
		texts += strlen(n) + 1 + (i % 3 == 0 ? strlen(l) : 0) + 1 + 1 +
			 strlen("requests served") + 1;
	}
	assert_true(ut_find(s, "queue_bytes", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 4096);
	assert_string_equal(mi.unit, "bytes");
	assert_string_equal(mi.help, "bytes queued");
	assert_true(ut_find(s, "lookup_latency", "", &mi) >= 0);
	assert_int_equal(mi.type, SHMSTAT_HISTOGRAM);
	assert_int_equal(mi.counter, 1);
	assert_string_equal(mi.unit, "ns");
	/* the records: a struct and the texts, to 8 bytes, no more */
	assert_int_equal(s->dir.n, NCOUNTERS + 2);
	assert_true(s->dir.used <= texts + (NCOUNTERS + 2) * (sizeof(struct shmstat__rdesc) + 8) +
				   2 * 64);
	assert_true(s->dir.used < (NCOUNTERS + 2) * sizeof(struct shmstat_desc) / 4);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
}

static int want_tier3(const char *name, const char *labels, void *arg)
{
	(void)name;
	(void)arg;
	return strcmp(labels, "tier=\"t3\"") == 0;
}

struct dir_read {
	int fd;
	struct shmstat_hdr h;
	uint64_t base, len;
};

static void open_dir(const char *name, struct dir_read *d)
{
	char path[256];

	ut_path(name, path, sizeof(path));
	d->fd = open(path, O_RDONLY);
	assert_true(d->fd >= 0);
	assert_int_equal(pread(d->fd, &d->h, sizeof(d->h), 0), (ssize_t)sizeof(d->h));
	d->base = d->h.regions[SHMSTAT_REG_DESCS].off;
	d->len = d->h.regions[SHMSTAT_REG_DESCS].len;
}

/* The directory read through the extents @ext (@n of them, pairs of
 * offsets from the region's start), with @want */
static void read_dir(const struct dir_read *d, const uint64_t *ext, size_t n,
		     shmstat__want_fn want, struct shmstat__mdir *md)
{
	struct shmstat__copier cp = { .fd = d->fd, .max = UINT64_MAX };
	uint64_t *scratch = NULL;

	for (size_t k = 0; k < n; k++)
		assert_int_equal(shmstat__copier_add(&cp, d->base + ext[2 * k],
						     d->base + ext[2 * k + 1]), 0);
	assert_int_equal(shmstat__mdir_read(md, &cp, &d->h, &scratch, want, NULL), 0);
	free(scratch);
	shmstat__copier_free(&cp);
}

/* Do @a and @b hold the same records? */
static void same_dir(const struct shmstat__mdir *a, const struct shmstat__mdir *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->used, b->used);
	assert_int_equal(a->bad, b->bad);
	assert_memory_equal(a->at, b->at, a->n * sizeof(*a->at));
	assert_memory_equal(a->rec, b->rec, a->used);
}

static uint32_t torn_slot;
static shmstat_seg *torn_seg;
static int torn_fired;

/* the torn descriptor made whole again before its reads alone */
static void torn_hook(enum shmstat_hook_point point, const void *arg)
{
	if (point != SHMSTAT_HOOK_DESC_TORN || *(const uint32_t *)arg != torn_slot)
		return;
	torn_fired++;
	torn_seg->descs[torn_slot].name[0] = 's';
}

/* Chunks cut anywhere, holes, subsets and damage give the directory the
 * whole read gives, less what they must leave out */
static void test_cut_reads(void **state)
{
	const char *name = ut_name("mdircut");
	shmstat_seg *seg = make(name);
	struct shmstat__mdir whole = { 0 }, cut = { 0 }, part = { 0 };
	struct dir_read d;
	const uint64_t dsz = sizeof(struct shmstat_desc);

	(void)state;
	open_dir(name, &d);
	{
		const uint64_t all[] = { 0, d.len };

		read_dir(&d, all, 1, NULL, &whole);
		assert_int_equal(whole.n, NCOUNTERS + 2);
		assert_int_equal(whole.bad, 0);
	}
	/* extents that split descriptors (100 bytes into one, and across
	 * 256 KB chunks): each split one read alone, once */
	{
		const uint64_t odd[] = { 0, 700, 700, 1300, 1300, 300 * 1024 + 100,
					 300 * 1024 + 100, d.len };

		read_dir(&d, odd, 4, NULL, &cut);
		same_dir(&whole, &cut);
	}
	/* a hole claimed over slots 10..19: those slots read as free */
	{
		const uint64_t holed[] = { 0, 10 * dsz, 20 * dsz, d.len };
		size_t in = 0;

		read_dir(&d, holed, 2, NULL, &part);
		for (size_t k = 0; k < whole.n; k++) {
			const uint32_t slot = shmstat__mdir_desc(&whole, whole.at[k])->slot;

			in += slot < 10 || slot >= 20;
		}
		assert_int_equal(part.n, in);
		assert_true(part.n < whole.n);
		for (size_t k = 0; k < part.n; k++) {
			const uint32_t slot = shmstat__mdir_desc(&part, part.at[k])->slot;

			assert_true(slot < 10 || slot >= 20);
		}
	}
	/* a subset: the counters of tier t3 alone */
	{
		const uint64_t all[] = { 0, d.len };
		size_t want = 0;

		for (int i = 0; i < NCOUNTERS; i += 3)
			want += i % 7 == 3;
		read_dir(&d, all, 1, want_tier3, &part);
		assert_int_equal(part.n, want);
		for (size_t k = 0; k < part.n; k++) {
			const struct shmstat__rdesc *r = shmstat__mdir_desc(&part, part.at[k]);

			assert_string_equal(shmstat__mdir_text(&part, r->labels), "tier=\"t3\"");
			assert_int_equal(r->type, SHMSTAT_COUNTER);
		}
	}
	/* a descriptor torn as the chunk was read (one being published),
	 * whole when read again alone: kept */
	{
		const uint64_t all[] = { 0, d.len };

		torn_slot = shmstat__mdir_desc(&whole, whole.at[7])->slot;
		torn_seg = seg;
		torn_fired = 0;
		seg->descs[torn_slot].name[0] = 'X';
		__atomic_store_n(&shmstat__test_hook, torn_hook, __ATOMIC_RELEASE);
		read_dir(&d, all, 1, NULL, &part);
		__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
		assert_int_equal(torn_fired, 1);
		same_dir(&whole, &part);
	}
	/* a descriptor damaged (its name changed, not its checksum): left
	 * out and counted, the others as before */
	{
		const uint64_t all[] = { 0, d.len };
		const uint32_t slot = shmstat__mdir_desc(&whole, whole.at[5])->slot;

		seg->descs[slot].name[0] = 'X';
		read_dir(&d, all, 1, NULL, &part);
		assert_int_equal(part.bad, 1);
		assert_int_equal(part.n, whole.n - 1);
		seg->descs[slot].name[0] = 's';
		read_dir(&d, all, 1, NULL, &part);
		same_dir(&whole, &part);
	}
	shmstat__mdir_free(&whole);
	shmstat__mdir_free(&cut);
	shmstat__mdir_free(&part);
	close(d.fd);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_and_compact, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_cut_reads, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
