/*
 * mdir.c - a snapshot's metric directory, read and checked (mdir.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmstat.h"
#include "hook.h"
#include "mdir.h"
#include "registry.h"
#include "type.h"

/* Re-reads of a descriptor whose checksum fails: one being published
 * while it was read is whole at the next read */
#define DESC_TRIES 4

/* The most bytes a record takes: its rdesc, its texts (at most the
 * descriptor's bytes), up to 8 */
#define REC_MAX (sizeof(struct shmstat__rdesc) + sizeof(struct shmstat_desc))
_Static_assert(REC_MAX % 8 == 0, "records are 8-aligned");

struct reading {
	struct shmstat__mdir *md;
	const struct shmstat_hdr *h;
	int fd;
	uint64_t base;             /* of the descriptor region */
	shmstat__want_fn want;
	void *want_arg;
};

static bool str_ok(const char *p, size_t cap)
{
	return memchr(p, '\0', cap) != NULL;
}

/* Is live descriptor @d (slot @i, read again alone while its checksum
 * fails) sound: checksum, texts, name rules, its type's shape, slots? */
static bool desc_sound(const struct reading *rd, struct shmstat_desc *d, uint32_t i)
{
	const struct shmstat__type *ty;
	const uint64_t off = rd->base + (uint64_t)i * sizeof(*d);
	bool whole = shmstat__desc_ok(d);

	if (!whole)
		SHMSTAT_HOOK(SHMSTAT_HOOK_DESC_TORN, &i);
	for (int t = 0; t < DESC_TRIES && !whole; t++) {
		if (shmstat__pread_full(rd->fd, d, sizeof(*d), off) != (ssize_t)sizeof(*d))
			return false;
		whole = shmstat__desc_ok(d);
	}
	if (!whole || SHMSTAT_DESC_STATE(d->word) != SHMSTAT_DESC_LIVE)
		return false;
	if (!str_ok(d->name, sizeof(d->name)) || !str_ok(d->labels, sizeof(d->labels)) ||
	    !str_ok(d->unit, sizeof(d->unit)) || !str_ok(d->help, sizeof(d->help)))
		return false;
	/* the writer's name and label rules: nothing else reaches an exposition */
	if (!shmstat__desc_text_ok(d))
		return false;
	/* the type's own checks: shape, slots, regions */
	ty = shmstat__type_of(d->type);
	if (ty == NULL || ty->value == NULL || ty->desc_ok == NULL || !ty->desc_ok(rd->h, d))
		return false;
	return shmstat__fits(d->value_off, d->nvalues, rd->h->max_values);
}

/* Descriptor @d of slot @i, as read: kept when live, sound and wanted */
static int take_desc(const struct reading *rd, struct shmstat_desc *d, uint32_t i)
{
	struct shmstat__mdir *md = rd->md;
	const uint32_t st = SHMSTAT_DESC_STATE(d->word);
	const char *text[4];
	size_t len[4], n = sizeof(struct shmstat__rdesc);
	struct shmstat__rdesc r;
	uint32_t *off[4] = { &r.name, &r.labels, &r.unit, &r.help };

	if (st == SHMSTAT_DESC_FREE || st == SHMSTAT_DESC_DEAD || st == SHMSTAT_DESC_CLAIMED ||
	    st == SHMSTAT_DESC_RETIRED || st == SHMSTAT_DESC_DEADV)
		return 0;
	if (!desc_sound(rd, d, i)) {
		md->bad++;
		return 0;
	}
	if (rd->want != NULL && !rd->want(d->name, d->labels, rd->want_arg))
		return 0;
	r = (struct shmstat__rdesc){
		.reg_id = d->reg_id,
		.created_ns = d->created_ns,
		.slot = i,
		.type = d->type,
		.agg = d->agg,
		.value_off = d->value_off,
		.nvalues = d->nvalues,
		.bits = d->bits,
		.sig_pool = d->sig_pool,
	};
	/* the type's fields (histogram range or table shape): the same 16
	 * bytes in both */
	_Static_assert(sizeof(r.lowest) + sizeof(r.highest) == 16, "rdesc union");
	memcpy(&r.lowest, &d->lowest, 16);
	text[0] = d->name;
	text[1] = d->labels;
	text[2] = d->unit;
	text[3] = d->help;
	for (int t = 0; t < 4; t++) {
		len[t] = strlen(text[t]) + 1;   /* NUL-terminated: desc_sound() */
		*off[t] = (uint32_t)(md->used + n);
		n += len[t];
	}
	n = (n + 7) & ~(size_t)7;
	if (md->n == md->cap || md->reccap - md->used < n)
		return ENOMEM;          /* cannot be: room for every slot */
	memcpy(md->rec + md->used, &r, sizeof(r));
	for (int t = 0; t < 4; t++)
		memcpy(md->rec + *off[t], text[t], len[t]);
	/* the padding too: a record is a function of its descriptor */
	memset(md->rec + *off[3] + len[3], 0, md->used + n - (*off[3] + len[3]));
	md->at[md->n++] = (uint32_t)md->used;
	md->used += n;
	return 0;
}

/* A chunk of the descriptor region: each descriptor whole in it checked
 * where it lies, one cut by its edges read alone */
static int take_chunk(void *arg, uint64_t at, unsigned char *p, uint64_t k)
{
	const struct reading *rd = arg;
	const uint64_t dsz = sizeof(struct shmstat_desc);
	const uint64_t first = (at - rd->base) / dsz, last = (at + k - rd->base + dsz - 1) / dsz;

	for (uint64_t i = first; i < last && i < rd->h->max_metrics; i++) {
		const uint64_t o = rd->base + i * dsz;
		struct shmstat_desc one, *d;
		int err;

		if (o >= at && o + dsz <= at + k && (o - at) % 8 == 0) {
			d = (struct shmstat_desc *)(void *)(p + (o - at));
		} else if (o >= at && o + dsz <= at + k) {
			memcpy(&one, p + (o - at), sizeof(one));    /* chunk at an odd offset */
			d = &one;
		} else {
			/* the chunk holding its start reads it, once */
			if (o < at)
				continue;
			if (shmstat__pread_full(rd->fd, &one, sizeof(one), o) != (ssize_t)sizeof(one))
				return -1;
			d = &one;
		}
		err = take_desc(rd, d, (uint32_t)i);
		if (err)
			return err;
	}
	return 0;
}

int shmstat__mdir_read(struct shmstat__mdir *md, struct shmstat__copier *cp,
		       const struct shmstat_hdr *h, uint64_t **scratch, shmstat__want_fn want,
		       void *want_arg)
{
	struct reading rd = {
		.md = md,
		.h = h,
		.fd = cp->fd,
		.base = h->regions[SHMSTAT_REG_DESCS].off,
		.want = want,
		.want_arg = want_arg,
	};

	md->n = 0;
	md->used = 0;
	md->bad = 0;
	if (md->cap < h->max_metrics) {
		/* whole huge pages: the kernel aligns the mapping to them */
		const size_t huge = (size_t)2 << 20;
		const size_t bytes = ((size_t)h->max_metrics * REC_MAX + huge - 1) / huge * huge;

		shmstat__mdir_free(md);
		md->at = malloc((size_t)h->max_metrics * sizeof(*md->at));
		/* room for a record of every slot, in pages that take memory
		 * only when written: huge ones (100,000 records are 2,000
		 * small pages, as many page faults) */
		md->rec = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_NORESERVE, -1, 0);
		if (md->rec == MAP_FAILED)
			md->rec = NULL;
		if (md->at == NULL || md->rec == NULL) {
			shmstat__mdir_free(md);
			return ENOMEM;
		}
		shmstat__advise_huge(md->rec, bytes);
		md->cap = h->max_metrics;
		md->reccap = bytes;
	}
	return shmstat__copy_chunks(cp, rd.base, (uint64_t)h->max_metrics * sizeof(struct shmstat_desc),
				    scratch, take_chunk, &rd);
}

void shmstat__mdir_free(struct shmstat__mdir *md)
{
	free(md->at);
	if (md->rec != NULL)
		munmap(md->rec, md->reccap);
	*md = (struct shmstat__mdir){ 0 };
}
