/*
 * fuzz_history.c - the input is a history file (docs/history.md): a
 * reader of any file must not crash, hang or leak.
 *
 * Each input is written to one temporary file per process, then:
 *   - shmstat_history_open(), its tiers, shmstat_history_range() over all
 *     time and over the newer half; every frame, series (looked up by
 *     name too), histogram (stats, quantiles, buckets) and top key;
 *   - shmstat_window() for every figure on a few series (all label sets,
 *     and exactly theirs), over everything and over the frames' span;
 *     shmstat_window_trend() by frame and by steps;
 *   - the text and JSON of `shmstat show --history FILE --range ...` and
 *     `--window`, and `shmstat trend`;
 *   - the writer's side of a file it resumes: shmstat_history_create()
 *     on the file (it reads the dictionary and every ring to find where
 *     to go on), one shmstat_history_append() of a real snapshot, and
 *     the records read back.
 *
 * So that mutations get past the checksums, the harness makes the input
 * consistent first (a hostile writer can write valid sums too):
 *   - the file's size is the header's total_size when that is 4 KiB to
 *     1 MiB (the input cut or padded with zeros);
 *   - hdr_sum is recomputed over bytes 0..335;
 *   - the dictionary is walked as the reader walks it (magic, length,
 *     index) and each entry's sum recomputed; each ring is scanned as the
 *     reader scans it (magic, length, seq != 0) and each record's sum
 *     recomputed, with the file's seed, length and area.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"
#include "history.h"
#include "util.h"
#include "fuzz_common.h"

#define MAX_FILE (1u << 20)
#define NQ 4                     /* series queried with shmstat_window */

static char dir[256], path[320];
static int file_fd = -1;
static unsigned char *img;
static shmstat_snap *snap;       /* appended by the writer's side */

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/* A small real snapshot, to append: one metric of each type. */
static void make_snapshot(void)
{
	static const char *const labels[] = { "k", "v", NULL };
	struct shmstat_opts o;
	struct shmstat_metric_def d = { .labels = labels, .help = "h" };
	struct shmstat_hist_opts ho = { .lowest = 1, .highest = 1000, .bits = 3 };
	struct shmstat_sigtab_opts so = { .capacity = 2, .key_bytes = 8, .owners = 1,
					  .summaries = 1 };
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_hist *hi;
	shmstat_sigtab *t;
	shmstat_reader *r;
	shmstat_seg *seg;
	char name[64];
	uint32_t own;

	fuzz_name(name, sizeof(name));
	strcat(name, "-h");
	shmstat_unlink(name);
	shmstat_opts_init(&o);
	o.max_procs = 1;
	o.max_metrics = 8;
	o.max_values = 128;
	o.max_threads = 1;
	o.sig_bytes = 16 << 10;
	if (shmstat_open(name, &o, &seg) != 0)
		goto fail;
	d.name = "requests_total";
	shmstat_counter_register(seg, &d, &c);
	shmstat_counter_add(c, 5);
	d.name = "temp";
	shmstat_gauge_register(seg, &d, SHMSTAT_AGG_MAX, &g);
	shmstat_gauge_set(g, -3);
	d.name = "latency_ns";
	shmstat_hist_register(seg, &d, &ho, &hi);
	shmstat_hist_record(hi, 7);
	shmstat_hist_record(hi, 5000);
	d.name = "sigs";
	shmstat_sigtab_register(seg, &d, &so, &t);
	shmstat_sig_owner(t, "o", &own);
	shmstat_sig_hit(t, "key1", 4, 3, own);
	shmstat_sig_miss(t, "key2", 4, 0);
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &snap) != 0)
		goto fail;
	shmstat_reader_close(r);
	shmstat_unlink(name);
	shmstat_close(seg);
	return;
fail:
	fprintf(stderr, "fuzz_history: setup: %s\n", shmstat_last_error());
	shmstat_unlink(name);
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char name[64];

	(void)argc;
	(void)argv;
	fuzz_name(name, sizeof(name));
	snprintf(dir, sizeof(dir), "%s/shmstat-%s", tmp && *tmp ? tmp : "/tmp", name);
	snprintf(path, sizeof(path), "%s/history", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		perror(dir);
		exit(1);
	}
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	img = malloc(MAX_FILE);
	if (file_fd < 0 || img == NULL) {
		perror("fuzz_history: setup");
		exit(1);
	}
	atexit(cleanup);
	make_snapshot();
	fuzz_quiet_stdout();
	return 0;
}

/* The bytes to write for @data: size and checksums made consistent. */
static size_t prepare(const uint8_t *data, size_t size)
{
	struct shmstat_hf_hdr *h = (struct shmstat_hf_hdr *)(void *)img;
	size_t len = size < MAX_FILE ? size : MAX_FILE;

	memcpy(img, data, len);
	if (len < sizeof(*h))
		return len;
	if (h->total_size >= sizeof(*h) && h->total_size <= MAX_FILE) {
		if (len < h->total_size)
			memset(img + len, 0, h->total_size - len);
		len = (size_t)h->total_size;
	}
	h->hdr_sum = XXH3_64bits(img, SHMSTAT_HF_HDR_SUM_BYTES);
	/* the dictionary, as shmstat__hf_dict_refresh() (history/io.c) walks it */
	if (shmstat__fits(h->dict_off, h->dict_len, len)) {
		uint64_t end = 0, index = 0;

		while (end + SHMSTAT_HF_ENT_HDR <= h->dict_len) {
			/* offsets not checked yet (may be misaligned): bytes */
			unsigned char *e = img + h->dict_off + end;
			struct shmstat_hf_ent eh;

			memcpy(&eh, e, sizeof(eh));
			if (eh.magic != SHMSTAT_HF_ENT_MAGIC || eh.len < SHMSTAT_HF_ENT_HDR + 8 ||
			    eh.len % 8 || eh.len > h->dict_len - end || eh.len > SHMSTAT_HF_REC_MAX ||
			    eh.index != index)
				break;
			eh.sum = shmstat__hf_sum(e, eh.len, h->seed, SHMSTAT_HF_AREA_DICT);
			memcpy(e + offsetof(struct shmstat_hf_ent, sum), &eh.sum, sizeof(eh.sum));
			end += eh.len;
			index++;
		}
	}
	/* the rings, as shmstat__hf_scan_ring() (history/io.c) scans them */
	for (unsigned k = 0; k < h->ntiers && k < SHMSTAT_HISTORY_MAX_TIERS; k++) {
		const struct shmstat_hf_tier *t = &h->tier[k];
		uint64_t off = 0;

		if (!shmstat__fits(t->ring_off, t->ring_len, len))
			continue;
		while (off + SHMSTAT_HF_REC_HDR <= t->ring_len) {
			unsigned char *r = img + t->ring_off + off;
			struct shmstat_hf_rec rh;

			memcpy(&rh, r, sizeof(rh));
			if (rh.magic == SHMSTAT_HF_REC_MAGIC && rh.len >= SHMSTAT_HF_REC_HDR + 8 &&
			    rh.len % 8 == 0 && rh.len <= t->ring_len - off &&
			    rh.len <= SHMSTAT_HF_REC_MAX && rh.seq != 0) {
				rh.sum = shmstat__hf_sum(r, rh.len, h->seed, k);
				memcpy(r + offsetof(struct shmstat_hf_rec, sum), &rh.sum,
				       sizeof(rh.sum));
				off += rh.len;
				continue;
			}
			off += 8;
		}
	}
	return len;
}

static void use_str(const char *s)
{
	volatile size_t n = strlen(s);

	(void)n;
}

static void walk_hdata(const shmstat_hdata *h)
{
	static const double q[] = { 0, 0.5, 0.99, 1 };
	struct shmstat_hstats st;
	uint64_t out[4];
	size_t nb = shmstat_hdata_buckets(h);

	shmstat_hdata_stats(h, &st);
	(void)shmstat_hdata_quantiles(h, q, 4, out);
	for (size_t k = 0; k <= nb; k++) {
		uint64_t lo, hi, c;

		(void)shmstat_hdata_bucket(h, k, &lo, &hi, &c);
	}
}

/* series queried with shmstat_window: the first NQ names/label sets seen */
struct qseries {
	const char *name, *labels;
	enum shmstat_type type;
};

static size_t walk_frames(shmstat_frame **f, size_t n, struct qseries *qs)
{
	size_t nq = 0;

	for (size_t j = 0; j < n; j++) {
		struct shmstat_frame_info fi;
		shmstat_hdata *prev = NULL;

		shmstat_frame_info(f[j], &fi);
		use_str(fi.segment);
		for (size_t i = 0; i <= fi.series; i++) {
			struct shmstat_series s;
			shmstat_hdata *h;

			if (shmstat_frame_series(f[j], i, &s) != 0)
				continue;
			use_str(s.name);
			use_str(s.labels);
			use_str(s.help);
			use_str(s.unit);
			(void)shmstat_frame_find(f[j], s.name, s.labels);
			(void)shmstat_labels_match(s.labels, s.labels);
			if (nq < NQ) {
				size_t k = 0;

				while (k < nq && (strcmp(qs[k].name, s.name) != 0 ||
						  strcmp(qs[k].labels, s.labels) != 0))
					k++;
				if (k == nq)
					qs[nq++] = (struct qseries){ s.name, s.labels, s.type };
			}
			if (shmstat_frame_hist(f[j], i, &h) == 0) {
				walk_hdata(h);
				if (prev) {
					shmstat_hdata *d = NULL;

					if (shmstat_hdata_sub(h, prev, &d) == 0)
						walk_hdata(d);
					shmstat_hdata_free(d);
					(void)shmstat_hdata_merge(prev, h);
				}
				shmstat_hdata_free(prev);
				prev = h;
			}
			for (size_t k = 0; k <= s.top; k++) {
				struct shmstat_sigkey key;

				if (shmstat_frame_sigkey(f[j], i, k, &key) == 0)
					use_str(key.owner);
			}
		}
		shmstat_hdata_free(prev);
	}
	return nq;
}

static void windows(shmstat_frame **f, size_t n, const struct qseries *qs, size_t nq)
{
	uint64_t t0 = 0, t1 = UINT64_MAX;

	if (n) {
		struct shmstat_frame_info a, b;

		shmstat_frame_info(f[0], &a);
		shmstat_frame_info(f[n - 1], &b);
		t0 = a.time_ns;
		t1 = b.time_ns;
	}
	for (size_t k = 0; k < nq; k++) {
		for (int fig = 0; fig <= SHMSTAT_FIG_SIG_HIT_RATE; fig++) {
			struct shmstat_wquery q = { .name = qs[k].name, .fig = (enum shmstat_figure)fig,
						    .q = 0.9 };
			struct shmstat_wvalue v;
			struct shmstat_trend tr;

			(void)shmstat_window(f, n, &q, 0, UINT64_MAX, &v);
			q.labels = qs[k].labels;
			q.exact = 1;
			(void)shmstat_window(f, n, &q, t0, t1, &v);
			q.exact = 0;
			q.q = 1;
			(void)shmstat_window(f, n, &q, t0 + (t1 - t0) / 2, t1, &v);
			/* trends cost a window per sub-window: a few */
			if (k < 2 && (fig == SHMSTAT_FIG_RATE || fig == SHMSTAT_FIG_GAUGE ||
				      fig == SHMSTAT_FIG_QUANTILE || fig == SHMSTAT_FIG_SIG_HIT_RATE)) {
				if (n <= 64)
					(void)shmstat_window_trend(f, n, &q, t0, t1, 0, &tr);
				(void)shmstat_window_trend(f, n, &q, t0, t1, (t1 - t0) / 16 + 1, &tr);
			}
		}
	}
}

/* what `shmstat show --history` and `shmstat trend` print of the file */
static void tools(const struct qseries *qs, size_t nq, uint64_t last_ns)
{
	char at[64];
	const char *range[] = { "show", "--history", path, "--range", "@0", "@17999999999",
				NULL, NULL };
	const char *window[] = { "show", "--history", path, "--window", "1h", "--at", at, NULL,
				 NULL };

	snprintf(at, sizeof(at), "@%" PRIu64 ".%09" PRIu64, last_ns / 1000000000u,
		 last_ns % 1000000000u);
	if (last_ns / 1000000000u >= 17999999999u)
		snprintf(at, sizeof(at), "now");
	(void)fuzz_cmd(cmd_show, range);
	range[6] = "--json";
	(void)fuzz_cmd(cmd_show, range);
	(void)fuzz_cmd(cmd_show, window);
	window[7] = "--json";
	(void)fuzz_cmd(cmd_show, window);
	for (size_t k = 0; k < nq && k < 2; k++) {
		const char *trend[] = { "trend", "--at", at, "-w", "1h", path, qs[k].name, NULL };

		(void)fuzz_cmd(cmd_trend, trend);
	}
}

static void reader(void)
{
	struct shmstat_tier tiers[SHMSTAT_HISTORY_MAX_TIERS];
	struct qseries qs[NQ];
	shmstat_history *h;
	shmstat_frame **f = NULL, **g = NULL;
	size_t n = 0, m = 0, nq;
	uint64_t last = 0;

	if (shmstat_history_open(path, &h) != 0)
		return;
	(void)shmstat_history_tiers(h, tiers, SHMSTAT_HISTORY_MAX_TIERS);
	if (shmstat_history_range(h, 0, UINT64_MAX, &f, &n) != 0) {
		shmstat_history_close(h);
		return;
	}
	nq = walk_frames(f, n, qs);
	if (n) {
		struct shmstat_frame_info a, b;

		shmstat_frame_info(f[0], &a);
		shmstat_frame_info(f[n - 1], &b);
		last = b.time_ns;
		if (shmstat_history_range(h, a.time_ns + (b.time_ns - a.time_ns) / 2, b.time_ns, &g,
					  &m) == 0)
			shmstat_frames_free(g, m);
	}
	/* frames outlive their handle */
	shmstat_history_close(h);
	windows(f, n, qs, nq);
	tools(qs, nq, last);
	shmstat_frames_free(f, n);
}

/* a recorder resuming the file: the writer's own reading of it */
static void writer(void)
{
	shmstat_history *h;
	shmstat_frame **f;
	size_t n;
	unsigned written;

	if (shmstat_history_create(path, NULL, &h) != 0)
		return;
	(void)shmstat_history_set_segment(h, "fuzz");
	(void)shmstat_history_append(h, snap, UINT64_C(1) << 62, &written);
	if (shmstat_history_range(h, 0, UINT64_MAX, &f, &n) == 0) {
		struct qseries qs[NQ];

		(void)walk_frames(f, n, qs);
		shmstat_frames_free(f, n);
	}
	shmstat_history_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = prepare(data, size);

	if (ftruncate(file_fd, (off_t)len) != 0 ||
	    (len && pwrite(file_fd, img, len, 0) != (ssize_t)len)) {
		perror("fuzz_history: write");
		abort();
	}
	reader();
	writer();
	return 0;
}
