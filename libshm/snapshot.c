/*
 * snapshot.c - a snapshot: check the copy reader.c made, find which
 * stripes belong to which process, and compute every metric's value
 * through its type (type.h); the accessors of the public API.
 *
 * Every offset, length, count and string in the copy is checked before
 * use, and every loop is bounded by a capacity the header validation
 * already limited.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shmstat.h"
#include "hook.h"
#include "procs.h"
#include "snap.h"
#include "type.h"

void shmstat_snap_free(shmstat_snap *s)
{
	if (s == NULL)
		return;
	shmstat__snap_buf_free(s);
	shmstat__unmap_array(s->m, s->m_bytes);
	free(s->p);
	free(s->owner_of);
	free(s->by_proc);
	SHMSTAT_EACH_TYPE(snap_free, s);
	shmstat__copier_free(&s->cp);
	free(s->runs);
	free(s);
}

/* Which slots hold processes, and which stripes belong to which; @fd:
 * the reader's descriptor of the object (its slots' locks). */
static int scan_procs(struct shmstat_snap *s, const char *name, int fd)
{
	const struct shmstat_hdr *h = s->h;

	s->p = calloc(h->max_procs, sizeof(*s->p));
	s->owner_of = malloc((size_t)h->nstripes * sizeof(*s->owner_of));
	s->by_proc = malloc((size_t)h->nstripes * sizeof(*s->by_proc));
	if (s->p == NULL || s->owner_of == NULL || s->by_proc == NULL)
		return shmstat__fail(ENOMEM, "out of memory listing the processes of segment '%s'",
				     name);
	{
		uint32_t *idx = malloc(h->max_procs * sizeof(*idx));
		const uint64_t self = shmstat__self_pidns();

		if (idx == NULL)
			return shmstat__fail(ENOMEM,
					     "out of memory listing the processes of segment '%s'",
					     name);
		for (uint32_t i = 0; i < h->max_procs; i++) {
			const struct shmstat_proc *p = &s->procs[i];
			uint32_t st = SHMSTAT_PROC_STATE(p->word);

			idx[i] = UINT32_MAX;
			if (i == s->skip_proc ||
			    (st != SHMSTAT_PROC_LIVE && st != SHMSTAT_PROC_EXITED))
				continue;
			s->p[s->np].slot = i;
			/* a writer of another pid namespace: its pid
			 * means nothing in our /proc, its liveness is
			 * unknown (-1) and it counts as alive, as for the
			 * reapers (the copy's pidns is only compared);
			 * unless it says it holds the lock of its slot
			 * (4.6): the kernel tells (procs.c, "The lock of
			 * a slot") */
			if (st != SHMSTAT_PROC_LIVE)
				s->p[s->np].alive = 0;
			else if (shmstat__pidns_other(p->pidns, self))
				s->p[s->np].alive =
					shmstat__proc_says_locked(p) ?
					shmstat__lock_test(fd, h->regions[SHMSTAT_REG_PROCS].off +
							   (uint64_t)i * sizeof(*p)) : -1;
			else
				s->p[s->np].alive = shmstat__tag_alive(p->word);
			if (s->p[s->np].alive)
				s->info.writers_alive++;
			else
				s->info.writers_dead++;
			idx[i] = (uint32_t)s->np++;
		}
		for (uint32_t i = 0; i < h->nstripes; i++) {
			uint64_t w = s->owners[i];
			uint32_t p = SHMSTAT_STRIPE_PROC(w);

			s->owner_of[i] = UINT32_MAX;
			if (i >= SHMSTAT_GRAVES && i < SHMSTAT_GRAVES + h->max_procs) {
				s->owner_of[i] = idx[i - SHMSTAT_GRAVES];
				continue;
			}
			if (SHMSTAT_STRIPE_HELD(w) && p < h->max_procs) {
				s->owner_of[i] = idx[p];
				if (idx[p] != UINT32_MAX) {
					s->p[idx[p]].stripes++;
					s->info.stripes_owned++;
				}
			}
		}
		free(idx);
	}
	/* each process's stripes, in one array: where each one's begin,
	 * then the stripes in order */
	{
		uint32_t at = 0;

		for (uint32_t i = SHMSTAT_GRAVES; i < h->nstripes; i++)
			if (s->owner_of[i] != UINT32_MAX)
				s->p[s->owner_of[i]].n++;
		for (size_t j = 0; j < s->np; j++) {
			s->p[j].first = at;
			at += s->p[j].n;
			s->p[j].n = 0;
		}
		for (uint32_t i = SHMSTAT_GRAVES; i < h->nstripes; i++) {
			const uint32_t o = s->owner_of[i];

			if (o != UINT32_MAX)
				s->by_proc[s->p[o].first + s->p[o].n++] = i;
		}
	}
	return 0;
}

uint64_t shmstat__snap_at(const struct shmstat_snap *s, uint32_t i, uint32_t v)
{
	return shmstat__sparse_at(&s->sp, i, v);
}

const uint64_t *shmstat__snap_run(const struct shmstat_snap *s, uint32_t i, uint32_t *from,
				  uint32_t to, uint32_t *end)
{
	return shmstat__sparse_run(&s->sp, i, from, to, end);
}

uint64_t shmstat__snap_sum(const struct shmstat_snap *s, uint32_t v, uint32_t j)
{
	uint64_t t = 0;

	if (j == UINT32_MAX)
		return v < s->ntotal ? s->total[v] : 0;
	if (j >= s->np)
		return 0;
	for (uint32_t k = 0; k < s->p[j].n; k++) {
		SHMSTAT_HOOK(SHMSTAT_HOOK_SUM_STRIPE, s);
		t += shmstat__sparse_at(&s->sp, s->by_proc[s->p[j].first + k], v);
	}
	return t;
}

static size_t total_bytes(const struct shmstat_snap *s)
{
	return ((size_t)s->ntotal + 1) * sizeof(*s->total);
}

/* total[]: every value slot summed over the stripes counted, run by run
 * (the runs of a stripe nobody counts are skipped whole) */
static int sum_stripes(struct shmstat_snap *s)
{
	const struct shmstat__sparse *sp = &s->sp;

	/* every slot a descriptor may name, in fresh pages: zeros, and only
	 * those the sums write take memory (calloc would clear them all
	 * again when its allocator reuses memory) */
	s->ntotal = s->h->max_values;
	if (s->total != NULL && s->total_bytes != total_bytes(s)) {
		shmstat__unmap_array(s->total, s->total_bytes);
		s->total = NULL;
	}
	if (s->total == NULL) {
		/* the slots of every stripe's data, summed: dense where the
		 * writers count (huge pages: one fault for 512 pages) */
		s->total_bytes = total_bytes(s);
		s->total = shmstat__map_array(s->total_bytes);
		if (s->total == NULL)
			return ENOMEM;
	}
	for (size_t k = 0; k < sp->nrun; k++) {
		const struct shmstat__srun *r = &sp->run[k];
		const uint64_t *v = sp->val + r->at;
		uint64_t *t = s->total + r->from;

		if (r->stripe < SHMSTAT_GRAVES || r->stripe >= s->h->nstripes ||
		    s->owner_of[r->stripe] == UINT32_MAX || r->to > s->ntotal)
			continue;
		for (uint32_t n = r->to - r->from, x = 0; x < n; x++)
			t[x] += v[x];
	}
	return 0;
}

int shmstat__snap_build(struct shmstat_reader *r, struct shmstat_snap *s)
{
	const struct shmstat_hdr *h;
	uint32_t phase;
	int err;

	h = s->h = (const struct shmstat_hdr *)(const void *)s->buf;
	/* the immutable header must still be the one validated at open */
	if (memcmp(h, &r->hdr, SHMSTAT_HDR_SUM_BYTES + 8) != 0)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: its header changed after it was opened",
				     r->name);
	s->procs = (const void *)(s->buf + h->regions[SHMSTAT_REG_PROCS].off);
	s->owners = (const void *)(s->buf + h->regions[SHMSTAT_REG_OWNERS].off);
	s->grave = (const uint64_t *)(const void *)(s->buf + h->regions[SHMSTAT_REG_STRIPES].off +
						    (uint64_t)SHMSTAT_FOLD_ACTIVE(h->fold_state) *
						    h->stripe_bytes);
	phase = SHMSTAT_FOLD_PHASE(h->fold_state);
	s->skip_proc = UINT32_MAX;
	if (phase == SHMSTAT_FOLD_FLIPPED)
		s->skip_proc = SHMSTAT_FOLD_PROC(h->fold_state);  /* in the grave already */
	else if (phase != SHMSTAT_FOLD_IDLE && phase != SHMSTAT_FOLD_MERGING)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: fold phase %u", r->name, phase);

	s->info.size = h->total_size;
	s->info.generation = h->generation;
	s->info.created_ns = h->created_ns;
	s->info.taken_ns = shmstat__now_ns();
	s->info.dropped_regs = h->dropped_regs;
	s->info.format_major = h->major;
	s->info.format_minor = h->minor;
	s->info.max_procs = h->max_procs;
	s->info.max_metrics = h->max_metrics;
	s->info.max_values = h->max_values;
	s->info.max_threads = h->nstripes - SHMSTAT_GRAVES - h->max_procs;
	/* counts from the segment, bounded by what they count */
	s->info.values_used = h->values_used < h->max_values ? h->values_used : h->max_values;
	s->info.uid = r->uid;
	s->info.mode = r->mode;
	s->info.max_stacks = (uint32_t)(h->regions[SHMSTAT_REG_STACKS].len /
					sizeof(struct shmstat_stackent));
	s->info.max_modules = (uint32_t)(h->regions[SHMSTAT_REG_MODS].len /
					 sizeof(struct shmstat_profmod));
	s->info.profile_stacks = h->prof_stacks_used < s->info.max_stacks ?
				 h->prof_stacks_used : s->info.max_stacks;
	s->info.profile_modules = h->prof_mods_used < s->info.max_modules ?
				  h->prof_mods_used : s->info.max_modules;
	s->info.profile_dropped = h->prof_dropped;

	err = scan_procs(s, r->name, r->fd);
	if (err)
		return err;
	if (sum_stripes(s) != 0)
		return shmstat__fail(ENOMEM, "out of memory summing the values of segment '%s'",
				     r->name);
	/* the directory holds the metrics sound and wanted, checked as
	 * they were read (mdir.c) */
	s->info.bad_descs = s->dir.bad;
	s->m_bytes = s->dir.n * sizeof(*s->m);
	s->m = shmstat__map_array(s->m_bytes);
	if (s->m == NULL)
		return shmstat__fail(ENOMEM, "out of memory reading the metrics of segment '%s'",
				     r->name);
	for (; s->nm < s->dir.n; s->nm++) {
		const struct shmstat__rdesc *d = shmstat__snap_desc(s, s->nm);

		shmstat__type_of(d->type)->value(s, d, &s->m[s->nm].v);
	}
	s->info.metrics = (uint32_t)s->nm;
	return 0;
}

static int snapshot(shmstat_reader *r, shmstat_snap **out)
{
	struct shmstat_snap *s;
	int err;

	shmstat__clear_error();
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return shmstat__fail(ENOMEM, "out of memory taking a snapshot of segment '%s'",
				     r->name);
	err = shmstat__snap_check_name(r, s);
	if (!err)
		err = shmstat__snap_copy(r, s);
	if (!err)
		err = shmstat__snap_build(r, s);
	if (err) {
		/* its buffer is kept for the next copy with no extents: its
		 * holes are then cleared, whatever this copy left in it */
		s->cp.next = 0;
		shmstat_snap_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* No cancellation point: a thread cancelled at one of the copy's
 * (pread, open) left the copy's buffer mapped and the reader's spare
 * buffer referenced, for good (100 cancels: +231 MB resident, +2.2 GB
 * mapped, not given back by shmstat_reader_close). A cancel takes
 * effect at the thread's next cancellation point. */
int shmstat_snapshot(shmstat_reader *r, shmstat_snap **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = snapshot(r, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

/* ------------------------------------------------------------- accessors */

void shmstat_snap_info(const shmstat_snap *s, struct shmstat_seg_info *out)
{
	*out = s->info;
}

size_t shmstat_snap_metrics(const shmstat_snap *s)
{
	return s->nm;
}

int shmstat_snap_metric(const shmstat_snap *s, size_t i, struct shmstat_metric_info *out)
{
	const struct shmstat__rdesc *d;

	if (i >= s->nm)
		return EINVAL;
	d = shmstat__snap_desc(s, i);
	out->name = shmstat__mdir_text(&s->dir, d->name);
	out->labels = shmstat__mdir_text(&s->dir, d->labels);
	out->help = shmstat__mdir_text(&s->dir, d->help);
	out->unit = shmstat__mdir_text(&s->dir, d->unit);
	out->type = (enum shmstat_type)d->type;
	out->agg = (enum shmstat_agg)d->agg;
	out->reg_id = d->reg_id;
	out->created_ns = d->created_ns;
	out->counter = s->m[i].v.counter;
	out->gauge = s->m[i].v.gauge;
	out->has_value = s->m[i].v.has_value;
	return 0;
}

void shmstat_snap_prefetch(const shmstat_snap *s, size_t i)
{
	const struct shmstat__rdesc *d;

	if (i >= s->nm)
		return;
	d = shmstat__snap_desc(s, i);
	/* the lines shmstat_snap_metric()'s caller reads: its record, the
	 * fixed fields and the texts after them (without reading it: its
	 * first three lines, mostly all of it) */
	__builtin_prefetch(d);
	__builtin_prefetch((const unsigned char *)d + 64);
	__builtin_prefetch((const unsigned char *)d + 128);
	__builtin_prefetch(&s->m[i]);           /* its value */
}

size_t shmstat_snap_procs(const shmstat_snap *s)
{
	return s->np;
}

int shmstat_snap_proc(const shmstat_snap *s, size_t j, struct shmstat_proc_info *out)
{
	const struct shmstat_proc *p;

	if (j >= s->np)
		return EINVAL;
	p = &s->procs[s->p[j].slot];
	out->pid = (pid_t)SHMSTAT_PROC_PID(p->word);
	out->uid = p->uid;
	out->alive = s->p[j].alive;
	out->starttime = p->starttime;
	out->attach_ns = p->attach_ns;
	out->heartbeat_ns = p->heartbeat_ns;
	memcpy(out->comm, p->comm, 16);
	out->comm[16] = '\0';
	for (int k = 0; k < 16; k++)
		if ((unsigned char)out->comm[k] < 0x20 && out->comm[k] != '\0')
			out->comm[k] = '?';
	out->stripes = s->p[j].stripes;
	return 0;
}

int shmstat_snap_metric_proc(const shmstat_snap *s, size_t i, size_t j,
			     uint64_t *counter, int64_t *gauge)
{
	const struct shmstat__rdesc *d;
	const struct shmstat__type *t;

	if (i >= s->nm || (j >= s->np && j != SHMSTAT_PROC_GONE))
		return EINVAL;
	d = shmstat__snap_desc(s, i);
	*counter = 0;
	*gauge = 0;
	t = shmstat__type_of(d->type);     /* checked in mdir.c */
	return t->proc_value ? t->proc_value(s, d, j, counter, gauge) : EINVAL;
}

/* ------------------------------------------------- for profile.c */

const unsigned char *shmstat__snap_bytes(const shmstat_snap *s, const struct shmstat_hdr **h)
{
	*h = s->h;
	return s->buf;
}

