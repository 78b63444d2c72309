/*
 * test_modindex.c - the module of an address, found through the range
 * index (libshm/profile/rangeix.h) instead of a scan of every module:
 * the same answers as the scans it replaced, on random tables where
 * ranges overlap, nest, repeat, are empty or reversed, start at 0 or end
 * at UINT64_MAX, and priorities tie.
 *
 *   - rangeix itself against a scan, under both rules used: the highest
 *     seq then the first in the table (shmstat_profile_find_module), the
 *     last in (lo, hi) order (the symbolizer's find_mod, here as it was:
 *     a binary search and a walk back bounded by the running max of hi);
 *   - shmstat_profile_find_module end to end: module records of three
 *     processes written into a segment as a (hostile) writer could, read
 *     back with shmstat_snap_profile, every answer compared with the scan
 *     the function did before;
 *   - shmstat_profile_frame_module end to end: records with seq and gone
 *     (format 4.4) and CPU stacks at random points of the module
 *     history, each frame against a scan: the modules loaded at the
 *     stack's point (seq <= point < gone, gone 0: never), highest seq
 *     then first in the table; none: the rule above.
 *
 * Addresses asked: every lo and hi, one below and above each, and random
 * ones. These are guards of the answers; the cost (one binary search a
 * lookup, against a scan: 21.8 s before, under 1 s now, for 'shmstat
 * flame --addresses' on 16,384 records) is not timed here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "segment.h"
#include "modmap.h"
#include "rangeix.h"
#include "stacks.h"
#include "util.h"
#include "../xorshift.h"

static int failures;

#define CHECK(c, ...)                                                   \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			if (++failures > 20)                            \
				exit(1);                                \
		}                                                       \
	} while (0)

/* A random endpoint: clustered (so that ranges share ends and nest),
 * or an extreme. */
static uint64_t endpoint(uint64_t *x)
{
	uint64_t r = xorshift64(x);

	switch (r % 16) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return UINT64_MAX - 1 - (r >> 60);
	default:
		return 0x400000 + ((r >> 8) % 64) * 0x1000 + ((r >> 20) % 3);
	}
}

static void random_ranges(uint64_t *x, struct rangeix_in *in, size_t n, unsigned prio_mod)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t a = endpoint(x), b = endpoint(x);

		/* mostly well-ordered, some empty or reversed */
		if (xorshift64(x) % 8 != 0 && a > b) {
			uint64_t t = a;

			a = b;
			b = t;
		}
		in[i].lo = a;
		in[i].hi = b;
		in[i].prio = xorshift64(x) % prio_mod;
		in[i].id = i;
	}
}

/* The addresses to ask about: each end, its neighbours, random ones. */
static size_t probes(uint64_t *x, const struct rangeix_in *in, size_t n, uint64_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		out[k++] = in[i].lo;
		out[k++] = in[i].lo - 1;
		out[k++] = in[i].hi;
		out[k++] = in[i].hi - 1;
		out[k++] = in[i].hi + 1;
	}
	for (size_t i = 0; i < 64; i++)
		out[k++] = i % 2 ? endpoint(x) : xorshift64(x);
	return k;
}

/* shmstat_profile_find_module's rule, as its scan: the highest prio
 * (seq), then the first. */
static size_t scan_seq(const struct rangeix_in *in, size_t n, uint64_t a)
{
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < n; k++)
		if (a >= in[k].lo && a < in[k].hi && (best == SIZE_MAX || in[k].prio > in[best].prio))
			best = k;
	return best;
}

static int cmp_lohi(const void *pa, const void *pb)
{
	const struct rangeix_in *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return 0;
}

/* The symbolizer's find_mod as it was, on ranges sorted by (lo, hi) with
 * empty ones left out: the last that holds @a. */
static size_t walk_back(const struct rangeix_in *m, const uint64_t *maxhi, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		if (maxhi[i] <= a)
			break;
		if (a < m[i].hi)
			return i;
	}
	return SIZE_MAX;
}

static void test_rangeix(void)
{
	enum { ROUNDS = 400, MAXN = 96 };
	static struct rangeix_in in[MAXN], sorted[MAXN];
	static uint64_t maxhi[MAXN], pr[MAXN * 5 + 64];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t asked = 0;

	for (int r = 0; r < ROUNDS; r++) {
		size_t n = (size_t)(xorshift64(&x) % MAXN), np, ns = 0;
		struct rangeix ix;

		/* few priorities: many ties */
		random_ranges(&x, in, n, r % 2 ? 4 : 1000);
		CHECK(rangeix_build(&ix, in, n) == 0, "rangeix_build failed");
		np = probes(&x, in, n, pr);
		for (size_t i = 0; i < np; i++) {
			size_t want = scan_seq(in, n, pr[i]), got = rangeix_find(&ix, pr[i]);

			CHECK(got == want, "round %d, %zu ranges, seq rule: 0x%" PRIx64 " -> %zu, scan %zu",
			      r, n, pr[i], got, want);
		}
		rangeix_free(&ix);

		/* the symbolizer's rule: sorted, empty ones out, prio = id =
		 * the place in that order */
		for (size_t i = 0; i < n; i++)
			if (in[i].lo < in[i].hi)
				sorted[ns++] = in[i];
		qsort(sorted, ns, sizeof(*sorted), cmp_lohi);
		for (size_t i = 0; i < ns; i++) {
			sorted[i].prio = i;
			sorted[i].id = i;
			maxhi[i] = i && maxhi[i - 1] > sorted[i].hi ? maxhi[i - 1] : sorted[i].hi;
		}
		CHECK(rangeix_build(&ix, sorted, ns) == 0, "rangeix_build failed");
		for (size_t i = 0; i < np; i++) {
			size_t want = walk_back(sorted, maxhi, ns, pr[i]),
			       got = rangeix_find(&ix, pr[i]);

			CHECK(got == want, "round %d, %zu ranges, last rule: 0x%" PRIx64 " -> %zu, walk %zu",
			      r, ns, pr[i], got, want);
		}
		rangeix_free(&ix);
		asked += 2 * np;
	}
	printf("rangeix: %d tables, %zu lookups, as the scans\n", ROUNDS, asked);
}

/* ------------------------------------------- shmstat_profile_find_module */

#define PROCS 3
#define NMODS 240

/* Write module record @i of the process tagged @tag into @seg, as the
 * writer does, with any range and seq. */
static void put_module(shmstat_seg *seg, uint32_t i, uint64_t tag, const struct rangeix_in *r,
		       uint32_t seq)
{
	struct shmstat_profmod *m = &seg->mods[i];

	memset((char *)m + sizeof(m->word), 0, sizeof(*m) - sizeof(m->word));
	m->kind = SHMSTAT_PROFMOD_MODULE;
	m->seq = seq;
	m->base = 0;
	m->lo = r->lo;
	m->hi = r->hi;
	snprintf(m->path, sizeof(m->path), "/nonexistent/m%u", i);
	m->sum = shmstat__hash((const unsigned char *)m + SHMSTAT_PROFMOD_SUM_FROM,
			       sizeof(*m) - SHMSTAT_PROFMOD_SUM_FROM);
	__atomic_store_n(&m->word, SHMSTAT_TAG_OF(tag) | SHMSTAT_STACKENT_READY, __ATOMIC_RELEASE);
}

static void test_find_module(void)
{
	static struct rangeix_in in[NMODS];
	static uint64_t pr[NMODS * 5 + 64];
	char name[64];
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_reader *rd;
	shmstat_snap *s;
	shmstat_profile *p;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	uint64_t tags[PROCS];
	uint32_t seqs[NMODS];
	size_t asked = 0, found = 0;

	snprintf(name, sizeof(name), "hT-modindex-%d", (int)getpid());
	shmstat_opts_init(&o);
	o.max_stacks = 64;
	o.max_modules = NMODS;
	CHECK(shmstat_open(name, &o, &seg) == 0, "open: %s", shmstat_last_error());
	if (failures)
		exit(1);
	/* three processes: this one and two made-up tags */
	tags[0] = seg->tag;
	tags[1] = SHMSTAT_TAG(1, 12345);
	tags[2] = SHMSTAT_TAG(2, 67890);
	random_ranges(&x, in, NMODS, 1000);
	for (uint32_t i = 0; i < NMODS; i++) {
		/* ties of seq within a process; every tenth a large seq */
		seqs[i] = (uint32_t)(xorshift64(&x) % (i % 10 ? 8 : 1000)) + 1;
		put_module(seg, i, tags[i % PROCS], &in[i], seqs[i]);
	}
	CHECK(shmstat_reader_open(name, &rd) == 0, "reader: %s", shmstat_last_error());
	CHECK(shmstat_snapshot(rd, &s) == 0, "snapshot");
	CHECK(shmstat_snap_profile(rd, s, &p) == 0, "profile");
	if (failures)
		exit(1);
	for (size_t proc = 0; proc <= shmstat_profile_procs(p); proc++) {
		size_t nm = shmstat_profile_modules(p), np;
		struct rangeix_in *mine = calloc(nm + 1, sizeof(*mine));
		size_t *k_of = calloc(nm + 1, sizeof(*k_of)), n = 0;

		/* the scan's view: this process's modules in table order,
		 * each with the seq it was written with (its path says
		 * which record it is) */
		for (size_t k = 0; k < nm; k++) {
			struct shmstat_module_info mi;
			unsigned long rec;
			char *end;

			CHECK(shmstat_profile_module(p, k, &mi) == 0, "module %zu", k);
			if (mi.proc != proc)
				continue;
			rec = strncmp(mi.path, "/nonexistent/m", 14) == 0 ? strtoul(mi.path + 14, &end, 10)
									  : NMODS;
			CHECK(rec < NMODS, "path %s", mi.path);
			if (rec >= NMODS)
				exit(1);
			mine[n] = (struct rangeix_in){ .lo = mi.lo, .hi = mi.hi, .prio = seqs[rec],
						       .id = k };
			k_of[n++] = k;
		}
		np = probes(&x, mine, n, pr);
		for (size_t i = 0; i < np; i++) {
			size_t w = scan_seq(mine, n, pr[i]);
			long want = w == SIZE_MAX ? -1 : (long)k_of[w];
			long got = shmstat_profile_find_module(p, proc, pr[i]);

			CHECK(got == want, "process %zu, 0x%" PRIx64 ": module %ld, scan %ld", proc,
			      pr[i], got, want);
			found += got >= 0;
		}
		asked += np;
		free(mine);
		free(k_of);
	}
	printf("shmstat_profile_find_module: %zu processes, %zu modules, %zu lookups (%zu in a module), as the scan\n",
	       shmstat_profile_procs(p), shmstat_profile_modules(p), asked, found);
	CHECK(shmstat_profile_procs(p) == PROCS, "%zu processes", shmstat_profile_procs(p));
	CHECK(found > asked / 4, "only %zu of %zu lookups in a module", found, asked);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(rd);
	shmstat_close(seg);
	(void)shmstat_unlink(name);
}

/* ------------------------------------------ shmstat_profile_frame_module */

#define GRECS 48
#define GSTACKS 64

static void test_frame_module(void)
{
	static struct rangeix_in in[GRECS];
	static uint64_t pr[GRECS * 5 + 64];
	uint32_t seqs[GRECS], gones[GRECS];
	long k_of[GRECS];
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_reader *rd;
	shmstat_snap *s;
	shmstat_profile *p;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t np, asked = 0, at_point = 0;
	char name[64];

	snprintf(name, sizeof(name), "hT-modgen-%d", (int)getpid());
	shmstat_opts_init(&o);
	o.max_stacks = 256;
	o.max_modules = GRECS;
	CHECK(shmstat_open(name, &o, &seg) == 0, "open: %s", shmstat_last_error());
	if (failures)
		exit(1);
	random_ranges(&x, in, GRECS, 1000);
	for (uint32_t i = 0; i < GRECS; i++) {
		seqs[i] = (uint32_t)(xorshift64(&x) % 20) + 1;
		gones[i] = xorshift64(&x) % 2 ? 0 : seqs[i] + 1 + (uint32_t)(xorshift64(&x) % 10);
		put_module(seg, i, seg->tag, &in[i], seqs[i]);
		/* gone is under the sum: written again */
		seg->mods[i].gone = gones[i];
		seg->mods[i].sum = shmstat__hash((const unsigned char *)&seg->mods[i] + SHMSTAT_PROFMOD_SUM_FROM,
						 sizeof(seg->mods[i]) - SHMSTAT_PROFMOD_SUM_FROM);
	}
	np = probes(&x, in, GRECS, pr);
	for (uint32_t j = 0; j < GSTACKS; j++) {
		struct shmstat_stackkey k = { .kind = SHMSTAT_STACK_CPU, .depth = 8 };

		k.metric = (uint32_t)(xorshift64(&x) % 32);   /* 0: no point */
		for (uint32_t i = 0; i < k.depth; i++)
			k.pcs[i] = pr[xorshift64(&x) % np] + (i > 0);
		shmstat__stack_add(seg->hdr, seg->stacks, seg->max_stacks, seg->tag, &k, 1, 1);
	}
	CHECK(shmstat_reader_open(name, &rd) == 0, "reader: %s", shmstat_last_error());
	CHECK(shmstat_snapshot(rd, &s) == 0, "snapshot");
	CHECK(shmstat_snap_profile(rd, s, &p) == 0, "profile");
	if (failures)
		exit(1);
	/* the profile's modules: the records with a range, in table order */
	for (size_t k = 0, r = 0; r < GRECS; r++)
		k_of[r] = in[r].lo < in[r].hi ? (long)k++ : -1;
	CHECK(shmstat_profile_modules(p) > GRECS / 2, "%zu modules", shmstat_profile_modules(p));
	/* the profile's stacks are the table's entries in table order */
	for (uint32_t e = 0, k = 0; e < seg->max_stacks; e++) {
		struct shmstat_stack_info si;
		uint32_t point = seg->stacks[e].metric;

		if (SHMSTAT_STATE_OF(seg->stacks[e].word) != SHMSTAT_STACKENT_READY)
			continue;
		CHECK(shmstat_profile_stack(p, k, &si) == 0 && si.pcs[0] == seg->stacks[e].pcs[0],
		      "stack %u", k);
		for (uint32_t i = 0; i < si.depth; i++) {
			uint64_t a = si.pcs[i] - (i > 0);
			size_t w = SIZE_MAX;
			long want, got = shmstat_profile_frame_module(p, k, i);

			for (size_t r = 0; point && r < GRECS; r++) {
				if (a < in[r].lo || a >= in[r].hi || seqs[r] > point ||
				    (gones[r] && point >= gones[r]))
					continue;
				if (w == SIZE_MAX || seqs[r] > seqs[w])
					w = r;
			}
			at_point += w != SIZE_MAX;
			if (w == SIZE_MAX) {
				struct rangeix_in all[GRECS];

				for (size_t r = 0; r < GRECS; r++)
					all[r] = (struct rangeix_in){ .lo = in[r].lo, .hi = in[r].hi,
								      .prio = seqs[r], .id = r };
				w = scan_seq(all, GRECS, a);
			}
			want = w == SIZE_MAX ? -1 : k_of[w];
			CHECK(got == want, "stack %u frame %u (point %u, 0x%" PRIx64 "): module %ld, scan %ld",
			      k, i, point, a, got, want);
			asked++;
		}
		CHECK(shmstat_profile_frame_module(p, k, si.depth) == -1, "frame past the end");
		k++;
	}
	CHECK(shmstat_profile_frame_module(p, shmstat_profile_stacks(p), 0) == -1, "stack past the end");
	printf("shmstat_profile_frame_module: %zu stacks, %zu frames (%zu named by a module loaded at their point), as the scan\n",
	       shmstat_profile_stacks(p), asked, at_point);
	CHECK(at_point > asked / 8, "only %zu of %zu frames at a point", at_point, asked);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(rd);
	shmstat_close(seg);
	(void)shmstat_unlink(name);
}

int main(void)
{
	test_rangeix();
	test_find_module();
	test_frame_module();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
