/*
 * symbolize.c - addresses of other processes to function names
 * (symbolize.h), with elfutils' libdwfl.
 *
 * Structure:
 *
 *   procs   the declared processes, a hash map from the caller's id to a
 *           struct proc: its modules sorted by (lo, hi), and an index of
 *           their ranges (libshm/profile/rangeix.h), so the module of an
 *           address is one binary search whatever the table: modules
 *           published by a hostile writer may overlap, nest, or one may
 *           cover the whole address space. Where several hold an address
 *           the last in that order wins (the highest lo, then hi: the
 *           innermost of nested modules), as the walk back from the last
 *           module starting at or below the address found it before; that
 *           walk was linear for every address under a module covering
 *           everything (16,384 records: 21 s in 'shmstat flame').
 *   files   one struct file per distinct module path, shared by every
 *           process that loaded the path: one Dwfl holding that one
 *           module, reported at load bias 0, so it answers in file
 *           addresses (runtime address - base) for any process. The file
 *           is opened when a name is first asked in it, never before.
 *           A Dwfl per process instead would keep two descriptors (the
 *           file, its debuginfo) and one symbol table per process per
 *           module: a hundred processes of one program would hit the
 *           descriptor limit and read libc's symbols a hundred times.
 *   names   every string handed out is interned once (a string set), so
 *           the caches hold pointers and equal names are one pointer; the
 *           paths and build-ids (as hex) are interned too, so comparing
 *           them is comparing pointers.
 *   caches  pcache: (proc serial, address) -> name, the O(1) path taken
 *           by the repeated frames of thousands of stacks; behind it,
 *           fcache: (file, file address) -> name, so one function of libc
 *           seen from many processes (each at its own ASLR base) is
 *           searched in libdwfl once - libdwfl's symbol search is linear
 *           in the size of the symbol table.
 *   warned  (path, kind) pairs already warned about: one line per problem
 *           of a file, not one per process.
 *
 * libdwfl pitfalls handled here:
 *   - dwfl_report_elf's base: for ET_EXEC it is ignored (bias 0: file
 *     addresses are runtime addresses); for ET_DYN with add_p_vaddr false
 *     it is where the first PT_LOAD is placed (bias = base - its p_vaddr),
 *     with add_p_vaddr true it is the bias itself. The published base is
 *     the bias (dl_iterate_phdr's dlpi_addr), so the files are reported
 *     with add_p_vaddr true and base 0 and looked up at address - base.
 *   - dwfl_report_elf would open a FIFO or a device named by a (hostile)
 *     module path and block or read forever: the file is opened here, and
 *     only once an O_PATH descriptor showed a regular file (open_regular:
 *     no device, FIFO or tty is ever opened), then handed over only if it
 *     starts with the ELF magic (which also keeps libdwfl from
 *     decompressing it, the one case where it closes a descriptor it was
 *     given and failed). Every file that cannot be used gets the same
 *     warning, so warnings do not tell which hidden paths exist.
 *   - debuginfo is found by build-id only, under /usr/lib/debug/.build-id
 *     (dwfl_build_id_find_debuginfo), not by .gnu_debuglink:
 *     dwfl_standard_find_debuginfo would open the debuglink name in the
 *     module's own directory (and "../" names from the file) with a
 *     blocking open(), and a hostile writer names its own binary and
 *     directory; nor from debuginfod (flame unsets DEBUGINFOD_URLS).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include "demangle.h"
#include "dw.h"
#include "plt.h"
#include "../../libshm/profile/rangeix.h"
#include "symbolize.h"
#include "textsafe.h"

static const char unknown[] = "[unknown]";

/* ------------------------------------------------------------ hash map */

/* Open addressing, linear probing, two 64-bit words of key to a pointer;
 * an empty slot has v == NULL. */
struct slot {
	uint64_t k1, k2;
	const void *v;
};

struct map {
	struct slot *slot;
	size_t mask;    /* capacity - 1; capacity a power of two, 0 if none */
	size_t n;
};

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash2(uint64_t k1, uint64_t k2)
{
	return mix64(k1 ^ mix64(k2 + 0x9e3779b97f4a7c15ULL));
}

/* The slot of (k1, k2), or the empty one where it would go. */
static struct slot *map_slot(const struct map *m, uint64_t k1, uint64_t k2)
{
	size_t i = (size_t)hash2(k1, k2) & m->mask;

	for (;;) {
		struct slot *e = &m->slot[i];

		if (!e->v || (e->k1 == k1 && e->k2 == k2))
			return e;
		i = (i + 1) & m->mask;
	}
}

static const void *map_get(const struct map *m, uint64_t k1, uint64_t k2)
{
	if (!m->slot)
		return NULL;
	return map_slot(m, k1, k2)->v;
}

static int map_grow(struct map *m)
{
	size_t cap = m->slot ? (m->mask + 1) * 2 : 64;
	struct map nm;

	if (cap > SIZE_MAX / 2 / sizeof(struct slot))
		return ENOMEM;
	nm.slot = calloc(cap, sizeof(struct slot));
	if (!nm.slot)
		return ENOMEM;
	nm.mask = cap - 1;
	nm.n = m->n;
	if (m->slot) {
		for (size_t i = 0; i <= m->mask; i++)
			if (m->slot[i].v)
				*map_slot(&nm, m->slot[i].k1, m->slot[i].k2) = m->slot[i];
	}
	free(m->slot);
	*m = nm;
	return 0;
}

/* Set (k1, k2) to @v (not NULL). Return 0 or ENOMEM. */
static int map_put(struct map *m, uint64_t k1, uint64_t k2, const void *v)
{
	struct slot *e;

	/* load at most 3/4 */
	if (!m->slot || (m->n + 1) * 4 > (m->mask + 1) * 3) {
		if (map_grow(m) != 0)
			return ENOMEM;
	}
	e = map_slot(m, k1, k2);
	if (!e->v)
		m->n++;
	e->k1 = k1;
	e->k2 = k2;
	e->v = v;
	return 0;
}

/* ---------------------------------------------------------- string set */

struct strent {
	uint64_t h;
	char *s;        /* NULL: empty */
	size_t len;
};

struct strset {
	struct strent *e;
	size_t mask, n;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

static struct strent *strset_slot(const struct strset *set, uint64_t h,
				  const char *s, size_t len)
{
	size_t i = (size_t)h & set->mask;

	for (;;) {
		struct strent *e = &set->e[i];

		if (!e->s || (e->h == h && e->len == len && memcmp(e->s, s, len) == 0))
			return e;
		i = (i + 1) & set->mask;
	}
}

static int strset_grow(struct strset *set)
{
	size_t cap = set->e ? (set->mask + 1) * 2 : 256;
	struct strset ns;

	if (cap > SIZE_MAX / 2 / sizeof(struct strent))
		return ENOMEM;
	ns.e = calloc(cap, sizeof(struct strent));
	if (!ns.e)
		return ENOMEM;
	ns.mask = cap - 1;
	ns.n = set->n;
	if (set->e) {
		for (size_t i = 0; i <= set->mask; i++) {
			const struct strent *o = &set->e[i];

			if (o->s)
				*strset_slot(&ns, o->h, o->s, o->len) = *o;
		}
	}
	free(set->e);
	*set = ns;
	return 0;
}

/* The one copy of @s[0..@len) (NUL-terminated); NULL when out of memory. */
static const char *intern_n(struct strset *set, const char *s, size_t len)
{
	uint64_t h = hash_bytes(s, len);
	struct strent *e;
	char *copy;

	if (set->e) {
		e = strset_slot(set, h, s, len);
		if (e->s)
			return e->s;
	}
	if (!set->e || (set->n + 1) * 4 > (set->mask + 1) * 3) {
		if (strset_grow(set) != 0)
			return NULL;
	}
	if (len == SIZE_MAX)
		return NULL;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	e = strset_slot(set, h, s, len);
	e->h = h;
	e->s = copy;
	e->len = len;
	set->n++;
	return copy;
}

static const char *intern(struct strset *set, const char *s)
{
	return intern_n(set, s, strlen(s));
}

static void strset_free(struct strset *set)
{
	if (set->e) {
		for (size_t i = 0; i <= set->mask; i++)
			free(set->e[i].s);
	}
	free(set->e);
}

/* -------------------------------------------------------------- objects */

enum mod_state {
	MOD_NEW,        /* not looked at yet */
	MOD_SYMS,       /* names from file->mod */
	MOD_ADDRS,      /* "name+0xOFF" only */
};

struct file {
	const char *path;       /* interned */
	Dwfl *dwfl;             /* NULL: could not be read */
	Dwfl_Module *mod;
	const char *bid;        /* interned hex build-id of the file; NULL: none */
};

struct mod {
	uint64_t base, lo, hi;
	size_t decl;            /* its place in the declarations of its process */
	const char *path;       /* interned; NULL when none was published */
	const char *name;       /* interned printable basename */
	const char *bid;        /* interned hex published build-id; NULL: none */
	struct file *file;      /* set with state MOD_SYMS */
	enum mod_state state;
};

struct proc {
	uint64_t serial;        /* key of its names in pcache */
	const char *who;        /* interned printable */
	struct mod *mod;        /* sorted by lo */
	size_t n;
	size_t *pos, ndecl;     /* declaration -> index in mod[] (SIZE_MAX: none), ndecl of them */
	struct rangeix ix;      /* ids: indices in mod[] */
};

enum warn_kind { WARN_READ = 1, WARN_BUILD_ID };

struct symbolizer {
	char *prog;
	FILE *warn;
	struct strset strs;
	struct map procs;       /* (caller id, 0) -> struct proc */
	struct map files;       /* (interned path, 0) -> struct file */
	struct map pcache;      /* (proc serial, address) -> name */
	struct map fcache;      /* (struct file, file address) -> name */
	struct map warned;      /* (interned path, enum warn_kind) -> warned */
	uint64_t next_serial;
};

/* A Dwfl's callbacks (dw.c fills dw.callbacks with these): debuginfo by
 * build-id only (under /usr/lib/debug/.build-id), dwfl_build_id_find_elf,
 * dwfl_build_id_find_debuginfo and dwfl_offline_section_address. The
 * standard search also tries the .gnu_debuglink name of the file in the
 * file's own directory, which a writer naming its own binary controls,
 * and libdwfl opens what it finds there blocking (a FIFO, /dev/tty). */

static uint64_t ptr_key(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* -------------------------------------------------------------- warnings */

/* @s with control characters and bytes that are not UTF-8 as \xNN
 * (textsafe.h): paths come from the writers. With @lower, the first
 * letter in lowercase unless it starts a capitalised word ("No such
 * file" -> "no such file", "ELF" stays). */
static void put_clean(FILE *f, const char *s, int lower)
{
	if (lower && s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z')) {
		putc(s[0] - 'A' + 'a', f);
		s++;
	}
	put_safe(f, s, 0);
}

/* Tell the problem @kind of @path (seen from @p) once per path. */
static void warn_once(struct symbolizer *s, const char *path, enum warn_kind kind,
		      const struct proc *p, const char *why)
{
	if (!s->warn || map_get(&s->warned, ptr_key(path), kind))
		return;
	/* out of memory: the warning may come again, which is harmless */
	(void)map_put(&s->warned, ptr_key(path), kind, path);

	fputs(s->prog, s->warn);
	if (kind == WARN_BUILD_ID) {
		fputs(": build-id of ", s->warn);
		put_clean(s->warn, path, 0);
		fputs(" differs from the one ", s->warn);
		put_clean(s->warn, p->who, 0);
		fputs(" loaded", s->warn);
	} else {
		fputs(": cannot read ", s->warn);
		put_clean(s->warn, path, 0);
		fputs(" for ", s->warn);
		put_clean(s->warn, p->who, 0);
		fputs(": ", s->warn);
		put_clean(s->warn, why, 1);
	}
	fputs("; its frames are shown as addresses\n", s->warn);
}

/* ------------------------------------------------------------- symbolizer */

struct symbolizer *symbolizer_new(const char *prog, FILE *warn)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->prog = strdup(prog ? prog : "shmstat");
	if (!s->prog) {
		free(s);
		return NULL;
	}
	s->warn = warn;
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->procs.slot) {
		for (size_t i = 0; i <= s->procs.mask; i++) {
			struct proc *p = (struct proc *)s->procs.slot[i].v;

			if (p) {
				free(p->mod);
				rangeix_free(&p->ix);
				free(p->pos);
				free(p);
			}
		}
	}
	if (s->files.slot) {
		for (size_t i = 0; i <= s->files.mask; i++) {
			struct file *f = (struct file *)s->files.slot[i].v;

			if (f) {
				if (f->dwfl)
					dw.end(f->dwfl);
				free(f);
			}
		}
	}
	free(s->procs.slot);
	free(s->files.slot);
	free(s->pcache.slot);
	free(s->fcache.slot);
	free(s->warned.slot);
	strset_free(&s->strs);
	free(s->prog);
	free(s);
}

/* @s[0..@len) with control characters as '?', interned. */
static const char *intern_clean(struct symbolizer *s, const char *str, size_t len)
{
	const char *r;
	char *tmp;

	if (len == SIZE_MAX)
		return NULL;
	tmp = malloc(len + 1);
	if (!tmp)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		tmp[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
	}
	tmp[len] = '\0';
	r = intern_n(&s->strs, tmp, len);
	free(tmp);
	return r;
}

/* Build-id bytes as interned lowercase hex; NULL when out of memory. */
static const char *intern_hex(struct symbolizer *s, const unsigned char *id, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const char *r;
	char *hex;

	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	hex = malloc(2 * len + 1);
	if (!hex)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * len] = '\0';
	r = intern_n(&s->strs, hex, 2 * len);
	free(hex);
	return r;
}

/* Fill @m from @in; 0 or ENOMEM. */
static int mod_init(struct symbolizer *s, struct mod *m, const struct sym_module *in)
{
	const char *path = in->path ? in->path : "";
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	memset(m, 0, sizeof(*m));
	m->base = in->base;
	m->lo = in->lo;
	m->hi = in->hi;
	m->state = MOD_NEW;
	if (path[0]) {
		m->path = intern(&s->strs, path);
		if (!m->path)
			return ENOMEM;
	}
	if (!base[0])
		base = path[0] ? path : "[anon]";
	m->name = intern_clean(s, base, strlen(base));
	if (!m->name)
		return ENOMEM;
	if (in->build_id && in->build_id_len > 0) {
		m->bid = intern_hex(s, in->build_id, in->build_id_len);
		if (!m->bid)
			return ENOMEM;
	}
	return 0;
}

static int mod_cmp(const void *a, const void *b)
{
	const struct mod *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	/* ties in the order declared: the index answers as before */
	return x->decl < y->decl ? -1 : x->decl > y->decl;
}

int symbolizer_add_proc(struct symbolizer *s, size_t proc, const char *who,
			const struct sym_module *mods, size_t n)
{
	struct proc *old, *p;
	struct rangeix_in *in = NULL;
	char whobuf[64];
	size_t nold, k;

	if (!s)
		return EINVAL;
	if (!mods)
		n = 0;
	old = (struct proc *)map_get(&s->procs, proc, 0);
	nold = old ? old->n : 0;
	if (n > SIZE_MAX / sizeof(struct mod) - nold ||
	    n > SIZE_MAX / sizeof(size_t) - (old ? old->ndecl : 0) - 1)
		return ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	p->mod = calloc(nold + n + 1, sizeof(struct mod));
	if (!p->mod)
		goto nomem;
	if (!who) {
		snprintf(whobuf, sizeof(whobuf), "process %zu", proc);
		who = whobuf;
	}
	p->who = intern_clean(s, who, strlen(who));
	if (!p->who)
		goto nomem;
	if (nold)
		memcpy(p->mod, old->mod, nold * sizeof(struct mod));
	k = nold;
	p->ndecl = (old ? old->ndecl : 0) + n;
	p->pos = malloc((p->ndecl + 1) * sizeof(*p->pos));
	if (!p->pos)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (mods[i].lo >= mods[i].hi)
			continue;
		if (mod_init(s, &p->mod[k], &mods[i]) != 0)
			goto nomem;
		p->mod[k].decl = p->ndecl - n + i;
		k++;
	}
	p->n = k;
	qsort(p->mod, p->n, sizeof(struct mod), mod_cmp);
	memset(p->pos, 0xff, p->ndecl * sizeof(*p->pos));   /* SIZE_MAX each */
	for (size_t i = 0; i < p->n; i++)
		p->pos[p->mod[i].decl] = i;
	in = malloc((p->n + 1) * sizeof(*in));
	if (!in)
		goto nomem;
	for (size_t i = 0; i < p->n; i++)
		in[i] = (struct rangeix_in){ .lo = p->mod[i].lo, .hi = p->mod[i].hi, .prio = i, .id = i };
	if (rangeix_build(&p->ix, in, p->n) != 0)
		goto nomem;
	free(in);
	in = NULL;
	/* a new serial: the names cached for the old declaration are dead */
	p->serial = s->next_serial++;
	if (map_put(&s->procs, proc, 0, p) != 0)
		goto nomem;
	if (old) {
		free(old->mod);
		free(old->pos);
		rangeix_free(&old->ix);
		free(old);
	}
	return 0;
nomem:
	free(in);
	free(p->mod);
	free(p->pos);
	rangeix_free(&p->ix);
	free(p);
	return ENOMEM;
}

/* The module of @p holding @addr (the last in mod[] of those that do);
 * NULL if none. */
static struct mod *find_mod(const struct proc *p, uint64_t addr)
{
	size_t k = rangeix_find(&p->ix, addr);

	return k == SIZE_MAX ? NULL : &p->mod[k];
}

/*
 * The vDSO a writer published ("linux-vdso.so.1") is no file: the kernel
 * maps the same image into every process, so the reader's own copy, put
 * in a memory file, names its functions. The build-id published by the
 * writer is compared as for any file, so a writer that ran under another
 * kernel gets addresses, not wrong names. -1 when it cannot be had.
 */
static int own_vdso_fd(void)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	unsigned long lo = 0, hi = 0;
	char line[512];
	int fd = -1;

	if (maps == NULL)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		char *end;

		if (strstr(line, "[vdso]") == NULL)
			continue;
		/* "start-end perms ...", in hex */
		lo = strtoul(line, &end, 16);
		if (*end == '-')
			hi = strtoul(end + 1, NULL, 16);
		break;
	}
	(void)fclose(maps);
	if (hi <= lo || hi - lo > ((unsigned long)1 << 20))
		return -1;
	fd = memfd_create("vdso", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	/* our own mapping, as /proc/self/maps gave it
	 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
	if (write(fd, (const void *)lo, hi - lo) != (ssize_t)(hi - lo)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int is_vdso(const char *path)
{
	return strncmp(path, "linux-vdso", 10) == 0 || strncmp(path, "linux-gate", 10) == 0;
}

/*
 * The one reason given for a module file that cannot be used, whatever the
 * cause: missing, unreadable, not a regular file, not ELF, or an ELF file
 * libdwfl refuses. Telling them apart would let whoever names files in a
 * segment probe, through the warnings of a reader with more rights (root),
 * which paths exist that they cannot see.
 */
static const char *const unusable = "missing, unreadable or not a regular elf file";

/* The reason for errno @e: resource shortages as they are, the rest as
 * @unusable. */
static const char *open_why(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM ? strerror(e) : unusable;
}

/* The most data private_copy() copies, all files together: a writer
 * naming one large file through many hard links (or reflinks) gets
 * that much memory once, not once a name */
#define COPY_MAX ((off_t)1 << 30)

/*
 * Can someone else than root change the file of @st? libdwfl maps the
 * files it is given, and a mapped file its owner truncates faults the
 * reader (SIGBUS) at its next look into it: a writer truncating and
 * restoring its own binary crashed `shmstat flame` in 22 of 300 runs.
 * Files of root that no group or other user can write are mapped as
 * they are; the others are read into a private copy first.
 */
static int may_change(const struct stat *st)
{
	return st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/*
 * A memory file holding what @fd (closed) holds: its data extents (holes
 * stay holes: a sparse file costs what it holds), within what is left of
 * COPY_MAX; what was cut or changed while it was read stays so in the
 * copy, which no one else can change. -1 with *@why set.
 */
static int private_copy(int fd, off_t size, const char **why)
{
	static off_t copied;            /* by this process, all files */
	const size_t bufsz = (size_t)1 << 16;
	char *buf = malloc(bufsz);
	int mfd = memfd_create("module", MFD_CLOEXEC);
	off_t pos = 0;

	if (buf == NULL || mfd < 0 || ftruncate(mfd, size) != 0) {
		*why = open_why(errno);
		goto fail;
	}
	while (pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0 || d >= size)
			break;                  /* holes to the end, or cut */
		h = lseek(fd, d, SEEK_HOLE);
		h = h < 0 || h > size ? size : h;
		for (pos = d; pos < h;) {
			size_t want = h - pos < (off_t)bufsz ? (size_t)(h - pos) : bufsz;
			ssize_t n;

			if (copied > COPY_MAX - (off_t)want) {
				*why = unusable;
				goto fail;
			}
			n = pread(fd, buf, want, pos);
			if (n <= 0)
				break;          /* cut while read: the rest zeros */
			if (pwrite(mfd, buf, (size_t)n, pos) != n) {
				*why = open_why(errno);
				goto fail;
			}
			pos += n;
			copied += n;
		}
		pos = h;
	}
	free(buf);
	close(fd);
	return mfd;
fail:
	free(buf);
	if (mfd >= 0)
		close(mfd);
	close(fd);
	return -1;
}

/*
 * Open @path for reading only if it is a regular file of at least an ELF
 * header: looked at first through an O_PATH descriptor (which opens
 * nothing: no device driver, FIFO or tty sees an open), then that very
 * inode is opened through /proc/self/fd (or, without /proc, @path again,
 * non-blocking, and it must still be the same inode). A descriptor (of a
 * private copy when the file may change under the reader), or -1 with
 * *@why set.
 */
static int open_regular(const char *path, const char **why)
{
	struct stat st, st2;
	char self[64];
	int pfd, fd, e;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		*why = open_why(errno);
		return -1;
	}
	if (fstat(pfd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(Elf32_Ehdr)) {
		*why = unusable;
		close(pfd);
		return -1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	e = errno;
	close(pfd);
	if (fd < 0) {
		*why = open_why(e);
		return -1;
	}
	if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		*why = unusable;
		close(fd);
		return -1;
	}
	return may_change(&st2) ? private_copy(fd, st2.st_size, why) : fd;
}

/* Report @f's file into a Dwfl of its own; on failure set *@why. */
static void file_open(struct file *f, const char **why)
{
	unsigned char magic[SELFMAG];
	Dwfl_Module *mod;
	Dwfl *dwfl;
	int fd;

	if (is_vdso(f->path)) {
		fd = own_vdso_fd();
		if (fd < 0) {
			*why = unusable;
			return;
		}
	} else if ((fd = open_regular(f->path, why)) < 0) {
		return;
	}
	if (pread(fd, magic, SELFMAG, 0) != SELFMAG || memcmp(magic, ELFMAG, SELFMAG) != 0) {
		*why = unusable;
		close(fd);
		return;
	}
	if (dw_load(why) != 0) {
		close(fd);
		return;
	}
	dwfl = dw.begin(&dw.callbacks);
	if (!dwfl) {
		*why = dw.errmsg(-1);
		close(fd);
		return;
	}
	dw.report_begin(dwfl);
	/* base 0, add_p_vaddr: bias 0 for ET_DYN (ignored for ET_EXEC), so
	 * the module answers in file addresses. On success @fd is libdwfl's. */
	mod = dw.report_elf(dwfl, f->path, f->path, fd, 0, true);
	if (!mod) {
		*why = unusable;        /* a broken ELF file: as any other */
		close(fd);
		dw.end(dwfl);
		return;
	}
	if (dw.report_end(dwfl, NULL, NULL) != 0) {
		*why = dw.errmsg(-1);
		dw.end(dwfl);
		return;
	}
	f->dwfl = dwfl;
	f->mod = mod;
}

/* The file of @path, opened on first use (warning on behalf of @p when it
 * cannot be read); NULL when out of memory. */
static struct file *file_get(struct symbolizer *s, const char *path, const struct proc *p)
{
	struct file *f = (struct file *)map_get(&s->files, ptr_key(path), 0);
	const unsigned char *bits = NULL;
	const char *why = "unknown error";
	GElf_Addr vaddr = 0;
	int len;

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = path;
	if (map_put(&s->files, ptr_key(path), 0, f) != 0) {
		free(f);
		return NULL;
	}
	file_open(f, &why);
	if (!f->dwfl) {
		warn_once(s, path, WARN_READ, p, why);
		return f;
	}
	len = dw.module_build_id(f->mod, &bits, &vaddr);
	if (len > 0 && bits) {
		/* out of memory: no build-id known; a published one then
		 * does not match, which is shown as addresses, not wrong */
		f->bid = intern_hex(s, bits, (size_t)len);
	}
	return f;
}

/* Decide how names of @m are found (MOD_NEW -> MOD_SYMS or MOD_ADDRS). */
static void mod_resolve(struct symbolizer *s, const struct proc *p, struct mod *m)
{
	struct file *f;

	if (!m->path || (m->path[0] != '/' && !is_vdso(m->path))) {
		m->state = MOD_ADDRS;
		return;
	}
	f = file_get(s, m->path, p);
	if (!f)
		return;         /* out of memory: try again next time */
	if (!f->dwfl) {
		m->state = MOD_ADDRS;
		return;
	}
	if (m->bid && m->bid != f->bid) {
		warn_once(s, m->path, WARN_BUILD_ID, p, "");
		m->state = MOD_ADDRS;
		return;
	}
	m->file = f;
	m->state = MOD_SYMS;
}

/* "name+0xOFF", interned; NULL when out of memory. */
static const char *addr_name(struct symbolizer *s, const struct mod *m, uint64_t off)
{
	char buf[256];
	const char *r;
	char *big;
	int len;

	len = snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, m->name, off);
	if (len < 0)
		return NULL;
	if ((size_t)len < sizeof(buf))
		return intern_n(&s->strs, buf, (size_t)len);
	if (asprintf(&big, "%s+0x%" PRIx64, m->name, off) < 0)
		return NULL;
	r = intern(&s->strs, big);
	free(big);
	return r;
}

/* The name of @addr in @m ("qsort@plt" in a PLT stub: plt.c), not cached
 * per process; NULL when out of memory. */
static const char *mod_name(struct symbolizer *s, const struct proc *p,
			    struct mod *m, uint64_t addr)
{
	uint64_t off = addr - m->base;
	const char *name, *sym;
	char cxx[DEMANGLE_MAX + 1];
	GElf_Off symoff = 0;
	GElf_Sym esym;

	if (m->state == MOD_NEW)
		mod_resolve(s, p, m);
	if (m->state != MOD_SYMS)
		return addr_name(s, m, off);

	name = map_get(&s->fcache, ptr_key(m->file), off);
	if (name)
		return name;
	sym = dw.module_addrinfo(m->file->mod, off, &symoff, &esym, NULL, NULL, NULL);
	if (sym && sym[0]) {
		/* "fopen@@GLIBC_2.2.5" -> "fopen", "_ZN2ns3hotEi" -> "ns::hot(int)" */
		const char *at = strchr(sym + 1, '@');
		size_t len = at ? (size_t)(at - sym) : strlen(sym), dl = demangle(sym, len, cxx);

		name = dl ? intern_n(&s->strs, cxx, dl) : intern_n(&s->strs, sym, len);
	} else {
		size_t pl = plt_name(m->file->mod, off, cxx, sizeof(cxx));
		name = pl ? intern_n(&s->strs, cxx, pl) : addr_name(s, m, off);
	}
	if (name)
		(void)map_put(&s->fcache, ptr_key(m->file), off, name);
	return name;
}

const char *symbolizer_name_in(struct symbolizer *s, size_t proc, size_t mod, uint64_t pc,
			       int leaf)
{
	const struct proc *p;
	const char *name;
	struct mod *m = NULL;
	uint64_t addr, key;

	if (!s || pc == 0)
		return unknown;
	p = map_get(&s->procs, proc, 0);
	if (!p)
		return unknown;
	addr = leaf ? pc : pc - 1;
	/* the module named, if it holds addr: cached under (serial + 1) << 32
	 * | its index, above the serials of the lookups by address */
	if (mod < p->ndecl && p->pos[mod] != SIZE_MAX && addr >= p->mod[p->pos[mod]].lo &&
	    addr < p->mod[p->pos[mod]].hi)
		m = &p->mod[p->pos[mod]];
	key = m ? (p->serial + 1) << 32 | (uint64_t)(m - p->mod) : p->serial;

	name = map_get(&s->pcache, key, addr);
	if (name)
		return name;
	if (!m)
		m = find_mod(p, addr);
	name = m ? mod_name(s, p, m, addr) : unknown;
	if (!name)
		return unknown;
	/* out of memory: the name is still good, only not cached */
	(void)map_put(&s->pcache, key, addr, name);
	return name;
}

const char *symbolizer_name(struct symbolizer *s, size_t proc, uint64_t pc, int leaf)
{
	return symbolizer_name_in(s, proc, SIZE_MAX, pc, leaf);
}
