/*
 * modmap.c - module maps of profiled processes (see modmap.h).
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "modmap.h"
#include "procs.h"

/* The GNU build-id of a loaded object, from its notes in memory. */
static uint32_t build_id(const struct dl_phdr_info *info, uint8_t out[SHMSTAT_BUILD_ID_CAP])
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		/* the notes as loaded: an address the loader gives
		 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *nh = (const void *)p;
			size_t name = (nh->n_namesz + 3u) & ~(size_t)3;
			size_t desc = (nh->n_descsz + 3u) & ~(size_t)3;
			const unsigned char *d = p + sizeof(*nh) + name;

			if (name > (size_t)(end - p) || desc > (size_t)(end - p) ||
			    sizeof(*nh) + name + desc > (size_t)(end - p))
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(p + sizeof(*nh), "GNU", 4) == 0 &&
			    nh->n_descsz > 0 && nh->n_descsz <= SHMSTAT_BUILD_ID_CAP) {
				memcpy(out, d, nh->n_descsz);
				return nh->n_descsz;
			}
			p += sizeof(*nh) + name + desc;
		}
	}
	return 0;
}

/* Claim a free record, fill it from @tmpl, sum it, publish it; its
 * index into *@at when @at is not NULL. */
static int put(struct shmstat_seg *seg, struct shmstat_profmod *tmpl, uint32_t *at)
{
	tmpl->sum = shmstat__hash((const unsigned char *)tmpl + SHMSTAT_PROFMOD_SUM_FROM,
				  sizeof(*tmpl) - SHMSTAT_PROFMOD_SUM_FROM);
	for (uint32_t i = 0; i < seg->max_modules; i++) {
		struct shmstat_profmod *m = &seg->mods[i];
		uint64_t expect = 0;

		if (ld_relaxed(&m->word) != 0)
			continue;
		if (!cas_acqrel(&m->word, &expect, SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_CLAIMED))
			continue;
		add_relaxed(&seg->hdr->prof_mods_used, 1);      /* claimed */
		memcpy((unsigned char *)m + 8, (const unsigned char *)tmpl + 8, sizeof(*m) - 8);
		st_release(&m->word, SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_READY);
		if (at)
			*at = i;
		return 0;
	}
	add_relaxed(&seg->hdr->prof_mods_dropped, 1);
	return SHMSTAT_EFULL;
}

/* Free this process's record @i, replaced by a newer one (readers take
 * the latest: between the two stores they see both or the new one). */
static void drop(struct shmstat_seg *seg, uint32_t i)
{
	struct shmstat_profmod *m = &seg->mods[i];
	uint64_t w = SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_READY;

	if (i >= seg->max_modules ||
	    !cas_acqrel(&m->word, &w, SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_CLAIMED))
		return;         /* no longer ours (the segment was cleared) */
	memset((unsigned char *)m + 8, 0, sizeof(*m) - 8);
	st_release(&m->word, 0);
	__atomic_fetch_sub(&seg->hdr->prof_mods_used, 1, __ATOMIC_RELAXED);
}

struct scan {
	struct shmstat_seg *seg;
	struct shmstat_modpub *pub;
	char exe[PATH_MAX];
	int err;
};

static int on_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	struct shmstat_modpub *pub = sc->pub;
	struct shmstat_profmod rec;
	uint64_t lo = UINT64_MAX, hi = 0;
	const char *path;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uint64_t a = info->dlpi_addr + ph->p_vaddr;

			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		}
	}
	if (hi == 0)
		return 0;               /* nothing executable */
	for (uint32_t i = 0; i < pub->n; i++)
		if (pub->seen[i].base == info->dlpi_addr && pub->seen[i].lo == lo)
			return 0;       /* published already */
	path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : sc->exe;
	memset(&rec, 0, sizeof(rec));
	rec.kind = SHMSTAT_PROFMOD_MODULE;
	rec.seq = ++pub->seq;
	rec.base = info->dlpi_addr;
	rec.lo = lo;
	rec.hi = hi;
	rec.build_id_len = build_id(info, rec.build_id);
	/* a path too long to keep is left empty: the build-id still names it */
	if (strlen(path) < sizeof(rec.path))
		memcpy(rec.path, path, strlen(path) + 1);
	if (put(sc->seg, &rec, NULL) != 0) {
		sc->err = SHMSTAT_EFULL;
		return 0;
	}
	if (pub->n == pub->cap) {
		/* out of memory: not remembered, published again next time */
		uint32_t cap = pub->cap ? 2 * pub->cap : 64;
		struct shmstat_modseen *m = realloc(pub->seen, cap * sizeof(*m));

		if (m == NULL)
			return 0;
		pub->seen = m;
		pub->cap = cap;
	}
	pub->seen[pub->n].base = info->dlpi_addr;
	pub->seen[pub->n].lo = lo;
	pub->n++;
	return 0;
}

static int count_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1;               /* the first object tells */
}

void shmstat__modmap_forget(struct shmstat_modpub *pub)
{
	free(pub->seen);
	memset(pub, 0, sizeof(*pub));
}

int shmstat__modmap_publish(struct shmstat_seg *seg, struct shmstat_modpub *pub,
			    int hz_record, unsigned hz)
{
	struct scan sc = { .seg = seg, .pub = pub };
	unsigned long long adds = 0;
	uint32_t at = 0;
	ssize_t n;

	if (seg->max_modules == 0)
		return shmstat__fail(SHMSTAT_EFULL, "segment '%s' has no module table", seg->name);
	if (hz_record) {
		struct shmstat_profmod rec;
		FILE *f = fopen("/proc/self/comm", "re");

		memset(&rec, 0, sizeof(rec));
		rec.kind = SHMSTAT_PROFMOD_PROC;
		rec.seq = ++pub->seq;
		rec.hz = hz;
		rec.start_ns = shmstat__now_ns();
		if (f) {
			if (fgets(rec.comm, sizeof(rec.comm), f))
				rec.comm[strcspn(rec.comm, "\n")] = 0;
			(void)fclose(f);
		}
		if (put(seg, &rec, &at) != 0)
			return shmstat__fail(SHMSTAT_EFULL,
					     "segment '%s' has no free module record", seg->name);
		if (pub->proc_slot)
			drop(seg, pub->proc_slot - 1);
		pub->proc_slot = at + 1;
	}
	dl_iterate_phdr(count_adds, &adds);
	if (pub->n > 0 && adds == pub->adds)
		return 0;               /* nothing loaded since */
	n = readlink("/proc/self/exe", sc.exe, sizeof(sc.exe) - 1);
	sc.exe[n > 0 ? n : 0] = 0;
	dl_iterate_phdr(on_module, &sc);
	pub->adds = adds;
	if (sc.err)
		return shmstat__fail(sc.err, "segment '%s' has no free module record", seg->name);
	return 0;
}

int shmstat__modmap_check(const struct shmstat_profmod *m)
{
	uint32_t st = SHMSTAT_STATE_OF(m->word);

	if (st != SHMSTAT_STACKENT_READY)
		return st <= SHMSTAT_STACKENT_CLAIMED ? 0 : -1;
	if (shmstat__hash((const unsigned char *)m + SHMSTAT_PROFMOD_SUM_FROM,
			  sizeof(*m) - SHMSTAT_PROFMOD_SUM_FROM) != m->sum)
		return -1;
	if ((m->kind != SHMSTAT_PROFMOD_PROC && m->kind != SHMSTAT_PROFMOD_MODULE) ||
	    m->build_id_len > SHMSTAT_BUILD_ID_CAP ||
	    memchr(m->path, 0, sizeof(m->path)) == NULL ||
	    memchr(m->comm, 0, sizeof(m->comm)) == NULL ||
	    (m->kind == SHMSTAT_PROFMOD_MODULE && m->lo >= m->hi))
		return -1;
	return 1;
}
