/*
 * outpath.c - paths the user named, resolved once with descriptors and
 * acted on where they were checked (outpath.h): the walk (out_resolve()),
 * the planted-link rule it judges links by, why it refused (out_why()),
 * a temporary file next to the name (out_tmpfile()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "outpath.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0        /* linux/magic.h */
#endif

/* Is a symbolic link of @link_uid in the directory @dir one another user
 * may have planted: in a sticky, world-writable directory (/tmp), owned
 * by neither this user nor the directory's owner? The rule the kernel
 * applies with fs.protected_symlinks = 1, which not every host sets. */
static bool planted_link(int dir, uid_t link_uid)
{
	struct stat ds;

	if (link_uid == geteuid())
		return false;
	if (fstat(dir, &ds) != 0)
		return true;            /* cannot tell: refused */
	return (ds.st_mode & S_ISVTX) && (ds.st_mode & S_IWOTH) && link_uid != ds.st_uid;
}

/* A directory of /proc: its links (/proc/self/fd/N) are the kernel's
 * own, to what a process has open, their text often no path ("pipe:[5]",
 * "/x (deleted)") */
static bool on_procfs(int dir)
{
	struct statfs fs;

	return fstatfs(dir, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

#ifdef SHMSTAT_TEST_HOOKS
/* The test build's shmstat (tests/cli/outrace.sh): the shell command in
 * SHMSTAT_TEST_OUT_HOOK runs once, where a path was resolved up to the
 * directory of its last name, which is acted on next: at the first path
 * resolved, or at the N-th with SHMSTAT_TEST_OUT_HOOK_AT=N (check
 * --state: 1 the load's, 2 the save's). */
static void out_test_hook(void)
{
	static unsigned long seen;
	const char *cmd = getenv("SHMSTAT_TEST_OUT_HOOK");
	const char *at = getenv("SHMSTAT_TEST_OUT_HOOK_AT");
	unsigned long want = at && *at ? strtoul(at, NULL, 10) : 1;

	if (++seen == want && cmd && *cmd && system(cmd) != 0)
		fprintf(stderr, "shmstat: test hook: '%s' failed\n", cmd);
}
#else
#define out_test_hook() ((void)0)
#endif

/*
 * out_resolve() (outpath.h). The walk holds an O_PATH descriptor of the
 * directory reached (@dir) and the rest of the path (@rest, from @p);
 * each name is opened O_PATH | O_NOFOLLOW relative to @dir and fstat'ed:
 * a directory becomes @dir; a link, judged by its own inode and @dir
 * (planted_link()), is replaced by its target (readlinkat() of the same
 * descriptor) followed by what is left, from "/" or from @dir. What was
 * checked is what the next step acts on: a directory by its descriptor,
 * a link's owner and target from one descriptor of it.
 */
int out_resolve(const char *path, int flags, struct out_path *op)
{
	char rest[PATH_MAX], next[PATH_MAX];
	const char *p = rest;
	int dir, fd, lfd, err, links = 0;
	struct stat st;

	op->dir = -1;
	op->planted = false;
	op->uid = 0;
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!rest[0]) {
		errno = ENOENT;
		return -1;
	}
	dir = open(rest[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	for (;;) {
		size_t len;
		ssize_t t;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		/* "" (the path ends with '/'): the directory itself */
		snprintf(op->name, sizeof(op->name), "%.*s", len ? (int)len : 1, len ? p : ".");
		p += len;
		if (*p != '\0') {
			/* a directory on the way, or a link to one */
			lfd = openat(dir, op->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (lfd < 0)
				goto fail;
			err = fstat(lfd, &st) != 0 ? errno
			      : S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode) ? 0 : ENOTDIR;
			if (err) {
				close(lfd);
				errno = err;
				goto fail;
			}
			if (S_ISDIR(st.st_mode)) {
				close(dir);
				dir = lfd;
				continue;
			}
		} else {
			/* the last name: opened where the walk checked */
			out_test_hook();
			op->dir = dir;
			if (flags < 0)
				return 0;
			fd = openat(dir, op->name, flags | O_NOFOLLOW, 0666);
			if (fd >= 0 || (errno != ELOOP && errno != EACCES))
				return fd;
			/* a link (ELOOP; EACCES: O_CREAT met another user's in
			 * a sticky directory), or the error stands */
			err = errno;
			lfd = openat(dir, op->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (lfd < 0 || fstat(lfd, &st) != 0 || !S_ISLNK(st.st_mode)) {
				if (lfd >= 0)
					close(lfd);
				errno = err;
				return -1;
			}
		}
		/* a link (@lfd) in @dir */
		if (planted_link(dir, st.st_uid)) {
			op->planted = true;
			op->uid = (unsigned)st.st_uid;
			close(lfd);
			errno = EPERM;
			goto fail;
		}
		if (op->dir >= 0 && on_procfs(dir)) {
			/* the last name, the kernel's link to an open file (no
			 * path walked): followed */
			close(lfd);
			return openat(dir, op->name, flags, 0666);
		}
		op->dir = -1;
		t = ++links > 40 ? -1 : readlinkat(lfd, "", next, sizeof(next) - 1);
		err = links > 40 ? ELOOP : t == 0 ? ENOENT : errno;
		close(lfd);
		if (t <= 0 || (size_t)t + strlen(p) >= sizeof(next) - 1) {
			errno = t <= 0 ? err : ENAMETOOLONG;
			goto fail;
		}
		/* its target, then what followed the link */
		memcpy(next + t, p, strlen(p) + 1);
		memcpy(rest, next, strlen(next) + 1);
		p = rest;
		if (rest[0] == '/') {
			close(dir);
			if ((dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
				return -1;
		}
	}
fail:
	err = errno;
	close(dir);
	op->dir = -1;
	errno = err;
	return -1;
}

void out_why(const struct out_path *op, int err, char *why, size_t n)
{
	if (op->planted)
		snprintf(why, n, "it goes through a symbolic link of uid %u in a shared directory; refusing it",
			 op->uid);
	else if (err == ELOOP)
		snprintf(why, n, "it is a symbolic link; refusing it");
	else
		snprintf(why, n, "%s", strerror(err));
}

int out_tmpfile(int dir, const char *prefix, char *tmp, size_t n)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		char sfx[sizeof(r) + 1];
		int fd;

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		for (size_t i = 0; i < sizeof(r); i++)
			sfx[i] = az[r[i] % (sizeof(az) - 1)];
		sfx[sizeof(r)] = '\0';
		if (snprintf(tmp, n, "%s.%s", prefix, sfx) >= (int)n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}
