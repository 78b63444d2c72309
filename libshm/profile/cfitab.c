/*
 * cfitab.c - a process's unwind table (cfitab.h): the rows of every
 * loaded module, parsed by cfi.c, in one block; the handler's lookup.
 * Everything here but shmstat__cfi_find runs outside signal handlers.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "cfitab.h"

struct build {
	struct shmstat_cfibuf b;
	struct shmstat_cfimod *mods;
	size_t nmod, cap;
	unsigned long long adds, subs;
	int first;
};

int shmstat__cfi_source(const struct dl_phdr_info *info, struct shmstat_cfisrc *src)
{
	const ElfW(Phdr) *eh = NULL;
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	memset(src, 0, sizeof(*src));
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > 0) {
			if (info->dlpi_addr + ph->p_vaddr < lo)
				lo = info->dlpi_addr + ph->p_vaddr;
			if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
				hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		}
	}
	if (hi == 0 || (eh == NULL && shmstat__cfi_frame_of(info, &src->frame, &src->frame_len) != 0))
		return -1;
	/* the readable segment that holds .eh_frame_hdr (or .eh_frame): every
	 * read stays in it */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t at = eh ? info->dlpi_addr + eh->p_vaddr : src->frame,
			  start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && at >= start &&
		    at - start < ph->p_memsz) {
			src->addr = info->dlpi_addr + ph->p_vaddr;
			src->len = ph->p_memsz;
		}
	}
	if (src->len == 0)
		return -1;
	/* memory the loader mapped: an address it gives
	 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
	src->mem = (const unsigned char *)src->addr;
	src->hdr = eh ? info->dlpi_addr + eh->p_vaddr : 0;
	src->lo = lo;
	src->hi = hi;
#if defined(__aarch64__)
	src->arch = &shmstat__cfi_arm64;
#else
	src->arch = &shmstat__cfi_x86_64;
#endif
	return 0;
}

static int on_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct build *bd = arg;
	struct shmstat_cfisrc src;
	size_t first = bd->b.n, n;

	(void)size;
	if (bd->first) {
		bd->adds = info->dlpi_adds;
		bd->subs = info->dlpi_subs;
		bd->first = 0;
	}
	if (shmstat__cfi_source(info, &src) != 0)
		return 0;
	n = shmstat__cfi_parse(&src, &bd->b, NULL);
	if (n == 0 || bd->b.oom)
		return 0;
	if (bd->nmod == bd->cap) {
		size_t cap = bd->cap ? bd->cap * 2 : 64;
		struct shmstat_cfimod *m = realloc(bd->mods, cap * sizeof(*m));

		if (m == NULL) {
			bd->b.oom = 1;
			return 1;
		}
		bd->mods = m;
		bd->cap = cap;
	}
	bd->mods[bd->nmod].lo = src.lo;
	bd->mods[bd->nmod].hi = src.hi;
	bd->mods[bd->nmod].first = (uint32_t)first;
	bd->mods[bd->nmod].n = (uint32_t)n;
	bd->nmod++;
	return 0;
}

static int cmp_mod(const void *a, const void *b)
{
	const struct shmstat_cfimod *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct shmstat_cfitab *shmstat__cfi_build(void)
{
	struct build bd = { .first = 1 };
	struct shmstat_cfitab *t = NULL;
	size_t bytes;

	dl_iterate_phdr(on_module, &bd);
	if (!bd.b.oom && bd.nmod > 0 && bd.b.n <= UINT32_MAX) {
		qsort(bd.mods, bd.nmod, sizeof(*bd.mods), cmp_mod);
		bytes = sizeof(*t) + bd.nmod * sizeof(*bd.mods) + bd.b.n * sizeof(*bd.b.rows);
		t = malloc(bytes);
		if (t) {
			t->bytes = bytes;
			t->nmod = (uint32_t)bd.nmod;
			t->nrows = (uint32_t)bd.b.n;
			t->adds = bd.adds;
			t->subs = bd.subs;
			t->mods = (struct shmstat_cfimod *)(t + 1);
			t->rows = (struct shmstat_cfirow *)(t->mods + bd.nmod);
			memcpy(t->mods, bd.mods, bd.nmod * sizeof(*bd.mods));
			memcpy(t->rows, bd.b.rows, bd.b.n * sizeof(*bd.b.rows));
		}
	}
	free(bd.mods);
	free(bd.b.rows);
	return t;
}

void shmstat__cfi_free(struct shmstat_cfitab *t)
{
	free(t);
}

static int count_loads(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *v = arg;

	(void)size;
	v[0] = info->dlpi_adds;
	v[1] = info->dlpi_subs;
	return 1;               /* the first object tells */
}

int shmstat__cfi_stale(const struct shmstat_cfitab *t)
{
	unsigned long long v[2] = { 0, 0 };

	dl_iterate_phdr(count_loads, v);
	return t == NULL || v[0] != t->adds || v[1] != t->subs;
}

/* ------------------------------------------------- the handler's lookup */

const struct shmstat_cfirow *shmstat__cfi_find(const struct shmstat_cfitab *t, uintptr_t pc)
{
	uint32_t lo = 0, hi = t->nmod, off;
	const struct shmstat_cfimod *m;
	const struct shmstat_cfirow *rows;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->mods[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	m = &t->mods[lo - 1];
	if (pc >= m->hi)
		return NULL;
	off = (uint32_t)(pc - m->lo);
	rows = t->rows + m->first;
	lo = 0;
	hi = m->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rows[mid].pc <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || SHMSTAT_CFA_KIND(rows[lo - 1].cfa) == SHMSTAT_CFA_NONE)
		return NULL;
	return &rows[lo - 1];
}
