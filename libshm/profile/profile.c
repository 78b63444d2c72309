/*
 * profile.c - a reader's view of the stack and module tables of one
 * snapshot (shmstat_profile.h): every entry of both tables validated
 * (state, checksum, bounds) and copied into private arrays, processes
 * named by their tags.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat_profile.h"
#include "hook.h"
#include "modmap.h"
#include "rangeix.h"
#include "snap.h"
#include "stacks.h"

struct pstack {
	size_t proc;
	size_t gix;                /* index in gens[] of its module history
				    * point, SIZE_MAX: none */
	uint32_t kind, depth, flags;
	long metric;               /* index in metrics[], or -1 */
	uint64_t samples, weight;
	uint64_t pcs[SHMSTAT_STACK_SLOTS];
};

struct pproc {
	uint64_t tag;
	uint32_t seq;              /* of the process record used, 0: none */
	struct shmstat_profile_proc info;
};

struct shmstat_profile {
	struct shmstat_profile_stats st;
	size_t nproc, nstack, nmod;
	struct pproc *procs;
	struct pstack *stacks;
	struct shmstat_profmod *mods;   /* validated copies, kind MODULE */
	size_t *mod_proc;
	struct rangeix *mod_ix;    /* per process: its modules by address */
	size_t *mod_order, *mod_start;   /* modules grouped by process:
				    * mod_order[mod_start[j] .. mod_start[j + 1]) */
	struct pgen {
		size_t proc;
		uint32_t gen;      /* a point of its module history (modmap.h) */
		struct rangeix ix; /* its modules loaded then, by address */
	} *gens;                   /* sorted by (proc, gen) */
	size_t ngen;
	struct {
		uint32_t slot;     /* the histogram's first value slot */
		char *name;        /* "name{labels}", NULL when no live histogram */
	} *metrics;                /* one per slot the latency stacks name */
	size_t nmetric;
};

/* A histogram of the snapshot by its first value slot: the index for
 * shmstat_snap_metric(). */
struct hist_at {
	uint32_t slot;
	size_t m;
};

static int cmp_hist_at(const void *a, const void *b)
{
	const struct hist_at *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->m < y->m ? -1 : x->m > y->m;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * p->metrics: one per histogram slot the latency stacks of @tab (usable
 * per @sok) name, sorted by slot, each named from @s (the first histogram
 * of the snapshot, in its order, at that slot).
 * Sorting and binary search, not a scan per stack: a stack table of 2^20
 * entries naming as many slots would cost 2^40 steps. 0 or ENOMEM.
 */
static int name_metrics(struct shmstat_profile *p, const shmstat_snap *s,
			const struct shmstat_stackent *tab, uint32_t ns, const int8_t *sok)
{
	uint32_t *slots = malloc(((size_t)ns + 1) * sizeof(*slots));
	struct hist_at *hs = malloc((s->nm + 1) * sizeof(*hs));
	size_t n = 0, nh = 0;
	int err = ENOMEM;

	if (slots == NULL || hs == NULL)
		goto out;
	for (uint32_t i = 0; i < ns; i++)
		if (sok[i] > 0 && tab[i].kind == SHMSTAT_STACK_LATENCY && tab[i].metric > 0)
			slots[n++] = tab[i].metric - 1;
	qsort(slots, n, sizeof(*slots), cmp_u32);
	for (size_t i = 0; i < s->nm; i++) {
		const struct shmstat__rdesc *d = shmstat__snap_desc(s, i);

		if (d->type == SHMSTAT_HISTOGRAM)
			hs[nh++] = (struct hist_at){ .slot = d->value_off, .m = i };
	}
	qsort(hs, nh, sizeof(*hs), cmp_hist_at);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;
		size_t lo = 0, hi = nh;
		char *name = NULL;

		if (i > 0 && slots[i] == slots[i - 1])
			continue;
		while (lo < hi) {     /* the first histogram at the slot */
			size_t mid = lo + (hi - lo) / 2;

			if (hs[mid].slot < slots[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nh && hs[lo].slot == slots[i] &&
		    shmstat_snap_metric(s, hs[lo].m, &mi) == 0 &&
		    (mi.labels[0] ? asprintf(&name, "%s{%s}", mi.name, mi.labels)
				  : asprintf(&name, "%s", mi.name)) < 0)
			goto out;
		p->metrics[p->nmetric].slot = slots[i];
		p->metrics[p->nmetric].name = name;
		p->nmetric++;
	}
	err = 0;
out:
	free(slots);
	free(hs);
	return err;
}

/* The index in p->metrics of histogram slot @slot (name_metrics() put
 * every slot of a usable stack there). */
static long metric_of(const struct shmstat_profile *p, uint32_t slot)
{
	size_t lo = 0, hi = p->nmetric;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->metrics[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nmetric && p->metrics[lo].slot == slot ? (long)lo : -1;
}

/* Index of process @tag in p->procs (sorted by tag), or SIZE_MAX. */
static size_t proc_of(const struct shmstat_profile *p, uint64_t tag)
{
	size_t lo = 0, hi = p->nproc;

	tag = SHMSTAT_TAG_OF(tag);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->procs[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nproc && p->procs[lo].tag == tag ? lo : SIZE_MAX;
}

/* The processes: every tag of a usable stack or record, once. */
static int collect_procs(struct shmstat_profile *p, const struct shmstat_stackent *tab,
			 uint32_t ns, const struct shmstat_profmod *mods, uint32_t nm,
			 const int8_t *sok, const int8_t *mok)
{
	uint64_t *tags = malloc(((size_t)ns + nm + 1) * sizeof(*tags));
	size_t n = 0;

	if (tags == NULL)
		return ENOMEM;
	for (uint32_t i = 0; i < ns; i++)
		if (sok[i] > 0)
			tags[n++] = SHMSTAT_TAG_OF(tab[i].word);
	for (uint32_t i = 0; i < nm; i++)
		if (mok[i] > 0)
			tags[n++] = SHMSTAT_TAG_OF(mods[i].word);
	qsort(tags, n, sizeof(*tags), rangeix_cmp_u64);
	p->procs = calloc(n + 1, sizeof(*p->procs));
	if (p->procs == NULL) {
		free(tags);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (i == 0 || tags[i] != tags[i - 1]) {
			struct pproc *pp = &p->procs[p->nproc++];

			pp->tag = tags[i];
			pp->info.pid = (pid_t)SHMSTAT_TAG_PID(tags[i]);
			pp->info.starttime = SHMSTAT_TAG_START(tags[i]);
		}
	free(tags);
	return 0;
}

/*
 * p->mod_ix: for each process, its modules indexed by range (rangeix.h),
 * so that shmstat_profile_find_module is a binary search and not a scan
 * of every module (a table of 16,384 records and 2^14 stacks of 58
 * frames took 21 s in 'shmstat flame --addresses'). The winner among
 * the modules holding an address is the one a scan finds: the highest
 * seq, then the first in the table. 0 or ENOMEM.
 */
static int index_modules(struct shmstat_profile *p)
{
	struct rangeix_in *in = malloc((p->nmod + 1) * sizeof(*in));
	size_t *order = malloc((p->nmod + 1) * sizeof(*order));
	size_t *start = calloc(p->nproc + 2, sizeof(*start));
	int err = ENOMEM;

	p->mod_ix = calloc(p->nproc + 1, sizeof(*p->mod_ix));
	if (in == NULL || order == NULL || start == NULL || p->mod_ix == NULL)
		goto out;
	/* the modules grouped by process, in table order within each */
	for (size_t k = 0; k < p->nmod; k++)
		start[p->mod_proc[k] + 1]++;
	for (size_t j = 0; j < p->nproc; j++)
		start[j + 1] += start[j];
	for (size_t k = 0; k < p->nmod; k++)
		order[start[p->mod_proc[k]]++] = k;
	for (size_t j = p->nproc; j > 0; j--)
		start[j] = start[j - 1];
	start[0] = 0;
	for (size_t j = 0; j < p->nproc; j++) {
		size_t n = 0;

		for (size_t i = start[j]; i < start[j + 1]; i++) {
			const struct shmstat_profmod *m = &p->mods[order[i]];

			in[n++] = (struct rangeix_in){ .lo = m->lo, .hi = m->hi, .prio = m->seq,
						       .id = order[i] };
		}
		if (n > 0 && rangeix_build(&p->mod_ix[j], in, n) != 0)
			goto out;
	}
	p->mod_order = order;
	p->mod_start = start;
	order = start = NULL;
	err = 0;
out:
	free(in);
	free(order);
	free(start);
	return err;
}

static int cmp_gen(const void *a, const void *b)
{
	const struct pgen *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* Of all the modules indexed for module history points, at most this
 * many (a writer's stacks may name any number of points). */
#define GEN_BUDGET ((size_t)1 << 22)

/*
 * p->gens: for each (process, point of its module history) that CPU
 * stacks carry (metric, modmap.h), an index of the modules loaded at
 * that point: seq <= gen and (gone == 0 or gen < gone), the highest seq
 * winning, then the first in the table. Each stack gets the index of its
 * point (gix), or none past GEN_BUDGET modules indexed (its frames are
 * then named as without points: the latest published). 0 or ENOMEM.
 */
static int index_gens(struct shmstat_profile *p)
{
	struct rangeix_in *in = malloc((p->nmod + 1) * sizeof(*in));
	size_t budget = GEN_BUDGET, n = 0;
	int err = ENOMEM;

	p->gens = calloc(p->nstack + 1, sizeof(*p->gens));
	if (in == NULL || p->gens == NULL)
		goto out;
	for (size_t k = 0; k < p->nstack; k++)
		if (p->stacks[k].gix != SIZE_MAX && p->stacks[k].proc < p->nproc)
			p->gens[n++] = (struct pgen){ .proc = p->stacks[k].proc,
						      .gen = (uint32_t)p->stacks[k].gix };
	qsort(p->gens, n, sizeof(*p->gens), cmp_gen);
	for (size_t i = 0; i < n; i++) {
		struct pgen *g = &p->gens[i];
		size_t m = 0, from = p->mod_start[g->proc], to = p->mod_start[g->proc + 1];

		if (p->ngen > 0 && cmp_gen(g, &p->gens[p->ngen - 1]) == 0)
			continue;
		if (to - from > budget)
			break;
		budget -= to - from;
		for (size_t t = from; t < to; t++) {
			const struct shmstat_profmod *r = &p->mods[p->mod_order[t]];

			if (r->seq <= g->gen && (r->gone == 0 || g->gen < r->gone))
				in[m++] = (struct rangeix_in){ .lo = r->lo, .hi = r->hi, .prio = r->seq,
							       .id = p->mod_order[t] };
		}
		p->gens[p->ngen] = (struct pgen){ .proc = g->proc, .gen = g->gen };
		if (m > 0 && rangeix_build(&p->gens[p->ngen].ix, in, m) != 0)
			goto out;
		p->ngen++;
	}
	/* each stack's point -> its index */
	for (size_t k = 0; k < p->nstack; k++) {
		struct pstack *ps = &p->stacks[k];
		struct pgen key = { .proc = ps->proc, .gen = (uint32_t)ps->gix };
		const struct pgen *g;

		if (ps->gix == SIZE_MAX)
			continue;
		g = bsearch(&key, p->gens, p->ngen, sizeof(*p->gens), cmp_gen);
		ps->gix = g ? (size_t)(g - p->gens) : SIZE_MAX;
	}
	err = 0;
out:
	free(in);
	return err;
}

static int snap_profile(shmstat_reader *r, const shmstat_snap *s, shmstat_profile **out)
{
	const struct shmstat_hdr *h;
	unsigned char *sbuf = NULL, *mbuf = NULL;
	const struct shmstat_stackent *tab;
	const struct shmstat_profmod *mods;
	uint64_t slen = 0, mlen = 0;
	uint32_t ns, nm;
	int8_t *sok = NULL, *mok = NULL;
	struct shmstat_profile *p;
	int err;

	shmstat__clear_error();
	*out = NULL;
	(void)shmstat__snap_bytes(s, &h);
	err = shmstat__reader_region(r, s, SHMSTAT_REG_STACKS, &sbuf, &slen);
	SHMSTAT_HOOK(SHMSTAT_HOOK_PROFILE_READ, r);
	if (err == 0)
		err = shmstat__reader_region(r, s, SHMSTAT_REG_MODS, &mbuf, &mlen);
	if (err) {
		shmstat__region_free(sbuf, slen);
		return err;
	}
	tab = (const void *)sbuf;
	ns = (uint32_t)(slen / sizeof(*tab));
	mods = (const void *)mbuf;
	nm = (uint32_t)(mlen / sizeof(*mods));
	err = ENOMEM;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto fail;
	p->st.capacity = ns;
	p->st.modules_capacity = nm;
	p->st.dropped_samples = h->prof_dropped;
	p->st.dropped_weight = h->prof_dropped_weight;
	p->st.dropped_modules = h->prof_mods_dropped;
	sok = malloc((size_t)ns + 1);
	mok = malloc((size_t)nm + 1);
	if (sok == NULL || mok == NULL)
		goto fail;
	for (uint32_t i = 0; i < ns; i++) {
		sok[i] = (int8_t)shmstat__stack_check(&tab[i]);
		p->st.bad += sok[i] < 0;
		p->st.used += sok[i] > 0;
	}
	for (uint32_t i = 0; i < nm; i++) {
		mok[i] = (int8_t)shmstat__modmap_check(&mods[i]);
		p->st.bad += mok[i] < 0;
		p->st.modules_used += mok[i] > 0;
	}
	if (collect_procs(p, tab, ns, mods, nm, sok, mok))
		goto fail;
	/* process records: the latest of each process */
	p->mods = calloc((size_t)nm + 1, sizeof(*p->mods));
	p->mod_proc = calloc((size_t)nm + 1, sizeof(*p->mod_proc));
	if (p->mods == NULL || p->mod_proc == NULL)
		goto fail;
	for (uint32_t i = 0; i < nm; i++) {
		const struct shmstat_profmod *m = &mods[i];
		size_t j;

		if (mok[i] <= 0 || (j = proc_of(p, m->word)) == SIZE_MAX)
			continue;
		if (m->kind == SHMSTAT_PROFMOD_MODULE) {
			p->mods[p->nmod] = *m;
			p->mod_proc[p->nmod++] = j;
		} else if (m->seq > p->procs[j].seq) {
			p->procs[j].seq = m->seq;
			p->procs[j].info.hz = m->hz;
			p->procs[j].info.start_ns = m->start_ns;
			memcpy(p->procs[j].info.comm, m->comm, sizeof(m->comm));
		}
	}
	if (index_modules(p) != 0)
		goto fail;
	/* alive: the writer slot with the same pid and start time is live */
	for (size_t k = 0; k < shmstat_snap_procs(s); k++) {
		struct shmstat_proc_info pi;
		size_t j;

		if (shmstat_snap_proc(s, k, &pi) != 0 || !pi.alive)
			continue;
		j = proc_of(p, SHMSTAT_TAG(pi.pid, pi.starttime));
		if (j != SIZE_MAX) {
			p->procs[j].info.alive = 1;
			if (p->procs[j].info.comm[0] == 0)
				memcpy(p->procs[j].info.comm, pi.comm, sizeof(p->procs[j].info.comm));
		}
	}
	p->stacks = calloc((size_t)p->st.used + 1, sizeof(*p->stacks));
	p->metrics = calloc((size_t)p->st.used + 1, sizeof(*p->metrics));
	if (p->stacks == NULL || p->metrics == NULL || name_metrics(p, s, tab, ns, sok) != 0)
		goto fail;
	for (uint32_t i = 0; i < ns; i++) {
		const struct shmstat_stackent *e = &tab[i];
		struct pstack *ps;

		if (sok[i] <= 0)
			continue;
		ps = &p->stacks[p->nstack];
		ps->proc = proc_of(p, e->word);
		ps->kind = e->kind;
		ps->depth = e->depth;
		ps->flags = e->flags;
		ps->samples = e->samples;
		ps->weight = e->weight;
		memcpy(ps->pcs, e->pcs, (size_t)e->depth * sizeof(e->pcs[0]));
		ps->metric = -1;
		if (e->kind == SHMSTAT_STACK_LATENCY && e->metric > 0)
			ps->metric = metric_of(p, e->metric - 1);
		/* a CPU stack's metric: its point of the module history
		 * (until index_gens, the point itself) */
		ps->gix = e->kind == SHMSTAT_STACK_CPU && e->metric > 0 ? e->metric : SIZE_MAX;
		if (e->kind == SHMSTAT_STACK_CPU)
			p->st.cpu_samples += e->samples;
		else
			p->st.latency_samples += e->samples;
		p->nstack++;
	}
	if (index_gens(p) != 0) {
		err = ENOMEM;
		goto fail;
	}
	free(sok);
	free(mok);
	shmstat__region_free(sbuf, slen);
	shmstat__region_free(mbuf, mlen);
	*out = p;
	return 0;
fail:
	free(sok);
	free(mok);
	shmstat__region_free(sbuf, slen);
	shmstat__region_free(mbuf, mlen);
	shmstat_profile_free(p);
	return shmstat__fail(err, "out of memory reading the profile of segment '%s'", r->name);
}

/* No cancellation point, as shmstat_snapshot(): a thread cancelled at
 * the pread()s of the module records left its copy of the stack table
 * mapped for good (tests/stress/test_cancel.c). */
int shmstat_snap_profile(shmstat_reader *r, const shmstat_snap *s, shmstat_profile **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = snap_profile(r, s, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

void shmstat_profile_free(shmstat_profile *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nmetric; i++)
		free(p->metrics[i].name);
	free(p->metrics);
	free(p->stacks);
	free(p->procs);
	free(p->mods);
	free(p->mod_proc);
	if (p->mod_ix)
		for (size_t j = 0; j < p->nproc; j++)
			rangeix_free(&p->mod_ix[j]);
	free(p->mod_ix);
	free(p->mod_order);
	free(p->mod_start);
	for (size_t i = 0; i < p->ngen; i++)
		rangeix_free(&p->gens[i].ix);
	free(p->gens);
	free(p);
}

void shmstat_profile_stats(const shmstat_profile *p, struct shmstat_profile_stats *out)
{
	*out = p->st;
}

size_t shmstat_profile_procs(const shmstat_profile *p)
{
	return p->nproc;
}

int shmstat_profile_proc(const shmstat_profile *p, size_t j, struct shmstat_profile_proc *out)
{
	if (j >= p->nproc)
		return EINVAL;
	*out = p->procs[j].info;
	return 0;
}

size_t shmstat_profile_stacks(const shmstat_profile *p)
{
	return p->nstack;
}

int shmstat_profile_stack(const shmstat_profile *p, size_t k, struct shmstat_stack_info *out)
{
	const struct pstack *ps;

	if (k >= p->nstack)
		return EINVAL;
	ps = &p->stacks[k];
	out->proc = ps->proc;
	out->kind = (enum shmstat_stack_kind)ps->kind;
	out->metric = ps->metric >= 0 && p->metrics[ps->metric].name ? p->metrics[ps->metric].name
								       : "";
	out->samples = ps->samples;
	out->weight = ps->weight;
	out->depth = ps->depth;
	out->truncated = !!(ps->flags & SHMSTAT_STACK_F_TRUNCATED);
	out->leaf_return = !!(ps->flags & SHMSTAT_STACK_F_RETLEAF);
	out->pcs = ps->pcs;
	return 0;
}

size_t shmstat_profile_modules(const shmstat_profile *p)
{
	return p->nmod;
}

int shmstat_profile_module(const shmstat_profile *p, size_t k, struct shmstat_module_info *out)
{
	const struct shmstat_profmod *m;

	if (k >= p->nmod)
		return EINVAL;
	m = &p->mods[k];
	out->proc = p->mod_proc[k];
	out->base = m->base;
	out->lo = m->lo;
	out->hi = m->hi;
	out->path = m->path;
	out->build_id = m->build_id;
	out->build_id_len = m->build_id_len;
	return 0;
}

long shmstat_profile_find_module(const shmstat_profile *p, size_t proc, uint64_t pc)
{
	size_t k;

	if (proc >= p->nproc)
		return -1;
	k = rangeix_find(&p->mod_ix[proc], pc);
	return k == SIZE_MAX ? -1 : (long)k;
}

long shmstat_profile_frame_module(const shmstat_profile *p, size_t k, uint32_t i)
{
	const struct pstack *ps;
	uint64_t addr;
	size_t m = SIZE_MAX;

	if (k >= p->nstack || i >= p->stacks[k].depth || p->stacks[k].proc >= p->nproc)
		return -1;
	ps = &p->stacks[k];
	/* a return address is looked up at the call, before it */
	addr = ps->pcs[i] - (i == 0 && !(ps->flags & SHMSTAT_STACK_F_RETLEAF) ? 0 : 1);
	if (ps->gix != SIZE_MAX)
		m = rangeix_find(&p->gens[ps->gix].ix, addr);
	if (m == SIZE_MAX)
		m = rangeix_find(&p->mod_ix[ps->proc], addr);
	return m == SIZE_MAX ? -1 : (long)m;
}
