/*
 * modmap.c - module maps of profiled processes (see modmap.h).
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
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
	char mapped[PATH_MAX];     /* mapped_path's answer */
	int err;
};

/*
 * The absolute path of the file mapped at @addr, from /proc/self/maps,
 * into @out (@cap bytes); 0 when none (no file, "(deleted)", too long).
 * The loader keeps the name a library was opened by: dlopen("./p.so"),
 * or a relative LD_LIBRARY_PATH entry, gives a path relative to the
 * working directory of that moment, which no reader can resolve (the
 * symbolizer takes absolute paths only), so all of the library's frames
 * were unnamed. The kernel's name of the mapping is the file opened,
 * whatever the working directory is now.
 */
static int mapped_path(uint64_t addr, char *out, size_t cap)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		/* lo-hi perms offset dev inode   path */
		unsigned long long lo, hi;
		size_t len = strlen(line);
		char *p = line, *end;

		if (len == 0)
			continue;
		if (line[len - 1] != '\n') {
			/* longer than any path kept: skip the rest */
			int c;

			while ((c = getc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line[--len] = 0;
		lo = strtoull(p, &end, 16);
		if (end == p || *end != '-')
			continue;
		p = end + 1;
		hi = strtoull(p, &end, 16);
		if (end == p || addr < lo || addr >= hi)
			continue;
		for (int k = 0; k < 4 && end; k++)     /* perms offset dev inode */
			end = strchr(end + strspn(end, " "), ' ');
		found = -1;
		if (end == NULL)
			continue;
		p = end + strspn(end, " ");
		len = strlen(p);
		if (p[0] == '/' && len < cap && (len < 10 || strcmp(p + len - 10, " (deleted)") != 0)) {
			memcpy(out, p, len + 1);
			found = 1;
		}
	}
	(void)fclose(f);
	return found == 1;
}

static int on_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	struct shmstat_modpub *pub = sc->pub;
	struct shmstat_profmod rec;
	uint64_t lo = UINT64_MAX, hi = 0, id;
	uint32_t slot = 0;
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
	/* the program has no name: the file mapped at its code, which
	 * /proc/self/exe is not when it was started by the loader ("ld.so
	 * PROG": that is the loader, and every frame of the program was
	 * named with the loader's file), /proc/self/exe when the mapping has
	 * no usable name (the file was deleted) */
	path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "";
	/* a relative name (the vDSO's too: it maps no file and keeps its) */
	if (path[0] != '/' && mapped_path(lo, sc->mapped, sizeof(sc->mapped)))
		path = sc->mapped;
	else if (path[0] == 0)
		path = sc->exe;
	memset(&rec, 0, sizeof(rec));
	rec.kind = SHMSTAT_PROFMOD_MODULE;
	rec.base = info->dlpi_addr;
	rec.lo = lo;
	rec.hi = hi;
	rec.build_id_len = build_id(info, rec.build_id);
	/* a path too long to keep is left empty: the build-id still names it */
	if (strlen(path) < sizeof(rec.path))
		memcpy(rec.path, path, strlen(path) + 1);
	id = shmstat__hash((const unsigned char *)&rec.build_id_len,
			   offsetof(struct shmstat_profmod, path) - offsetof(struct shmstat_profmod, build_id_len)) ^
	     shmstat__hash((const unsigned char *)rec.path, strlen(rec.path));
	/* the same object where it was: published already (another one
	 * loaded where an unloaded one was differs in path or build-id) */
	for (uint32_t i = 0; i < pub->n; i++)
		if (pub->seen[i].base == rec.base && pub->seen[i].lo == lo &&
		    pub->seen[i].hi == hi && pub->seen[i].id == id) {
			pub->seen[i].mark = 1;
			return 0;
		}
	rec.seq = ++pub->seq;
	if (put(sc->seg, &rec, &slot) != 0) {
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
	pub->seen[pub->n] = (struct shmstat_modseen){ .base = rec.base, .lo = lo, .hi = hi, .id = id,
						      .seq = rec.seq, .slot = slot, .mark = 1 };
	pub->n++;
	return 0;
}

/*
 * Retire module @k of @pub, no longer loaded: publish a copy of its
 * record with gone = a new seq, then free the record (a reader sees one
 * of the two or both, never neither), and forget it. A record that is
 * no longer this process's as published (the segment was cleared) is
 * only forgotten.
 */
static int retire(struct shmstat_seg *seg, struct shmstat_modpub *pub, uint32_t k)
{
	const struct shmstat_modseen *sn = &pub->seen[k];
	struct shmstat_profmod rec;
	int err = 0;

	if (sn->slot < seg->max_modules) {
		memcpy(&rec, &seg->mods[sn->slot], sizeof(rec));
		if (rec.word == (SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_READY) &&
		    rec.kind == SHMSTAT_PROFMOD_MODULE && rec.seq == sn->seq && rec.gone == 0 &&
		    rec.base == sn->base && rec.lo == sn->lo && rec.hi == sn->hi) {
			rec.gone = ++pub->seq;
			err = put(seg, &rec, NULL);
			/* no room for the copy: the record stays, as
			 * before retirements (newest wins) */
			if (err == 0)
				drop(seg, sn->slot);
		}
	}
	pub->seen[k] = pub->seen[--pub->n];
	return err;
}

/* The highest seq of the records of this process in @seg: a new
 * publication state (a segment published into again, an exec'd image
 * of the same process) continues from there. */
static uint32_t last_seq(const struct shmstat_seg *seg)
{
	uint32_t seq = 0;

	for (uint32_t i = 0; i < seg->max_modules; i++) {
		const struct shmstat_profmod *m = &seg->mods[i];

		if (ld_acquire(&m->word) != (SHMSTAT_TAG_OF(seg->tag) | SHMSTAT_STACKENT_READY))
			continue;
		if (ld_relaxed(&m->seq) > seq)
			seq = ld_relaxed(&m->seq);
		if (m->kind == SHMSTAT_PROFMOD_MODULE && ld_relaxed(&m->gone) > seq)
			seq = ld_relaxed(&m->gone);
	}
	return seq;
}

static int count_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	c[0] = info->dlpi_adds;
	c[1] = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)
		? info->dlpi_subs : 0;
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
	unsigned long long c[2] = { 0, 0 };
	uint32_t at = 0;
	ssize_t n;

	if (seg->max_modules == 0)
		return shmstat__fail(SHMSTAT_EFULL, "segment '%s' has no module table", seg->name);
	if (pub->seq == 0)
		pub->seq = last_seq(seg);
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
	dl_iterate_phdr(count_adds, c);
	if (pub->n > 0 && c[0] == pub->adds && c[1] == pub->subs)
		return 0;               /* nothing loaded or unloaded since */
	n = readlink("/proc/self/exe", sc.exe, sizeof(sc.exe) - 1);
	sc.exe[n > 0 ? n : 0] = 0;
	for (uint32_t i = 0; i < pub->n; i++)
		pub->seen[i].mark = 0;
	dl_iterate_phdr(on_module, &sc);
	/* what the scan did not find was unloaded (those published in it
	 * are marked) */
	for (uint32_t i = 0; i < pub->n;) {
		if (pub->seen[i].mark) {
			i++;
			continue;
		}
		if (retire(seg, pub, i) != 0)   /* [i] is another one now */
			sc.err = SHMSTAT_EFULL;
	}
	pub->adds = c[0];
	pub->subs = c[1];
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
