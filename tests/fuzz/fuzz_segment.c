/*
 * fuzz_segment.c - the input is a segment image: everything a reader
 * does with a segment must be safe on any bytes (DEVELOPERS.md: bounded
 * loops, checked offsets; docs/format.md "What is checked and when").
 *
 * Each input is written to the shm object /dev/shm/shmstat.fuzz-PID
 * (one name per process, overwritten by every input), then read as a
 * reader does: shmstat_reader_open(), shmstat_snapshot(), then every
 * accessor on everything it found (metrics, processes, shares per
 * process, histograms for all, each and gone processes with their stats,
 * quantiles, buckets, differences and sums, signature-table views with
 * their entries, tops in every order and per owner, owners), and every
 * renderer: JSON (with and without processes), CSV, Prometheus 0.0.4 and
 * OpenMetrics (export_snapshot, and prom_render with the finest le
 * bounds, every top key and segment labels), and the text of
 * `shmstat show NAME`, `shmstat show -p NAME`, `shmstat hist NAME HIST`
 * (the first histogram) and `shmstat top` (every table; by weight and
 * for an owner too).
 *
 * So that mutations get past the checksums to the checks behind them,
 * the harness makes the input consistent before writing it (what a
 * hostile writer can do anyway: it writes the segment and its sums):
 *   - the file's size is the header's total_size when that is 4 KiB to
 *     1 MiB (the input cut or padded with zeros), else the input's;
 *   - hdr_sum is recomputed over bytes 0..335 (XXH3-64, as segment.c);
 *   - every descriptor in the descriptor region the header names gets
 *     its checksum recomputed (bytes 16..511, as registry.c);
 *   - so does every stack entry (its hash, seeded with its tag, as
 *     stacks.c) and module record (bytes 16..511, as modmap.c) of the
 *     profile regions (format 2.1).
 * The profile is read too (shmstat_snap_profile and its accessors), and
 * `shmstat flame --addresses` prints it (no symbols: no file is opened).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "shmstat_window.h"
#include "layout.h"
#include "util.h"
#include "cli.h"
#include "export.h"
#include "prom.h"
#include "fuzz_common.h"

#define MAX_FILE (1u << 20)

static char name[64], path[96];
static int shm_fd = -1;
static unsigned char *img;
static FILE *devnull;

static void cleanup(void)
{
	shm_unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_name(name, sizeof(name));
	snprintf(path, sizeof(path), "/shmstat.%s", name);
	shm_unlink(path);
	shm_fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	img = malloc(MAX_FILE);
	devnull = fopen("/dev/null", "w");
	if (shm_fd < 0 || img == NULL || devnull == NULL) {
		perror("fuzz_segment: setup");
		exit(1);
	}
	atexit(cleanup);
	fuzz_quiet_stdout();
	return 0;
}

/* The bytes to write for @data: sizes and checksums made consistent. */
static size_t prepare(const uint8_t *data, size_t size)
{
	struct shmstat_hdr *h = (struct shmstat_hdr *)(void *)img;
	size_t len = size < MAX_FILE ? size : MAX_FILE;

	memcpy(img, data, len);
	if (len < sizeof(*h))
		return len;
	if (h->total_size >= sizeof(*h) && h->total_size <= MAX_FILE) {
		if (len < h->total_size)
			memset(img + len, 0, h->total_size - len);
		len = (size_t)h->total_size;
	}
	h->hdr_sum = XXH3_64bits(img, SHMSTAT_HDR_SUM_BYTES);
	if (h->nregions >= SHMSTAT_REG_COUNT && h->nregions <= SHMSTAT_MAX_REGIONS) {
		/* copies: a region may overlap the header, whose bytes the
		 * loops below rewrite */
		const struct shmstat_region st[1] = { h->regions[SHMSTAT_REG_STACKS] };
		const struct shmstat_region md[1] = { h->regions[SHMSTAT_REG_MODS] };
		const size_t se = sizeof(struct shmstat_stackent), me = sizeof(struct shmstat_profmod);

		if (shmstat__fits(st->off, st->len, len))
			for (uint64_t o = st->off; o + se <= st->off + st->len; o += se) {
				uint64_t word, hash;
				uint32_t depth;

				memcpy(&word, img + o, 8);
				memcpy(&depth, img + o + offsetof(struct shmstat_stackent, depth), 4);
				if (depth > SHMSTAT_STACK_SLOTS)
					depth = SHMSTAT_STACK_SLOTS;
				hash = XXH3_64bits_withSeed(img + o + 32, 16 + (size_t)depth * 8,
							    word & ~(uint64_t)0xff);
				hash = hash ? hash : 1;
				memcpy(img + o + offsetof(struct shmstat_stackent, hash), &hash, 8);
			}
		if (shmstat__fits(md->off, md->len, len))
			for (uint64_t o = md->off; o + me <= md->off + md->len; o += me) {
				uint64_t sum = XXH3_64bits(img + o + SHMSTAT_PROFMOD_SUM_FROM,
							   me - SHMSTAT_PROFMOD_SUM_FROM);

				memcpy(img + o + offsetof(struct shmstat_profmod, sum), &sum, 8);
			}
	}
	{
		/* a copy: the region may overlap the header, which the sums
		 * written below would change under the loop */
		const struct shmstat_region r[1] = { h->regions[SHMSTAT_REG_DESCS] };

		if (shmstat__fits(r->off, r->len, len))
			for (uint64_t o = r->off; o + sizeof(struct shmstat_desc) <= r->off + r->len;
			     o += sizeof(struct shmstat_desc)) {
				/* the region may be misaligned here: bytes, not structs */
				uint64_t sum = XXH3_64bits(img + o + SHMSTAT_DESC_SUM_FROM,
							   sizeof(struct shmstat_desc) -
							   SHMSTAT_DESC_SUM_FROM);

				memcpy(img + o + offsetof(struct shmstat_desc, sum), &sum, 8);
			}
	}
	return len;
}

static void use_str(const char *s)
{
	/* reads every byte: ASan checks the string ends inside its object */
	volatile size_t n = strlen(s);

	(void)n;
}

static void walk_hdata(const shmstat_hdata *h)
{
	static const double q[] = { 0, 0.5, 0.9, 0.99, 0.999, 1, 0.25, 1e-9 };
	struct shmstat_hstats st;
	uint64_t out[8];
	size_t nb = shmstat_hdata_buckets(h);

	shmstat_hdata_stats(h, &st);
	(void)shmstat_hdata_quantiles(h, q, 8, out);
	(void)shmstat_hdata_quantiles(h, q + 5, 1, out);
	for (size_t k = 0; k <= nb; k++) {
		uint64_t lo, hi, c;

		(void)shmstat_hdata_bucket(h, k, &lo, &hi, &c);
	}
}

static void walk_hist(const shmstat_snap *s, size_t i, size_t np)
{
	shmstat_hdata *all = NULL, *gone = NULL, *d = NULL;

	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &all) == 0)
		walk_hdata(all);
	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_GONE, &gone) == 0)
		walk_hdata(gone);
	for (size_t j = 0; j <= np; j++) {
		shmstat_hdata *p = NULL;

		if (shmstat_snap_hist(s, i, j, &p) == 0) {
			walk_hdata(p);
			if (gone)
				(void)shmstat_hdata_merge(p, gone);
			walk_hdata(p);
		}
		shmstat_hdata_free(p);
	}
	if (all && gone && shmstat_hdata_sub(all, gone, &d) == 0)
		walk_hdata(d);
	shmstat_hdata_free(d);
	d = NULL;
	if (all && shmstat_hdata_sub(all, all, &d) == 0)
		walk_hdata(d);
	shmstat_hdata_free(d);
	shmstat_hdata_free(all);
	shmstat_hdata_free(gone);
}

static void walk_sig(const shmstat_snap *s, size_t i)
{
	static size_t top[200];
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	size_t ne, no;

	if (shmstat_snap_sigtab(s, i, &v) != 0)
		return;
	shmstat_sigview_stats(v, &st);
	ne = shmstat_sigview_entries(v);
	for (size_t k = 0; k <= ne; k++) {
		struct shmstat_sigentry e;

		if (shmstat_sigview_entry(v, k, &e) == 0) {
			use_str(e.owner);
			use_str(e.key);
		}
	}
	no = shmstat_sigview_owners(v);
	for (int order = 0; order < 4; order++) {
		size_t got = shmstat_sigview_top(v, (enum shmstat_sig_order)order, NULL, 3, top);

		got += shmstat_sigview_top(v, (enum shmstat_sig_order)order, NULL, 200, top);
		got += shmstat_sigview_top(v, (enum shmstat_sig_order)order, "", 10, top);
		(void)got;
	}
	for (size_t k = 0; k <= no; k++) {
		struct shmstat_sigowner_info oi;

		if (shmstat_sigview_owner(v, k, &oi) != 0)
			continue;
		use_str(oi.name);
		(void)shmstat_sigview_top(v, SHMSTAT_BY_WEIGHT, oi.name, 5, top);
		(void)shmstat_sigview_top(v, SHMSTAT_BY_HITS, oi.name, 100, top);
	}
	shmstat_sigview_free(v);
}

static void walk(const shmstat_snap *s)
{
	struct shmstat_seg_info info;
	size_t nm = shmstat_snap_metrics(s), np = shmstat_snap_procs(s);

	shmstat_snap_info(s, &info);
	for (size_t j = 0; j <= np; j++) {
		struct shmstat_proc_info p;

		if (shmstat_snap_proc(s, j, &p) == 0)
			use_str(p.comm);
	}
	for (size_t i = 0; i <= nm; i++) {
		struct shmstat_metric_info m;

		if (shmstat_snap_metric(s, i, &m) != 0)
			continue;
		use_str(m.name);
		use_str(m.labels);
		use_str(m.help);
		use_str(m.unit);
		(void)shmstat_labels_match(m.labels, m.labels);
		(void)shmstat_labels_match(m.labels, "tier=\"l1\"");
		for (size_t j = 0; j <= np; j++) {
			uint64_t c;
			int64_t g;

			(void)shmstat_snap_metric_proc(s, i, j, &c, &g);
		}
		{
			uint64_t c;
			int64_t g;

			(void)shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &c, &g);
		}
		if (m.type == SHMSTAT_HISTOGRAM)
			walk_hist(s, i, np);
		else if (m.type == SHMSTAT_SIGTABLE)
			walk_sig(s, i);
	}
}

static void walk_profile(shmstat_reader *r, const shmstat_snap *s)
{
	shmstat_profile *p;
	struct shmstat_profile_stats st;

	if (shmstat_snap_profile(r, s, &p) != 0)
		return;
	shmstat_profile_stats(p, &st);
	for (size_t j = 0; j <= shmstat_profile_procs(p); j++) {
		struct shmstat_profile_proc pp;

		if (shmstat_profile_proc(p, j, &pp) == 0)
			use_str(pp.comm);
	}
	for (size_t k = 0; k <= shmstat_profile_modules(p); k++) {
		struct shmstat_module_info mi;

		if (shmstat_profile_module(p, k, &mi) == 0)
			use_str(mi.path);
	}
	for (size_t k = 0; k <= shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;

		if (shmstat_profile_stack(p, k, &si) != 0)
			continue;
		use_str(si.metric);
		for (uint32_t i = 0; i < si.depth; i++)
			(void)shmstat_profile_find_module(p, si.proc, si.pcs[i]);
		/* one frame past the end too: -1 */
		for (uint32_t i = 0; i <= si.depth; i++)
			(void)shmstat_profile_frame_module(p, k, i);
	}
	shmstat_profile_free(p);
}

static void render(const shmstat_snap *s)
{
	size_t n = shmstat_snap_metrics(s);
	size_t *order = metrics_sorted(s, n);
	static const enum export_format fmts[] = { EXPORT_JSON, EXPORT_CSV, EXPORT_PROM,
						   EXPORT_OPENMETRICS };

	double *rate = order ? malloc((n ? n : 1) * sizeof(*rate)) : NULL;
	struct export_rates er = { rate, 1000 };

	if (rate == NULL) {
		free(order);
		return;
	}
	/* rates of every kind JSON prints: none, ordinary, huge, negative */
	for (size_t i = 0; i < n; i++)
		rate[i] = i % 4 == 0 ? NAN : i % 4 == 1 ? 1.5 : i % 4 == 2 ? 1e300 : -1;
	for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++)
		(void)export_snapshot(devnull, fmts[k], name, s, order, n, 1, &er);
	(void)export_snapshot(devnull, EXPORT_JSON, name, s, order, n, 0, NULL);
	free(rate);
	for (int om = 0; om < 2; om++) {
		struct prom_src src[2] = { { name, s, NULL, 0 }, { "other", NULL, NULL, 0 } };
		struct prom_opts o = { .om = om, .le_per_octave = PROM_MAX_LE_PER_OCTAVE,
				       .top = PROM_MAX_TOP, .segment_label = 1 };

		(void)prom_render(devnull, src, 2, &o);
		o.le_per_octave = 2;
		o.top = 1;
		src[1] = (struct prom_src){ "same", s, order, n };
		(void)prom_render(devnull, src, 2, &o);
	}
	free(order);
	fflush(devnull);
}

/* The name of the first histogram, and of the first owner of a table. */
static void names(const shmstat_snap *s, char *hist, char *owner)
{
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;
		shmstat_sigview *v;
		struct shmstat_sigowner_info oi;

		if (shmstat_snap_metric(s, i, &m) != 0)
			continue;
		if (m.type == SHMSTAT_HISTOGRAM && !hist[0])
			snprintf(hist, SHMSTAT_NAME_CAP, "%s", m.name);
		if (m.type == SHMSTAT_SIGTABLE && shmstat_snap_sigtab(s, i, &v) == 0) {
			if (shmstat_sigview_owner(v, 0, &oi) == 0 && oi.name[0])
				snprintf(owner, SHMSTAT_SIG_OWNER_CAP, "%s", oi.name);
			shmstat_sigview_free(v);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = prepare(data, size);
	shmstat_reader *r;
	shmstat_snap *s;

	if (ftruncate(shm_fd, (off_t)len) != 0 ||
	    (len && pwrite(shm_fd, img, len, 0) != (ssize_t)len)) {
		perror("fuzz_segment: write");
		abort();
	}
	if (shmstat_reader_open(name, &r) != 0)
		return 0;
	use_str(shmstat_last_error());
	if (shmstat_snapshot(r, &s) == 0) {
		char hist[SHMSTAT_NAME_CAP] = "", owner[SHMSTAT_SIG_OWNER_CAP] = "x";

		walk(s);
		walk_profile(r, s);
		render(s);
		names(s, hist, owner);
		shmstat_snap_free(s);
		/* the text of the tool's commands, as a user would run them */
		{
			const char *show[] = { "show", name, NULL };
			const char *show_p[] = { "show", "-p", name, NULL };
			const char *hist_a[] = { "hist", name, hist, NULL };
			const char *top[] = { "top", "-n", "1000", name, NULL };
			const char *top_o[] = { "top", "--by", "weight", "--owner", owner,
						"--high-value", "0", name, NULL };

			(void)fuzz_cmd(cmd_show, show);
			(void)fuzz_cmd(cmd_show, show_p);
			if (hist[0])
				(void)fuzz_cmd(cmd_hist, hist_a);
			(void)fuzz_cmd(cmd_top, top);
			(void)fuzz_cmd(cmd_top, top_o);
			{
				const char *fl[] = { "flame", "--addresses", name, NULL };
				const char *fl_l[] = { "flame", "--latency", "--per-process",
						       "--addresses", "--svg", "-", name, NULL };

				(void)fuzz_cmd(cmd_flame, fl);
				(void)fuzz_cmd(cmd_flame, fl_l);
			}
		}
	}
	use_str(shmstat_last_error());
	shmstat_reader_close(r);
	return 0;
}
