/*
 * gaugesnap.c - gauges in a snapshot: the values of processes that set
 * a gauge while the copy was made, read again (gaugesnap.h).
 *
 * The copy reads a process's base and its deltas at different moments.
 * A process whose sets_begun moved since the tables were copied, or
 * whose sets_done was behind it then, set a gauge meanwhile: its gauges
 * are read again, alone (its process stripe, its thread stripes as their
 * owner words say now, its process stripe again), in attempts. An
 * attempt between which no set of the process began gives every gauge's
 * value whole. Failing that, a gauge whose base and stamp read the same
 * before and after its deltas is taken from the attempt (a set in
 * between that left the very base it found aside); after TRIES attempts
 * the rest are taken from the last one as read.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gaugesnap.h"
#include "hook.h"
#include "layout.h"
#include "snap.h"

#define TRIES 8
/* gauges' slots closer than this are read in one pread */
#define GAP 64u

/* A process's value of a gauge, read again */
struct reread {
	uint32_t proc, off;
	int64_t value;
	uint64_t stamp;
};

/* What the recheck keeps in the snapshot (s->ext[SHMSTAT_GAUGE]), and
 * its scratch */
struct gauges {
	struct reread *v;          /* sorted by (proc, off) once done */
	size_t n, cap;
	uint32_t *off;             /* the gauges' first slots, ascending */
	uint32_t *pos;             /* gauge k's slot [0] in a stripe's read */
	size_t noff;
	struct shmstat__run *run;  /* the slots read of a stripe */
	size_t nrun, nslots;
	uint64_t *a, *b, *t, *sum; /* nslots each; sum: per gauge */
	uint8_t *settled;
	uint64_t *owners;          /* the thread stripes' owner words now */
};

static struct gauges *gauges_of(const struct shmstat_snap *s)
{
	return s->ext[SHMSTAT_GAUGE];
}

static void scratch_free(struct gauges *g)
{
	free(g->off);
	free(g->pos);
	free(g->run);
	free(g->a);
	free(g->b);
	free(g->t);
	free(g->sum);
	free(g->settled);
	free(g->owners);
	g->off = g->pos = NULL;
	g->run = NULL;
	g->a = g->b = g->t = g->sum = g->owners = NULL;
	g->settled = NULL;
	g->noff = g->nrun = g->nslots = 0;
}

void shmstat__gauge_snap_free(struct shmstat_snap *s)
{
	struct gauges *g = gauges_of(s);

	if (g == NULL)
		return;
	scratch_free(g);
	free(g->v);
	free(g);
	s->ext[SHMSTAT_GAUGE] = NULL;
}

static int by_u32(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int by_proc_off(const void *a, const void *b)
{
	const struct reread *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static bool any_gauge(const struct shmstat_snap *s)
{
	for (size_t i = 0; i < s->dir.n; i++)
		if (shmstat__mdir_desc(&s->dir, s->dir.at[i])->type == SHMSTAT_GAUGE)
			return true;
	return false;
}

/* The gauges of the directory, their runs of slots and the scratch to
 * read them: 0 or ENOMEM. */
static int plan(struct gauges *g, const struct shmstat_snap *s, const struct shmstat_hdr *rh)
{
	const size_t nthreads = rh->nstripes - SHMSTAT_GRAVES - rh->max_procs;
	size_t k = 0;

	g->off = malloc((s->dir.n ? s->dir.n : 1) * sizeof(*g->off));
	if (g->off == NULL)
		return ENOMEM;
	for (size_t i = 0; i < s->dir.n; i++) {
		const struct shmstat__rdesc *d = shmstat__mdir_desc(&s->dir, s->dir.at[i]);

		/* (the directory keeps sound descriptors only, mdir.c: a
		 * gauge's 3 slots within the stripe) */
		if (d->type == SHMSTAT_GAUGE)
			g->off[k++] = d->value_off;
	}
	g->noff = k;
	if (k == 0)
		return 0;
	qsort(g->off, k, sizeof(*g->off), by_u32);
	g->pos = malloc(k * sizeof(*g->pos));
	g->run = malloc(k * sizeof(*g->run));
	if (g->pos == NULL || g->run == NULL)
		return ENOMEM;
	for (size_t i = 0; i < k; i++) {
		struct shmstat__run *last = g->nrun ? &g->run[g->nrun - 1] : NULL;

		if (last && g->off[i] <= last->to + GAP) {
			/* the run's first slot is nslots - (to - from) in the read */
			g->pos[i] = (uint32_t)(g->nslots - (last->to - last->from) +
					       (g->off[i] - last->from));
			g->nslots += g->off[i] + SHMSTAT_GAUGE_SLOTS - last->to;
			last->to = g->off[i] + SHMSTAT_GAUGE_SLOTS;
		} else {
			g->run[g->nrun++] = (struct shmstat__run){ g->off[i],
								   g->off[i] + SHMSTAT_GAUGE_SLOTS };
			g->pos[i] = (uint32_t)g->nslots;
			g->nslots += SHMSTAT_GAUGE_SLOTS;
		}
	}
	g->a = malloc(g->nslots * sizeof(*g->a));
	g->b = malloc(g->nslots * sizeof(*g->b));
	g->t = malloc(g->nslots * sizeof(*g->t));
	g->sum = malloc(k * sizeof(*g->sum));
	g->settled = malloc(k);
	g->owners = malloc((nthreads ? nthreads : 1) * sizeof(*g->owners));
	if (!g->a || !g->b || !g->t || !g->sum || !g->settled || !g->owners)
		return ENOMEM;
	return 0;
}

/* The gauges' runs of slots of stripe @i into @dst: 0, -1 or EFBIG */
static int read_stripe(struct shmstat_snap *s, const struct gauges *g, uint32_t i, uint64_t *dst)
{
	const struct shmstat_hdr *rh = s->rhdr;
	const uint64_t at = rh->regions[SHMSTAT_REG_STRIPES].off + (uint64_t)i * rh->stripe_bytes;
	size_t k = 0;

	for (size_t r = 0; r < g->nrun; r++) {
		const uint64_t n = (uint64_t)(g->run[r].to - g->run[r].from);
		const int err = shmstat__copy_pread(&s->cp, (unsigned char *)(dst + k), n * 8,
						    at + (uint64_t)g->run[r].from * 8);

		if (err)
			return err;
		k += n;
	}
	return 0;
}

static int read_word(const struct shmstat_snap *s, uint64_t *w, uint64_t off)
{
	return shmstat__pread_full(s->cp.fd, w, 8, off) == 8 ? 0 : -1;
}

static int keep(struct gauges *g, uint32_t proc, uint32_t k, const uint64_t *base)
{
	if (g->n == g->cap) {
		const size_t cap = g->cap ? 2 * g->cap : 16;
		struct reread *v = realloc(g->v, cap * sizeof(*v));

		if (v == NULL)
			return ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = (struct reread){ proc, g->off[k], (int64_t)(base[1] + g->sum[k]), base[2] };
	return 0;
}

/* One attempt at process slot @p's gauges: its process stripe, its
 * thread stripes, its process stripe again; *@whole when no set of @p
 * began in between. 0, -1, EFBIG. */
static int attempt(struct shmstat_snap *s, struct gauges *g, uint32_t p, bool *whole)
{
	const struct shmstat_hdr *rh = s->rhdr;
	const uint64_t slot = rh->regions[SHMSTAT_REG_PROCS].off + (uint64_t)p * sizeof(struct shmstat_proc);
	const uint32_t first = SHMSTAT_GRAVES + rh->max_procs;
	const size_t nthreads = rh->nstripes - first;
	uint64_t done, begun, again;
	int err;

	/* done before begun: equal, no set was inside its stores then */
	if (read_word(s, &done, slot + offsetof(struct shmstat_proc, sets_done)) ||
	    read_word(s, &begun, slot + offsetof(struct shmstat_proc, sets_begun)))
		return -1;
	err = read_stripe(s, g, SHMSTAT_PROC_STRIPE(p), g->a);
	if (err)
		return err;
	for (size_t k = 0; k < g->noff; k++)
		g->sum[k] = g->a[g->pos[k]];
	/* the stripes it has now: a thread's first delta may be in a base */
	err = shmstat__copy_pread(&s->cp, (unsigned char *)g->owners, nthreads * 8,
				  rh->regions[SHMSTAT_REG_OWNERS].off + (uint64_t)first * 8);
	if (err)
		return err;
	for (size_t i = 0; i < nthreads; i++) {
		const uint64_t w = g->owners[i];

		if (SHMSTAT_STRIPE_PROC(w) != p || !SHMSTAT_STRIPE_HELD(w))
			continue;
		err = read_stripe(s, g, first + (uint32_t)i, g->t);
		if (err)
			return err;
		for (size_t k = 0; k < g->noff; k++)
			g->sum[k] += g->t[g->pos[k]];
	}
	SHMSTAT_HOOK(SHMSTAT_HOOK_GAUGE_REREAD, s);
	err = read_stripe(s, g, SHMSTAT_PROC_STRIPE(p), g->b);
	if (err)
		return err;
	shmstat__fence(__ATOMIC_ACQUIRE);
	if (read_word(s, &again, slot + offsetof(struct shmstat_proc, sets_begun)))
		return -1;
	*whole = done == begun && again == begun;
	return 0;
}

/* Process slot @p's gauges read again until each is whole */
static int settle(struct shmstat_snap *s, struct gauges *g, uint32_t p)
{
	size_t left = g->noff;

	memset(g->settled, 0, g->noff);
	for (int t = 0; t < TRIES && left; t++) {
		bool whole = false;
		const int err = attempt(s, g, p, &whole);

		if (err)
			return err;
		for (size_t k = 0; k < g->noff; k++) {
			const uint64_t *a = g->a + g->pos[k], *b = g->b + g->pos[k];

			if (g->settled[k] ||
			    !(whole || t == TRIES - 1 || (a[1] == b[1] && a[2] == b[2])))
				continue;
			if (keep(g, p, (uint32_t)k, a) != 0)
				return ENOMEM;
			g->settled[k] = 1;
			left--;
		}
		if (left)
			sched_yield();
	}
	return 0;
}

int shmstat__gauge_recheck(struct shmstat_snap *s)
{
	const struct shmstat_hdr *rh = s->rhdr;
	const uint64_t procs = rh->regions[SHMSTAT_REG_PROCS].off;
	struct gauges *g = gauges_of(s);
	int err = 0;

	if (g == NULL) {
		g = s->ext[SHMSTAT_GAUGE] = calloc(1, sizeof(*g));
		if (g == NULL)
			return ENOMEM;
	}
	/* a copy again: forget the last one's */
	g->n = 0;
	scratch_free(g);
	if (!any_gauge(s))
		return 0;       /* no pread a process */
	for (uint32_t p = 0; p < rh->max_procs && !err; p++) {
		const struct shmstat_proc *cp =
			(const void *)(s->buf + procs + (uint64_t)p * sizeof(struct shmstat_proc));
		const uint32_t st = SHMSTAT_PROC_STATE(cp->word);
		uint64_t begun;

		if (st != SHMSTAT_PROC_LIVE && st != SHMSTAT_PROC_EXITED)
			continue;
		err = read_word(s, &begun, procs + (uint64_t)p * sizeof(struct shmstat_proc) +
					   offsetof(struct shmstat_proc, sets_begun));
		if (err || (cp->sets_done == cp->sets_begun && begun == cp->sets_begun))
			continue;
		if (g->off == NULL)
			err = plan(g, s, rh);
		if (!err && g->noff > 0)
			err = settle(s, g, p);
	}
	scratch_free(g);
	if (g->n > 1)
		qsort(g->v, g->n, sizeof(*g->v), by_proc_off);
	return err;
}

bool shmstat__gauge_reread(const struct shmstat_snap *s, uint32_t proc, uint32_t off,
			   int64_t *value, uint64_t *stamp)
{
	const struct gauges *g = gauges_of(s);
	size_t lo = 0, hi = g ? g->n : 0;
	const struct reread key = { proc, off, 0, 0 };

	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		const int c = by_proc_off(&g->v[mid], &key);

		if (c == 0) {
			*value = g->v[mid].value;
			*stamp = g->v[mid].stamp;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}
