/*
 * counter.c - the counter and gauge types: hot paths, registration,
 * their part of the fold, and their values in a snapshot.
 *
 * A counter is one value slot, summed over stripes. A gauge is three:
 * [0] the sum of its deltas (adds, subs) in a stripe, [1] in a process
 * stripe the base that makes the process's value (base + its deltas)
 * what it set, [2] the process's stamp (0: it never had the gauge; for
 * LAST the order of its sets). Its aggregation combines the processes'
 * values (grave: those of gone processes).
 */
#include <errno.h>
#include <string.h>

#include "shmstat.h"
#include "counter.h"
#include "gaugesnap.h"
#include "grace.h"
#include "hook.h"
#include "registry.h"
#include "snap.h"
#include "tls.h"
#include "type.h"

struct shmstat_counter shmstat__noop_counter = {
	.epoch = SHMSTAT_EPOCH_NONE,
};
struct shmstat_gauge shmstat__noop_gauge = {
	.c = { .epoch = SHMSTAT_EPOCH_NONE },
};

/* ------------------------------------------------------------- hot paths */

#define tls_ent shmstat__tls_ent
#define add_to shmstat__add_to

/* Out of line so the fast path needs no stack frame: the first update of
 * this thread, a shared stripe, a do-nothing handle, an acknowledgement
 * asked for. */
static __attribute__((noinline)) void add_slow(struct shmstat_counter *c, uint64_t n)
{
	const struct tls_ent *t = shmstat__tls_slow(c);

	if (t != NULL) {
		SHMSTAT_HOOK(SHMSTAT_HOOK_ADD_CHECKED, c);
		add_to(t, c->off, n);
	}
}

static inline void add_value(struct shmstat_counter *c, uint64_t n)
{
	const struct tls_ent *t = &shmstat__tls[c->tls_slot];
	uint64_t *p;

	/* relaxed loads (plain moves): another thread's shmstat_quiesce()
	 * writes both (drops the handle, clears fast) */
	if (unlikely(ld_relaxed(&t->fast) != ld_relaxed(&c->epoch))) {
		add_slow(c, n);
		return;
	}
	SHMSTAT_HOOK(SHMSTAT_HOOK_ADD_CHECKED, c);
	p = t->values + c->off;
	st_relaxed(p, ld_relaxed(p) + n);
}

void shmstat_counter_add(shmstat_counter *c, uint64_t n)
{
	add_value(c, n);
}

void shmstat_counter_inc(shmstat_counter *c)
{
	add_value(c, 1);
}

void shmstat_gauge_add(shmstat_gauge *g, int64_t d)
{
	add_value(&g->c, (uint64_t)d);
}

void shmstat_gauge_sub(shmstat_gauge *g, int64_t d)
{
	add_value(&g->c, (uint64_t)0 - (uint64_t)d);
}

static void gauge_join(struct shmstat_seg *seg, uint32_t off)
{
	uint64_t *stamp = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(seg->proc)) + off + 2;
	uint64_t zero = 0;

	if (ld_relaxed(stamp) == 0)
		cas_acqrel(stamp, &zero, 1);
}

/* Is thread stripe @i one of this process's? */
static bool stripe_mine(const struct shmstat_seg *seg, uint32_t i)
{
	return shmstat__stripe_of(ld_relaxed(&seg->owners[i]), seg->proc);
}

/* The sum of slot @off over this process's thread stripes: those its
 * threads took (seg->mine; every stripe marked with its slot is there),
 * each checked as the walk checks it. The walk of every owner word made
 * a gauge set cost 18 us with 4,000 thread stripes, used or not. */
static uint64_t own_deltas(const struct shmstat_seg *seg, uint32_t off)
{
	uint64_t sum = 0;

	if (seg->mine != NULL) {
		const uint32_t n = ld_acquire(&seg->nmine);

		for (uint32_t k = 0; k < n; k++)
			if (stripe_mine(seg, seg->mine[k]))
				sum += ld_relaxed(&shmstat__stripe(seg, seg->mine[k])[off]);
		return sum;
	}
	for (uint32_t i = SHMSTAT_GRAVES + seg->max_procs; i < seg->nstripes; i++)
		if (stripe_mine(seg, i))
			sum += ld_relaxed(&shmstat__stripe(seg, i)[off]);
	return sum;
}

void shmstat_gauge_set(shmstat_gauge *g, int64_t v)
{
	struct shmstat_seg *seg = g->c.seg;
	const uint32_t off = g->c.off;
	struct shmstat_proc *me;
	uint64_t *pstripe;
	uint64_t deltas;

	/* as an add: a registered thread, acknowledging if asked; its
	 * stores below are in the same window as an add's (see
	 * shmstat__ack_request()) */
	if (!shmstat__tls_enter(&g->c) || seg->proc >= seg->max_procs)
		return;
	gauge_join(seg, off);
	pstripe = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(seg->proc));
	/* counted before our stores and after them: a reader that copied
	 * the base and the deltas at two moments reads them again
	 * (gaugesnap.h) */
	me = &seg->procs[seg->proc];
	add_relaxed(&me->sets_begun, 1);
	shmstat__fence(__ATOMIC_RELEASE);
	/* our value = base + our deltas; make it v */
	deltas = ld_relaxed(&pstripe[off]) + own_deltas(seg, off);
	st_relaxed(&pstripe[off + 1], (uint64_t)v - deltas);
	if (g->c.agg == SHMSTAT_AGG_LAST || g->c.agg == SHMSTAT_AGG_LIVELAST)
		st_release(&pstripe[off + 2], add_relaxed(&seg->hdr->gauge_seq, 1) + 2);
	__atomic_fetch_add(&me->sets_done, 1, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------- registration */

int shmstat_counter_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
			     shmstat_counter **out)
{
	const struct shmstat_shape shape = { .type = SHMSTAT_COUNTER, .nvalues = 1 };
	struct shmstat_counter *c;
	int err = shmstat__register(seg, def, &shape, &c);

	*out = err ? &shmstat__noop_counter : c;
	return err;
}

int shmstat_gauge_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
			   enum shmstat_agg agg, shmstat_gauge **out)
{
	struct shmstat_counter *c;
	int err;

	if ((unsigned)agg > SHMSTAT_AGG_LIVELAST) {
		*out = &shmstat__noop_gauge;
		return shmstat__fail(EINVAL, "gauge aggregation %d is unknown", (int)agg);
	}
	err = shmstat__register(seg, def,
				&(struct shmstat_shape){ .type = SHMSTAT_GAUGE, .agg = agg,
							 .nvalues = SHMSTAT_GAUGE_SLOTS }, &c);
	*out = err ? &shmstat__noop_gauge : (struct shmstat_gauge *)(void *)c;
	return err;
}

/* ------------------------------------------------------------ aggregation */

static void gauge_merge(uint32_t agg, uint64_t *g, int64_t v, uint64_t stamp)
{
	if (agg == SHMSTAT_AGG_SUM || agg == SHMSTAT_AGG_LIVESUM) {
		g[0] += (uint64_t)v;    /* every process adds, even unregistered */
		return;
	}
	if (stamp == 0)
		return;                 /* the process never had this gauge */
	switch (agg) {
	case SHMSTAT_AGG_MAX:
	case SHMSTAT_AGG_LIVEMAX:
		if (g[2] == 0 || v > (int64_t)g[1]) {
			g[1] = (uint64_t)v;
			g[2] = 1;
		}
		break;
	case SHMSTAT_AGG_MIN:
	case SHMSTAT_AGG_LIVEMIN:
		if (g[2] == 0 || v < (int64_t)g[1]) {
			g[1] = (uint64_t)v;
			g[2] = 1;
		}
		break;
	case SHMSTAT_AGG_LAST:
	case SHMSTAT_AGG_LIVELAST:
		if (stamp >= g[2]) {
			g[1] = (uint64_t)v;
			g[2] = stamp;
		}
		break;
	default:
		break;
	}
}

static bool is_live_agg(uint32_t agg)
{
	return agg >= SHMSTAT_AGG_LIVESUM;
}

/* --------------------------------------------------------------- the fold */

/* A gauge's [1] and [2] are not sums: its value is its base plus its
 * deltas, combined by its aggregation with the grave's. */
static void gauge_fold(struct shmstat_seg *seg, uint32_t p, const struct shmstat_desc *d,
		       const uint64_t *src, uint64_t *dst)
{
	const uint64_t *ps = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p));
	const uint32_t off = d->value_off;
	uint64_t g[3];
	int64_t val;

	for (int k = 0; k < 3; k++)
		g[k] = shmstat__fold_ld(seg, &src[off + k]);
	/* dst[off] - src[off] is p's sum of deltas (all its stripes) */
	val = (int64_t)(shmstat__fold_ld(seg, &dst[off]) - g[0] + shmstat__fold_ld(seg, &ps[off + 1]));
	if (!is_live_agg(d->agg))
		gauge_merge(d->agg, g, val, shmstat__fold_ld(seg, &ps[off + 2]));
	for (int k = 0; k < 3; k++)
		shmstat__fold_st(seg, &dst[off + k], g[k]);
}

/* ----------------------------------------------------------- registration */

static int gauge_same(const struct shmstat_shape *have, const struct shmstat_shape *want,
		      const char *name, const char *labels)
{
	if (have->agg != want->agg)
		return shmstat__fail(SHMSTAT_ETYPE,
				     "gauge '%s{%s}' exists with aggregation '%s', not '%s'",
				     name, labels, shmstat_agg_name(have->agg),
				     shmstat_agg_name(want->agg));
	return 0;
}

/* ------------------------------------------------------------- the reader */

static bool counter_desc_ok(const struct shmstat_hdr *h, const struct shmstat_desc *d)
{
	(void)h;
	return d->nvalues == 1;
}

static bool gauge_desc_ok(const struct shmstat_hdr *h, const struct shmstat_desc *d)
{
	(void)h;
	return d->nvalues == SHMSTAT_GAUGE_SLOTS && d->agg <= SHMSTAT_AGG_LIVELAST;
}

static void counter_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			  struct shmstat__mval *m)
{
	m->counter = s->grave[d->value_off] + shmstat__snap_sum(s, d->value_off, UINT32_MAX);
	m->has_value = 1;
}

static int counter_proc_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			      size_t j, uint64_t *counter, int64_t *gauge)
{
	(void)gauge;
	if (j == SHMSTAT_PROC_GONE)
		*counter = s->grave[d->value_off];
	else
		*counter = shmstat__snap_sum(s, d->value_off, (uint32_t)j);
	return 0;
}

/* Process @j's value of the gauge at slot @off and its stamp. */
static int64_t gauge_of(const struct shmstat_snap *s, uint32_t off, uint32_t j, uint64_t *stamp)
{
	const uint32_t ps = SHMSTAT_PROC_STRIPE(s->p[j].slot);
	int64_t v;

	if (shmstat__gauge_reread(s, s->p[j].slot, off, &v, stamp))
		return v;
	*stamp = shmstat__snap_at(s, ps, off + 2);
	return (int64_t)(shmstat__snap_at(s, ps, off + 1) + shmstat__snap_sum(s, off, j));
}

static void gauge_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			struct shmstat__mval *m)
{
	const uint32_t off = d->value_off;
	uint64_t g[3] = { s->grave[off], s->grave[off + 1], s->grave[off + 2] };
	const bool live = is_live_agg(d->agg);

	if (live)
		g[0] = g[1] = g[2] = 0;
	for (uint32_t j = 0; j < s->np; j++) {
		uint64_t stamp;
		int64_t v = gauge_of(s, off, j, &stamp);

		if (live && !s->p[j].alive)
			continue;
		gauge_merge(d->agg, g, v, stamp);
	}
	if (d->agg == SHMSTAT_AGG_SUM || d->agg == SHMSTAT_AGG_LIVESUM) {
		m->gauge = (int64_t)g[0];
		m->has_value = 1;
	} else {
		m->gauge = (int64_t)g[1];
		m->has_value = g[2] != 0;
	}
}

static int gauge_proc_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			    size_t j, uint64_t *counter, int64_t *gauge)
{
	const uint32_t off = d->value_off;
	uint64_t stamp;

	(void)counter;
	if (j == SHMSTAT_PROC_GONE) {
		if (d->agg == SHMSTAT_AGG_SUM) {
			*gauge = (int64_t)s->grave[off];
			return 0;
		}
		if (is_live_agg(d->agg) || s->grave[off + 2] == 0)
			return ENOENT;
		*gauge = (int64_t)s->grave[off + 1];
		return 0;
	}
	*gauge = gauge_of(s, off, (uint32_t)j, &stamp);
	if (d->agg == SHMSTAT_AGG_SUM || d->agg == SHMSTAT_AGG_LIVESUM)
		return 0;
	return stamp ? 0 : ENOENT;
}

const struct shmstat__type shmstat__counter_type = {
	.name = "counter",
	.type = SHMSTAT_COUNTER,
	.handle_size = sizeof(struct shmstat_counter),
	.removable = true,
	.desc_ok = counter_desc_ok,
	.value = counter_value,
	.proc_value = counter_proc_value,
};

const struct shmstat__type shmstat__gauge_type = {
	.name = "gauge",
	.type = SHMSTAT_GAUGE,
	.handle_size = sizeof(struct shmstat_gauge),
	.same_shape = gauge_same,
	.joined = gauge_join,
	.removable = true,
	.fold_slots = gauge_fold,
	.desc_ok = gauge_desc_ok,
	.recheck = shmstat__gauge_recheck,
	.snap_free = shmstat__gauge_snap_free,
	.value = gauge_value,
	.proc_value = gauge_proc_value,
};
