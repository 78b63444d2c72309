/*
 * sigsnap.c - signature tables in a snapshot: copying their summaries
 * (each entry under its own seqlock), and the view that merges them.
 *
 * A table's summaries counted are its grave in use and those owned by
 * stripes in use; sigmerge.c merges them into the view
 * shmstat_snap_sigtab() returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "hook.h"
#include "sigmerge.h"
#include "sigtable.h"
#include "snap.h"

/* every read of a summary by pread: see shmstat__copy_pread() */
#define read_full shmstat__copy_pread

/* A summary of a signature table, copied: @n entries, those torn in every
 * read marked in @skip. */
struct sumcopy {
	uint32_t desc, sum, n;
	uint8_t *skip;
};

/* The summaries copied, kept in the snapshot (s->ext[SHMSTAT_SIGTABLE]). */
struct sumcopies {
	struct sumcopy *sc;
	size_t nsc, capsc;
};

static struct sumcopies *copies_of(const struct shmstat_snap *s)
{
	return s->ext[SHMSTAT_SIGTABLE];
}

/* The table of descriptor @d (a struct shmstat_desc or shmstat__rdesc:
 * the same fields), if its shape and run are sound: its run's offset in
 * the segment into *@run. */
#define sig_table_ok(h, d, run)                                                           \
	table_ok((h), (d)->sig_first, (d)->sig_capacity, (d)->sig_keybytes, (d)->sig_owners, \
		 (d)->sig_pool, (run))

static bool table_ok(const struct shmstat_hdr *h, uint32_t first, uint32_t capacity,
		     uint16_t keybytes, uint16_t owners, uint32_t pool, uint64_t *run)
{
	const uint64_t lines = h->regions[SHMSTAT_REG_SIGS].len / SHMSTAT_LINE;

	if (!shmstat__sig_shape_ok(capacity, keybytes, owners, pool) || first > lines ||
	    shmstat__sig_lines(capacity, keybytes, owners, pool) > lines - first)
		return false;
	*run = h->regions[SHMSTAT_REG_SIGS].off + (uint64_t)first * SHMSTAT_LINE;
	return true;
}

static int add_sumcopy(struct shmstat_snap *s, const struct sumcopy *c)
{
	struct sumcopies *cs = copies_of(s);

	if (cs->nsc == cs->capsc) {
		size_t cap = cs->capsc ? 2 * cs->capsc : 16;
		struct sumcopy *sc = realloc(cs->sc, cap * sizeof(*sc));

		if (sc == NULL)
			return -1;
		cs->sc = sc;
		cs->capsc = cap;
	}
	cs->sc[cs->nsc++] = *c;
	return 0;
}

/* The gens of a summary's entries read a chunk at a time (the entries'
 * second and third copies: 4 MB each for 64k entries, fresh memory a
 * snapshot would fault in, for 4 bytes in 64). */
struct gens {
	uint64_t base;             /* the entries' object offset */
	uint32_t *gen;             /* per entry: its gen before the copy; after
				    * it, odd where it changed (read again) */
	uint32_t from, n;          /* the entries read: gen[from..from + n) */
	bool after;
};

static int take_gens(void *arg, uint64_t at, unsigned char *p, uint64_t k)
{
	struct gens *gs = arg;
	const uint64_t go = offsetof(struct shmstat_sigent, gen);
	const uint64_t es = sizeof(struct shmstat_sigent);
	/* the entries whose gen lies whole in [at, at + k) */
	uint64_t j = at <= gs->base + go ? 0 : (at - gs->base - go + es - 1) / es;

	for (; j < gs->n && gs->base + j * es + go + 4 <= at + k; j++) {
		uint32_t g;

		memcpy(&g, p + (gs->base + j * es + go - at), 4);
		if (!gs->after)
			gs->gen[gs->from + j] = g;
		else if (g != gs->gen[gs->from + j])
			gs->gen[gs->from + j] |= 1u;
	}
	return 0;
}

/* Entries a part of a quick copy (below) reads */
#ifdef SHMSTAT_TEST_HOOKS
#define QUICK_PART 16u             /* the tests' summaries are small: parts,
				    * and a quick copy cut short, happen */
#else
#define QUICK_PART 4096u           /* 256 KiB of entries */
#endif

/* The quick copy of a writer's summary whose header said seq @seq (even,
 * not 0: no take under way): entries 0.. and their key records a part
 * at a time, each part followed by an acquire fence and seq again. While
 * seq has not moved, no take overlapped the part (the writer makes seq
 * odd, then a release fence, before it changes anything of an entry but
 * its counts), so its entries are whole: their gens are not read
 * before and after (two more reads of every entry). Marks in @gen the
 * entries to read again alone (odd gens: left so by a killed writer) and
 * gives in *@done the entries copied; the rest, from the part where seq
 * moved, go the long way. 0 or an error of read_full(). */
static int quick_copy(struct shmstat_snap *s, uint64_t off, const struct shmstat_sumgeo *g,
		      uint32_t n, uint64_t seq, uint32_t *gen, uint32_t *done)
{
	const struct shmstat_sigent *ents =
		(const struct shmstat_sigent *)(const void *)(s->buf + off + g->off_ents);
	uint32_t j = 0;
	int err;

	while (j < n) {
		const uint32_t k = n - j < QUICK_PART ? n - j : QUICK_PART;
		const uint64_t eo = off + g->off_ents + (uint64_t)j * sizeof(*ents);
		const uint64_t ko = off + g->off_keys + (uint64_t)j * g->keyrec;
		uint64_t now;

		if ((err = read_full(&s->cp, s->buf + eo, (uint64_t)k * sizeof(*ents), eo)) != 0)
			return err;
		/* an entry's flags say its key is there: the key after */
		shmstat__fence(__ATOMIC_ACQUIRE);
		if ((err = read_full(&s->cp, s->buf + ko, (uint64_t)k * g->keyrec, ko)) != 0)
			return err;
		shmstat__fence(__ATOMIC_ACQUIRE);
		if ((err = read_full(&s->cp, (unsigned char *)&now, sizeof(now),
				     off + offsetof(struct shmstat_sigsum, seq))) != 0)
			return err;
		if (now != seq)
			break;
		for (uint32_t i = j; i < j + k; i++)
			gen[i] = ents[i].gen & 1u;
		j += k;
	}
	*done = j;
	return 0;
}

/* Yields a copy of the summaries waits in all for entries being given a
 * key. A summary has one writer thread, so one entry at a time is; an
 * entry read torn again at once is rare. Without a bound, another
 * process of the uid that made every entry's gen odd had a reader yield
 * 4 times an entry: 8,192 yields for a default table of 2,048 keys,
 * 35 s for 'shmstat top' when a busy process shared its CPU. */
#define SIG_TORN_WAITS 64u

/* Copy summary @k of the table with run @run and geometry @g into the
 * buffer: its header, then of its first `used` entries as many as it can
 * quick (quick_copy()), of the rest their gens, the entries, the key
 * records (and a grave's counters), their gens again, and the header
 * again (its floor: it only grows, and must cover what the entries no
 * longer hold). An entry whose gen was odd or changed is read again
 * alone, a few times, then left out; a yield before each time but the
 * first, while *@waits (the copy's) lasts. 0, -1 (truncated), EFBIG (past
 * the copy limit) or ENOMEM. */
static int copy_summary(struct shmstat_snap *s, uint32_t desc, uint64_t sums,
			 const struct shmstat_sumgeo *g, uint32_t k, bool grave, uint32_t *waits)
{
	const uint64_t off = sums + (uint64_t)k * g->bytes;
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)(s->buf + off);
	struct shmstat_sigent *ents = (struct shmstat_sigent *)(void *)(s->buf + off + g->off_ents);
	struct shmstat_sigsum head;
	struct gens gs = { 0 };        /* gen: every entry's; the rest the long way's */
	struct sumcopy c = { .desc = desc, .sum = k };
	uint64_t floor, wmax;
	int err;

	/* the header aside first: its write would fault in a small page
	 * where the entries' huge one begins */
	err = read_full(&s->cp, (unsigned char *)&head, sizeof(head), off);
	if (err)
		return err;
	shmstat__fence(__ATOMIC_ACQUIRE);
	c.n = head.used < g->capacity ? (uint32_t)head.used : g->capacity;
	if (c.n) {
		unsigned char *const sum = s->buf + off;
		const uint64_t eb = (uint64_t)c.n * sizeof(*ents);
		uint32_t q = 0;         /* entries copied quick */

		gs.gen = malloc((size_t)c.n * sizeof(*gs.gen));
		c.skip = calloc(c.n, 1);
		if (gs.gen == NULL || c.skip == NULL) {
			err = ENOMEM;
			goto fail;
		}
		for (uint32_t j = 0; j < c.n; j++)
			gs.gen[j] = 1u;
		/* read whole: huge pages, the summary's neighbours in the
		 * buffer included (64k entries and their keys: 7 MB, 1,700
		 * page faults in small pages) */
		shmstat__advise_huge_in(ents, (size_t)eb, sum, sum + g->bytes);
		shmstat__advise_huge_in(sum + g->off_keys, (size_t)((uint64_t)c.n * g->keyrec), sum,
					sum + g->bytes);
		if (!grave && head.seq != 0 && !(head.seq & 1u) &&
		    (err = quick_copy(s, off, g, c.n, head.seq, gs.gen, &q)) != 0)
			goto fail;
		/* the rest (all of it for a grave, a writer that keeps no
		 * seq, or one whose seq moved): a seqlock of each entry, its
		 * gen before (a pass of its own: one pread copies in no
		 * promised order), its fields and key, its gen after; read a
		 * chunk at a time (a gen no chunk holds whole stays odd: read
		 * again alone) */
		if (q < c.n) {
			const uint64_t rb = (uint64_t)(c.n - q) * sizeof(*ents);

			gs.base = off + g->off_ents + (uint64_t)q * sizeof(*ents);
			gs.from = q;
			gs.n = c.n - q;
			if ((err = shmstat__copy_pread_chunks(&s->cp, gs.base, rb, &s->sp.scratch,
							      take_gens, &gs)) != 0)
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, (unsigned char *)(ents + q), rb, gs.base)) != 0)
				goto fail;
			/* an entry's flags say its key is there: the key after */
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, s->buf + off + g->off_keys + q * g->keyrec,
					     (uint64_t)(c.n - q) * g->keyrec,
					     off + g->off_keys + q * g->keyrec)) != 0 ||
			    (grave && (err = read_full(&s->cp, s->buf + off + sizeof(*hdr),
						       (uint64_t)c.n * 8, off + sizeof(*hdr))) != 0))
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			gs.after = true;
			if ((err = shmstat__copy_pread_chunks(&s->cp, gs.base, rb, &s->sp.scratch,
							      take_gens, &gs)) != 0)
				goto fail;
		}
	}
	memcpy(hdr, &head, sizeof(head));
	for (uint32_t j = 0; j < c.n; j++) {
		const uint64_t eo = off + g->off_ents + (uint64_t)j * sizeof(*ents);
		const uint64_t ko = off + g->off_keys + (uint64_t)j * g->keyrec;
		uint32_t gen;
		bool whole;
		int t;

		if (!(gs.gen[j] & 1u))
			continue;
		/* being given a key: again alone, gen, entry and key, gen;
		 * at once, then after a yield while the copy has yields left */
		for (t = 0, whole = false; t < 4 && !whole; t++) {
			struct shmstat_sigent e2;

			if (t > 0) {
				if (*waits == 0)
					break;
				(*waits)--;
				sched_yield();
			}
			if ((err = read_full(&s->cp, (unsigned char *)&e2, sizeof(e2), eo)) != 0)
				goto fail;
			gen = e2.gen;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, s->buf + eo, sizeof(*ents), eo)) != 0)
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, s->buf + ko, g->keyrec, ko)) != 0)
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, (unsigned char *)&e2, sizeof(e2), eo)) != 0)
				goto fail;
			whole = e2.gen == gen && !(gen & 1u);
		}
		c.skip[j] = !whole;
	}
	free(gs.gen);
	gs.gen = NULL;
	/* the floor as it is now: at least what it was when the entries
	 * were read */
	shmstat__fence(__ATOMIC_ACQUIRE);
	{
		uint64_t fw[2];     /* floor and wmax lie side by side */

		static_assert(offsetof(struct shmstat_sigsum, wmax) ==
			      offsetof(struct shmstat_sigsum, floor) + 8, "floor, wmax");
		if ((err = read_full(&s->cp, (unsigned char *)fw, sizeof(fw),
				     off + offsetof(struct shmstat_sigsum, floor))) != 0)
			goto fail;
		floor = fw[0];
		wmax = fw[1];
	}
	if (floor > hdr->floor)
		hdr->floor = floor;
	if (wmax > hdr->wmax)
		hdr->wmax = wmax;
	if (add_sumcopy(s, &c) != 0) {
		err = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	free(gs.gen);
	free(c.skip);
	return err;
}

/* The summaries of every signature table that readers count: the grave
 * in use, and those owned by stripes in use. */
int shmstat__sigsnap_copy(struct shmstat_snap *s)
{
	const struct shmstat_hdr *h = (const void *)s->buf;
	const uint32_t active = SHMSTAT_FOLD_ACTIVE(h->fold_state);
	const struct shmstat_hdr *rh = s->rhdr;
	struct sumcopies *cs = copies_of(s);
	uint32_t waits = SIG_TORN_WAITS;

	if (cs == NULL) {
		cs = s->ext[SHMSTAT_SIGTABLE] = calloc(1, sizeof(*cs));
		if (cs == NULL)
			return ENOMEM;
	}
	/* a copy again: forget the last one's */
	for (size_t i = 0; i < cs->nsc; i++)
		free(cs->sc[i].skip);
	cs->nsc = 0;
	/* the tables of the directory (live, sound, wanted) */
	for (size_t t = 0; t < s->dir.n; t++) {
		const uint32_t d = s->dir.at[t];       /* its record */
		const struct shmstat__rdesc *desc = shmstat__mdir_desc(&s->dir, d);
		struct shmstat_sumgeo g;
		const uint64_t *claims;
		uint64_t run, head;
		int err;

		if (desc->type != SHMSTAT_SIGTABLE || !sig_table_ok(rh, desc, &run))
			continue;
		shmstat__sumgeo(&g, desc->sig_capacity, desc->sig_keybytes);
		/* the claims and the owner slots, in one read */
		head = (shmstat__sig_claim_lines(desc->sig_pool) +
			shmstat__sig_owner_lines(desc->sig_owners)) * SHMSTAT_LINE;
		err = read_full(&s->cp, s->buf + run, head, run);
		if (err)
			return err;
		claims = (const uint64_t *)(const void *)(s->buf + run);
		err = copy_summary(s, d, run + head, &g, active, true, &waits);
		for (uint32_t k = 0; !err && k < desc->sig_pool; k++) {
			const uint64_t w = claims[k];

			if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED ||
			    SHMSTAT_SUM_STRIPE(w) >= rh->nstripes ||
			    !shmstat__stripe_in_use(rh, s->buf, SHMSTAT_SUM_STRIPE(w)))
				continue;
			err = copy_summary(s, d, run + head, &g, SHMSTAT_SIG_GRAVES + k, false,
					   &waits);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Is summary copy @c one of table @di's counted: the grave, or owned
 * (@claims, copied) by a stripe counted? */
static bool sum_counted(const shmstat_snap *s, const struct sumcopy *c, uint32_t di,
			const uint64_t *claims)
{
	uint64_t w;
	uint32_t st;

	if (c->desc != di)
		return false;
	if (c->sum < SHMSTAT_SIG_GRAVES)
		return true;
	w = claims[c->sum - SHMSTAT_SIG_GRAVES];
	st = SHMSTAT_SUM_STRIPE(w);
	return SHMSTAT_SUM_STATE(w) == SHMSTAT_SUM_OWNED && st >= SHMSTAT_GRAVES &&
	       st < s->h->nstripes && s->owner_of[st] != UINT32_MAX;
}

int shmstat_snap_sigtab(const shmstat_snap *s, size_t i, shmstat_sigview **out)
{
	const struct shmstat__rdesc *d;
	const unsigned char *run, *sums;
	struct shmstat_sumgeo g;
	const struct sumcopies *cs = copies_of(s);
	shmstat_sigview *v;
	uint64_t *totals, roff, clines;
	uint32_t di;

	*out = NULL;
	if (i >= s->nm)
		return EINVAL;
	di = s->dir.at[i];
	d = shmstat__mdir_desc(&s->dir, di);
	if (d->type != SHMSTAT_SIGTABLE || !sig_table_ok(s->h, d, &roff))
		return EINVAL;
	SHMSTAT_HOOK(SHMSTAT_HOOK_SIGTAB_MERGE, s);
	totals = malloc((size_t)d->nvalues * sizeof(*totals));
	if (totals == NULL)
		return ENOMEM;
	for (uint32_t k = 0; k < d->nvalues; k++)
		totals[k] = s->grave[d->value_off + k] +
			    shmstat__snap_sum(s, d->value_off + k, UINT32_MAX);
	run = s->buf + roff;
	shmstat__sumgeo(&g, d->sig_capacity, d->sig_keybytes);
	clines = shmstat__sig_claim_lines(d->sig_pool);
	sums = run + (clines + shmstat__sig_owner_lines(d->sig_owners)) * SHMSTAT_LINE;
	v = shmstat__sigview_new(d, totals, (const struct shmstat_sigowner *)(const void *)
				 (run + clines * SHMSTAT_LINE), s->info.taken_ns);
	free(totals);
	if (v == NULL)
		return ENOMEM;
	/* room for every entry of the summaries counted: no growth */
	{
		size_t n = 0;

		for (size_t k = 0; cs != NULL && k < cs->nsc; k++)
			if (sum_counted(s, &cs->sc[k], di, (const uint64_t *)(const void *)run))
				n += cs->sc[k].n;
		if (shmstat__sigview_reserve(v, n, n * ((size_t)g.keybytes + 1)) != 0) {
			shmstat_sigview_free(v);
			return ENOMEM;
		}
	}
	for (size_t k = 0; cs != NULL && k < cs->nsc; k++) {
		const struct sumcopy *c = &cs->sc[k];
		const unsigned char *sum = sums + (uint64_t)c->sum * g.bytes;
		struct sm_src src = {
			.hdr = (const struct shmstat_sigsum *)(const void *)sum,
			.ents = (const struct shmstat_sigent *)(const void *)(sum + g.off_ents),
			.keys = sum + g.off_keys,
			.skip = c->skip,
			.n = c->n,
			.capacity = g.capacity,
			.keybytes = g.keybytes,
			.keyrec = g.keyrec,
		};

		if (!sum_counted(s, c, di, (const uint64_t *)(const void *)run))
			continue;
		if (c->sum < SHMSTAT_SIG_GRAVES)
			src.mg = (const uint64_t *)(const void *)(sum + sizeof(struct shmstat_sigsum));
		if (shmstat__sigview_add(v, &src) != 0) {
			shmstat_sigview_free(v);
			return ENOMEM;
		}
	}
	shmstat__sigview_done(v);
	*out = v;
	return 0;
}

/* ------------------------------------------------------ the type's parts */

bool shmstat__sigsnap_desc_ok(const struct shmstat_hdr *h, const struct shmstat_desc *d)
{
	uint64_t run;

	return d->nvalues == SHMSTAT_S_NVALUES(d->sig_owners) && sig_table_ok(h, d, &run);
}

void shmstat__sigsnap_free(struct shmstat_snap *s)
{
	struct sumcopies *cs = copies_of(s);

	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->nsc; i++)
		free(cs->sc[i].skip);
	free(cs->sc);
	free(cs);
	s->ext[SHMSTAT_SIGTABLE] = NULL;
}

/* A table's value: its hits, all keys. */
void shmstat__sigsnap_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			    struct shmstat__mval *m)
{
	const uint32_t v = d->value_off + SHMSTAT_S_HITS;

	m->counter = s->grave[v] + shmstat__snap_sum(s, v, UINT32_MAX);
	m->has_value = 1;
}
