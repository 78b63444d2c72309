/*
 * segment.c - create, map, validate and remove segments (attach.c makes
 * a mapping a writer's attachment).
 *
 * A segment is created with O_CREAT|O_EXCL|O_NOFOLLOW, its pages reserved
 * with posix_fallocate (tmpfs full: ENOSPC now, not SIGBUS later), its
 * header written, and its magic stored last. Its pages are not faulted
 * in: on tmpfs a reserved page nobody has touched is a hole, which
 * readers skip (SEEK_DATA), so a stripe costs a reader what its writer
 * touched, not its size. Whoever
 * opens an existing segment checks the owner, the link count and every
 * header field before trusting any of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "hook.h"
#include "segment.h"

/* ------------------------------------------------------------------ names */

int shmstat_valid_name(const char *name)
{
	size_t n;

	shmstat__clear_error();
	if (name == NULL)
		return shmstat__fail(SHMSTAT_EBADNAME, "segment name is missing");
	n = strlen(name);
	if (n == 0 || n > SHMSTAT_NAME_MAX)
		return shmstat__fail(SHMSTAT_EBADNAME,
				     "segment name must be 1 to %d characters, not %zu",
				     SHMSTAT_NAME_MAX, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return shmstat__fail(SHMSTAT_EBADNAME,
					     "segment name '%.*s' has a character outside [A-Za-z0-9_.-] at position %zu",
					     (int)(n > 64 ? 64 : n), name, i + 1);
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return shmstat__fail(SHMSTAT_EBADNAME, "segment name '%s' is reserved", name);
	return 0;
}

int shmstat__path(const char *name, char path[SHMSTAT_PATH_MAX])
{
	int err = shmstat_valid_name(name);

	if (err)
		return err;
	/* the prefix; the name after it brings the NUL
	 * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(path, "/shmstat.", 9);
	memcpy(path + 9, name, strlen(name) + 1);
	return 0;
}

/* --------------------------------------------------------------- geometry */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int shmstat__geom(struct shmstat_geom *g, uint32_t procs, uint32_t metrics,
		  uint32_t values, uint32_t threads, uint64_t sig_bytes,
		  uint32_t stacks, uint32_t modules)
{
	/* regions in the order they lie in the segment */
	static const int place[SHMSTAT_REG_COUNT] = {
		SHMSTAT_REG_PROCS, SHMSTAT_REG_DESCS, SHMSTAT_REG_OWNERS, SHMSTAT_REG_SIGS,
		SHMSTAT_REG_STRIPES, SHMSTAT_REG_STACKS, SHMSTAT_REG_MODS,
	};
	uint64_t off = SHMSTAT_PAGE;
	uint64_t len[SHMSTAT_REG_COUNT];

	if (procs < 1 || procs > SHMSTAT_LIMIT_PROCS)
		return shmstat__fail(EINVAL, "max_procs must be 1 to %u, not %u",
				     SHMSTAT_LIMIT_PROCS, procs);
	if (metrics < 1 || metrics > SHMSTAT_LIMIT_METRICS)
		return shmstat__fail(EINVAL, "max_metrics must be 1 to %u, not %u",
				     SHMSTAT_LIMIT_METRICS, metrics);
	if (values < 1 || values > SHMSTAT_LIMIT_VALUES)
		return shmstat__fail(EINVAL, "max_values must be 1 to %u, not %u",
				     SHMSTAT_LIMIT_VALUES, values);
	if (threads < 1 || (uint64_t)threads + procs + SHMSTAT_GRAVES > SHMSTAT_LIMIT_STRIPES)
		return shmstat__fail(EINVAL,
				     "max_threads must be 1 to %u with %u processes, not %u",
				     SHMSTAT_LIMIT_STRIPES - SHMSTAT_GRAVES - procs, procs, threads);
	if (sig_bytes > (uint64_t)SHMSTAT_LIMIT_SIG_LINES * SHMSTAT_LINE)
		return shmstat__fail(EINVAL, "sig_bytes must be 0 to %llu, not %llu",
				     (unsigned long long)SHMSTAT_LIMIT_SIG_LINES * SHMSTAT_LINE,
				     (unsigned long long)sig_bytes);
	if (stacks > SHMSTAT_LIMIT_STACKS || (stacks & (stacks - 1)) != 0)
		return shmstat__fail(EINVAL,
				     "max_stacks must be 0 or a power of two up to %u, not %u",
				     SHMSTAT_LIMIT_STACKS, stacks);
	if (modules > SHMSTAT_LIMIT_MODULES)
		return shmstat__fail(EINVAL, "max_modules must be 0 to %u, not %u",
				     SHMSTAT_LIMIT_MODULES, modules);
	g->max_stacks = stacks;
	g->max_modules = modules;
	/* whole pages: what a page holds is usable */
	g->sig_lines = round_up(sig_bytes, SHMSTAT_PAGE) / SHMSTAT_LINE;
	g->max_procs = procs;
	g->max_metrics = metrics;
	g->max_values = values;
	g->nstripes = SHMSTAT_GRAVES + procs + threads;
	g->stripe_bytes = (uint32_t)round_up((uint64_t)values * 8, SHMSTAT_LINE);
	len[SHMSTAT_REG_PROCS] = (uint64_t)procs * sizeof(struct shmstat_proc);
	len[SHMSTAT_REG_DESCS] = (uint64_t)metrics * sizeof(struct shmstat_desc);
	len[SHMSTAT_REG_OWNERS] = (uint64_t)g->nstripes * 8;
	len[SHMSTAT_REG_STRIPES] = (uint64_t)g->nstripes * g->stripe_bytes;
	len[SHMSTAT_REG_SIGS] = g->sig_lines * SHMSTAT_LINE;
	len[SHMSTAT_REG_STACKS] = (uint64_t)stacks * sizeof(struct shmstat_stackent);
	len[SHMSTAT_REG_MODS] = (uint64_t)modules * sizeof(struct shmstat_profmod);
	for (int k = 0; k < SHMSTAT_REG_COUNT; k++) {
		int i = place[k];

		g->reg[i].off = off;
		g->reg[i].len = len[i];
		off = round_up(off + len[i], SHMSTAT_PAGE);
	}
	g->total = off;
	return 0;
}

/* ------------------------------------------------------------- validation */

static const char *const region_names[SHMSTAT_REG_COUNT] = {
	"procs", "descs", "owners", "stripes", "sigs", "stacks", "mods",
};

int shmstat__validate_hdr(const struct shmstat_hdr *h, uint64_t file_size,
			  const char *name)
{
	struct shmstat_geom g;
	uint32_t threads;

	if (memcmp(h->magic, SHMSTAT_MAGIC, 8) != 0)
		return shmstat__fail(SHMSTAT_EFOREIGN,
				     "segment '%s' is not a shmstat segment (bad magic)", name);
	if (h->endian != SHMSTAT_ENDIAN_PROBE)
		return shmstat__fail(SHMSTAT_EFOREIGN,
				     "segment '%s' was written with another byte order", name);
	if (h->major != SHMSTAT_FORMAT_MAJOR)
		return shmstat__fail(SHMSTAT_EVERSION,
				     "segment '%s' has format %u.%u; this build reads %u.x",
				     name, h->major, h->minor, SHMSTAT_FORMAT_MAJOR);
	if (shmstat__hash(h, SHMSTAT_HDR_SUM_BYTES) != h->hdr_sum)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: header checksum mismatch", name);
	if (h->hdr_size != sizeof(*h))
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: header size %u, expected %zu",
				     name, h->hdr_size, sizeof(*h));
	if (file_size < h->total_size)
		return shmstat__fail(SHMSTAT_ETRUNCATED,
				     "segment '%s' is truncated: %llu bytes, its header says %llu",
				     name, (unsigned long long)file_size,
				     (unsigned long long)h->total_size);
	if (file_size != h->total_size)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: %llu bytes, its header says %llu",
				     name, (unsigned long long)file_size,
				     (unsigned long long)h->total_size);
	if (h->nregions < SHMSTAT_REG_COUNT || h->nregions > SHMSTAT_MAX_REGIONS)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: %u regions", name, h->nregions);
	if (h->nstripes < SHMSTAT_GRAVES + h->max_procs + 1u)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: %u stripes for %u processes",
				     name, h->nstripes, h->max_procs);
	threads = h->nstripes - SHMSTAT_GRAVES - h->max_procs;
	if (h->regions[SHMSTAT_REG_SIGS].len % SHMSTAT_PAGE != 0 ||
	    h->regions[SHMSTAT_REG_SIGS].len / SHMSTAT_LINE > SHMSTAT_LIMIT_SIG_LINES)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: signature region of %llu bytes",
				     name, (unsigned long long)h->regions[SHMSTAT_REG_SIGS].len);
	if (h->regions[SHMSTAT_REG_STACKS].len % sizeof(struct shmstat_stackent) != 0 ||
	    h->regions[SHMSTAT_REG_STACKS].len / sizeof(struct shmstat_stackent) > SHMSTAT_LIMIT_STACKS ||
	    h->regions[SHMSTAT_REG_MODS].len % sizeof(struct shmstat_profmod) != 0 ||
	    h->regions[SHMSTAT_REG_MODS].len / sizeof(struct shmstat_profmod) > SHMSTAT_LIMIT_MODULES)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: profile regions of %llu and %llu bytes",
				     name, (unsigned long long)h->regions[SHMSTAT_REG_STACKS].len,
				     (unsigned long long)h->regions[SHMSTAT_REG_MODS].len);
	if (shmstat__geom(&g, h->max_procs, h->max_metrics, h->max_values, threads,
			  h->regions[SHMSTAT_REG_SIGS].len,
			  (uint32_t)(h->regions[SHMSTAT_REG_STACKS].len / sizeof(struct shmstat_stackent)),
			  (uint32_t)(h->regions[SHMSTAT_REG_MODS].len / sizeof(struct shmstat_profmod))) != 0)
		return shmstat__fail(SHMSTAT_ECORRUPT, "segment '%s' is corrupted: %s",
				     name, shmstat_last_error());
	if (g.stripe_bytes != h->stripe_bytes)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: stripe size %u, expected %u",
				     name, h->stripe_bytes, g.stripe_bytes);
	for (uint32_t i = 0; i < SHMSTAT_REG_COUNT; i++) {
		const struct shmstat_region *r = &h->regions[i];

		if (!shmstat__fits(r->off, r->len, h->total_size) ||
		    r->off != g.reg[i].off || r->len != g.reg[i].len)
			return shmstat__fail(SHMSTAT_ECORRUPT,
					     "segment '%s' is corrupted: region '%s' at offset %llu length %llu, expected %llu length %llu",
					     name, region_names[i],
					     (unsigned long long)r->off, (unsigned long long)r->len,
					     (unsigned long long)g.reg[i].off,
					     (unsigned long long)g.reg[i].len);
	}
	for (uint32_t i = SHMSTAT_REG_COUNT; i < h->nregions; i++)
		if (!shmstat__fits(h->regions[i].off, h->regions[i].len, h->total_size))
			return shmstat__fail(SHMSTAT_ECORRUPT,
					     "segment '%s' is corrupted: region %u lies outside the segment",
					     name, i);
	if (g.total > h->total_size)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: regions end past its size", name);
	return 0;
}

/* -------------------------------------------------------------- creation */

static int init_new(struct shmstat_seg *seg, int fd, const struct shmstat_opts *o,
		    const char *name)
{
	struct shmstat_geom g;
	struct shmstat_hdr *h;
	void *base;
	int err;

	err = shmstat__geom(&g, o->max_procs, o->max_metrics, o->max_values, o->max_threads,
			    o->sig_bytes, o->max_stacks, o->max_modules);
	if (err)
		return err;
	if (fchmod(fd, o->mode) != 0)
		return shmstat__fail(errno, "cannot set mode of segment '%s': %s",
				     name, strerror(errno));
	err = posix_fallocate(fd, 0, (off_t)g.total);
	if (err) {
		return shmstat__fail(err, "cannot create segment '%s' of %llu bytes: %s",
				     name, (unsigned long long)g.total, strerror(err));
	}
	SHMSTAT_HOOK(SHMSTAT_HOOK_CREATE_SIZED, name);
	/* not pre-faulted: the pages are reserved (posix_fallocate), and a
	 * page no process touches stays a hole readers do not copy */
	base = mmap(NULL, g.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		err = errno;
		return shmstat__fail(err, "cannot map segment '%s': %s", name, strerror(err));
	}
	h = base;
	h->major = SHMSTAT_FORMAT_MAJOR;
	h->minor = SHMSTAT_FORMAT_MINOR;
	h->hdr_size = sizeof(*h);
	h->endian = SHMSTAT_ENDIAN_PROBE;
	h->total_size = g.total;
	if (getrandom(&h->generation, sizeof(h->generation), 0) != sizeof(h->generation))
		h->generation = shmstat__now_ns() ^ ((uint64_t)getpid() << 32);
	h->created_ns = shmstat__now_ns();
	h->creator_uid = (uint32_t)geteuid();
	h->flags = (o->mode & 0040) ? SHMSTAT_HDR_F_GROUP_READ : 0;
	h->max_procs = g.max_procs;
	h->max_metrics = g.max_metrics;
	h->max_values = g.max_values;
	h->nstripes = g.nstripes;
	h->stripe_bytes = g.stripe_bytes;
	h->nregions = SHMSTAT_REG_COUNT;
	memcpy(h->regions, g.reg, sizeof(g.reg));
	/* graves and per-process stripes are never claimed by threads */
	{
		uint64_t *owners = (uint64_t *)(void *)((unsigned char *)base + g.reg[SHMSTAT_REG_OWNERS].off);

		for (uint32_t i = 0; i < SHMSTAT_GRAVES + g.max_procs; i++)
			owners[i] = SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_FIXED, 0);
		h->stripe_hint = SHMSTAT_GRAVES + g.max_procs;
	}
	/* the checksum covers the magic: compute it on a private copy, so
	 * the magic appears in the segment only once, last */
	{
		unsigned char sum_in[SHMSTAT_HDR_SUM_BYTES];

		memcpy(sum_in, h, sizeof(sum_in));
		memcpy(sum_in, SHMSTAT_MAGIC, 8);
		h->hdr_sum = shmstat__hash(sum_in, sizeof(sum_in));
	}
	/* publish: magic last, with release, so an opener that sees it sees
	 * everything above */
	{
		uint64_t m;

		memcpy(&m, SHMSTAT_MAGIC, 8);
		st_release((uint64_t *)(void *)h->magic, m);
	}
	seg->base = base;
	seg->size = g.total;
	return 0;
}

/* ---------------------------------------------------------- attach/check */

int shmstat__check_links_mode(const struct stat *st, const char *name)
{
	if (st->st_nlink != 1)
		return shmstat__fail(SHMSTAT_EOWNER,
				     "segment '%s' has %lu hard links; refusing it",
				     name, (unsigned long)st->st_nlink);
	if (st->st_mode & 0022)
		return shmstat__fail(SHMSTAT_EOWNER,
				     "segment '%s' is writable by group or others (mode %04o); refusing it",
				     name, (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Owner, type and link count of an existing object opened for writing. */
static int check_owner(int fd, const char *name, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return shmstat__fail(errno, "cannot stat segment '%s': %s", name, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' is not a regular file", name);
	if (st->st_uid != geteuid())
		return shmstat__fail(SHMSTAT_EOWNER,
				     "segment '%s' is owned by uid %u, not by this user (uid %u)",
				     name, (unsigned)st->st_uid, (unsigned)geteuid());
	return shmstat__check_links_mode(st, name);
}

/* Wait (bounded) for a creator to publish the magic, then validate. */
static int attach_existing(struct shmstat_seg *seg, int fd, const char *name)
{
	struct shmstat_hdr copy;
	struct stat st;
	void *base;
	int err;

	/* a creator sizes the object in one step, then publishes the magic */
	for (int tries = 0;; tries++) {
		uint64_t m = 0;

		err = check_owner(fd, name, &st);
		if (err)
			return err;
		if (st.st_size > 0 && (uint64_t)st.st_size < sizeof(copy))
			return shmstat__fail(SHMSTAT_EFOREIGN,
					     "segment '%s' is not a shmstat segment (%lld bytes)",
					     name, (long long)st.st_size);
		if (st.st_size > 0 && pread(fd, &m, 8, 0) == 8 && m != 0)
			break;
		if (tries >= 2000)
			return shmstat__fail(SHMSTAT_ECORRUPT,
					     "segment '%s' was never initialized (its creator may have died); remove it with 'shmstat rm %s'",
					     name, name);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	if (pread(fd, &copy, sizeof(copy), 0) != (ssize_t)sizeof(copy))
		return shmstat__fail(SHMSTAT_ETRUNCATED, "segment '%s' is truncated", name);
	err = shmstat__validate_hdr(&copy, (uint64_t)st.st_size, name);
	if (err)
		return err;
	base = mmap(NULL, copy.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return shmstat__fail(errno, "cannot map segment '%s': %s", name, strerror(errno));
	/* the immutable part we validated must be what we mapped */
	if (memcmp(base, &copy, SHMSTAT_HDR_SUM_BYTES + 8) != 0) {
		munmap(base, copy.total_size);
		return shmstat__fail(SHMSTAT_ECORRUPT, "segment '%s' changed while being attached", name);
	}
	seg->base = base;
	seg->size = copy.total_size;
	return 0;
}

static void set_views(struct shmstat_seg *seg)
{
	struct shmstat_hdr *h = (struct shmstat_hdr *)(void *)seg->base;

	seg->hdr = h;
	seg->procs = (struct shmstat_proc *)(void *)(seg->base + h->regions[SHMSTAT_REG_PROCS].off);
	seg->descs = (struct shmstat_desc *)(void *)(seg->base + h->regions[SHMSTAT_REG_DESCS].off);
	seg->owners = (uint64_t *)(void *)(seg->base + h->regions[SHMSTAT_REG_OWNERS].off);
	seg->stripes = seg->base + h->regions[SHMSTAT_REG_STRIPES].off;
	seg->sigs = seg->base + h->regions[SHMSTAT_REG_SIGS].off;
	seg->sig_lines = h->regions[SHMSTAT_REG_SIGS].len / SHMSTAT_LINE;
	seg->stacks = (struct shmstat_stackent *)(void *)(seg->base +
							  h->regions[SHMSTAT_REG_STACKS].off);
	seg->max_stacks = (uint32_t)(h->regions[SHMSTAT_REG_STACKS].len /
				     sizeof(struct shmstat_stackent));
	seg->mods = (struct shmstat_profmod *)(void *)(seg->base + h->regions[SHMSTAT_REG_MODS].off);
	seg->max_modules = (uint32_t)(h->regions[SHMSTAT_REG_MODS].len /
				      sizeof(struct shmstat_profmod));
	seg->stripe_bytes = h->stripe_bytes;
	seg->nstripes = h->nstripes;
	seg->max_procs = h->max_procs;
	seg->max_metrics = h->max_metrics;
	seg->max_values = h->max_values;
}

/* Is there something other than a regular file at shm path @path? */
static bool not_regular(const char *path)
{
	char full[SHMSTAT_PATH_MAX + 16];
	struct stat st;

	snprintf(full, sizeof(full), "/dev/shm%s", path);
	return lstat(full, &st) == 0 && !S_ISREG(st.st_mode);
}

/* Map @name read-write, creating it when @opts is not NULL. */
int shmstat__seg_map(struct shmstat_seg *seg, const char *name, const struct shmstat_opts *opts)
{
	char path[SHMSTAT_PATH_MAX];
	int err = shmstat__path(name, path);

	if (err)
		return err;
	if (opts) {
		struct shmstat_geom g;

		/* refuse bad capacities before the name exists */
		err = shmstat__geom(&g, opts->max_procs, opts->max_metrics, opts->max_values,
				    opts->max_threads, opts->sig_bytes, opts->max_stacks,
				    opts->max_modules);
		if (err)
			return err;
	}
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	for (int tries = 0; tries < 100; tries++) {
		int fd = -1;

		if (opts) {
			fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				      opts->mode);
			if (fd >= 0) {
				err = init_new(seg, fd, opts, name);
				if (err) {
					close(fd);
					shm_unlink(path);
					return err;
				}
				seg->fd = fd;
				set_views(seg);
				return 0;
			}
			if (errno != EEXIST)
				goto open_error;
		}
		fd = shm_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0) {
			if (errno == ENOENT && opts)
				continue;       /* removed meanwhile: create it */
			goto open_error;
		}
		err = attach_existing(seg, fd, name);
		if (err) {
			close(fd);
			return err;
		}
		seg->fd = fd;
		set_views(seg);
		return 0;
open_error:
		err = errno;
		if (err == ELOOP)
			return shmstat__fail(SHMSTAT_EOWNER,
					     "segment '%s' is a symbolic link; refusing it", name);
		if (err == ENOENT)
			return shmstat__fail(ENOENT, "segment '%s' does not exist", name);
		/* a directory (shm_open says EINVAL), a socket (ENXIO) or a
		 * device another user put there: said as readers say it, not
		 * as "Invalid argument" */
		if (not_regular(path))
			return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' is not a regular file", name);
		return shmstat__fail(err, "cannot open segment '%s': %s", name, strerror(err));
	}
	return shmstat__fail(SHMSTAT_EBUSY, "segment '%s' keeps being created and removed", name);
}

void shmstat__seg_unmap(struct shmstat_seg *seg)
{
	if (seg->base)
		munmap(seg->base, seg->size);
	if (seg->fd >= 0)
		close(seg->fd);
	if (seg->lock_fd >= 0)
		close(seg->lock_fd);
	seg->base = NULL;
	seg->fd = -1;
	seg->lock_fd = -1;
	seg->lock1 = 0;
}

/* Is @fd open on the object @st describes? */
static bool same_object(int fd, const struct stat *st)
{
	struct stat b;

	return fd >= 0 && fstat(fd, &b) == 0 && b.st_dev == st->st_dev && b.st_ino == st->st_ino;
}

int shmstat__seg_open_again(const struct shmstat_seg *seg)
{
	char path[SHMSTAT_PATH_MAX + 32];
	struct stat st;
	int fd = -1;

	if (seg->fd < 0 || fstat(seg->fd, &st) != 0)
		return -1;
	/* by the name, if it still names this object; else through
	 * /proc/self/fd (the name removed or taken by another object: a
	 * /proc of another pid namespace fails, or opens another file,
	 * checked too). The name was checked when it was mapped: not again
	 * by shmstat__path(), which clears the thread's last error (a reap
	 * after a failed attach, the reaper lock's descriptor, made its
	 * message empty) */
	snprintf(path, sizeof(path), "/shmstat.%s", seg->name);
	fd = shm_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd >= 0 && !same_object(fd, &st)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", seg->fd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !same_object(fd, &st)) {
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

/* ------------------------------------------------------- pages in use */

void shmstat__dmap_add(struct shmstat__dmap *m, const struct shmstat_seg *seg, uint32_t first,
		       uint32_t last)
{
	const uint64_t base = (uint64_t)(seg->stripes - seg->base);
	const uint64_t end = base + (uint64_t)(last + 1) * seg->stripe_bytes;
	uint64_t pos = base + (uint64_t)first * seg->stripe_bytes;

	if (m->npages == 0) {
		m->npages = ((uint64_t)seg->nstripes * seg->stripe_bytes + SHMSTAT_PAGE - 1) /
			    SHMSTAT_PAGE;
		m->bits = calloc((size_t)((m->npages + 63) / 64), sizeof(*m->bits));
	}
	if (m->bits == NULL)
		return;                         /* every page is data */
	/* one SEEK_HOLE an extent: on tmpfs it looks at every page up to
	 * the hole it finds, so it is not asked again inside a run */
	while (pos < end) {
		off_t d = lseek(seg->fd, (off_t)pos, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			return;                 /* holes to the end */
		if (d < 0) {
			d = (off_t)pos;         /* no answer: data */
			h = (off_t)end;
		} else {
			if ((uint64_t)d >= end)
				return;
			h = lseek(seg->fd, d, SEEK_HOLE);
			if (h < 0 || (uint64_t)h > end || h <= d)
				h = (off_t)end;
		}
		for (uint64_t k = ((uint64_t)d - base) / SHMSTAT_PAGE;
		     k < ((uint64_t)h - base + SHMSTAT_PAGE - 1) / SHMSTAT_PAGE && k < m->npages; k++)
			m->bits[k / 64] |= UINT64_C(1) << (k % 64);
		pos = (uint64_t)h;
	}
}

void shmstat__dmap_free(struct shmstat__dmap *m)
{
	free(m->bits);
	m->bits = NULL;
	m->npages = 0;
}

/* -------------------------------------------------------------------- API */

int shmstat_unlink(const char *name)
{
	char path[SHMSTAT_PATH_MAX];
	int err;

	shmstat__clear_error();
	err = shmstat__path(name, path);
	if (err)
		return err;
	if (shm_unlink(path) != 0) {
		err = errno;
		if (err == ENOENT)
			return shmstat__fail(ENOENT, "segment '%s' does not exist", name);
		return shmstat__fail(err, "cannot remove segment '%s': %s", name, strerror(err));
	}
	return 0;
}
