/*
 * outpath.h - a path the user named, resolved once with descriptors and
 * acted on where it was checked (outpath.c): output files (cli.c's
 * open_out_file(), show --out) and the alert state file (alerts.c).
 * Apart from cli.c so that alerts.c, which the rules tests build without
 * the commands, links it too.
 */
#ifndef SHMSTAT_OUTPATH_H
#define SHMSTAT_OUTPATH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * An output path resolved once, with descriptors, and acted on relative
 * to the directory that was checked: a directory on the way swapped for
 * a link after the check changes nothing (docs/security.md). Each name
 * is looked at without following it (O_PATH | O_NOFOLLOW); a symbolic
 * link, on the way or the last name, is refused (EPERM, @planted, its
 * owner in @uid) when another user may have planted it: in a sticky,
 * world-writable directory (/tmp) and owned by neither this user nor the
 * directory's owner (the kernel's fs.protected_symlinks rule, not set on
 * every host); else its target is resolved in turn, from "/" or from the
 * link's directory, at most 40 links. A link of /proc as the last name
 * (/dev/stdout, /dev/fd/N: a process's open file, its text often no
 * path, "pipe:[5]") is followed by openat() itself.
 *
 * @flags >= 0: the last name opened openat(@dir, @name, @flags |
 * O_NOFOLLOW, 0666), a link there resolved as above; returns the
 * descriptor. @flags < 0: nothing opened, the last name not looked at;
 * returns 0. -1: errno (ELOOP: a link where the name was not one a
 * moment before, or too many links); @dir is then -1 unless the walk
 * reached the last name (@dir, @name: for a message about what is
 * there). The caller closes @dir when >= 0.
 *
 * The test build (-DSHMSTAT_TEST_HOOKS, tests/cli/outrace.sh) runs the
 * shell command in SHMSTAT_TEST_OUT_HOOK where the walk reached the
 * directory of the last name, before anything is done there: at the
 * first path resolved, or at the N-th with SHMSTAT_TEST_OUT_HOOK_AT=N.
 */
struct out_path {
	int dir;                        /* O_PATH: the directory of @name */
	char name[NAME_MAX + 1];        /* the last name, in it */
	bool planted;
	unsigned uid;                   /* @planted: the link's owner */
};
int out_resolve(const char *path, int flags, struct out_path *op);

/* Why out_resolve() failed with @err, as "cannot write 'FILE': WHY" says
 * it: "it goes through a symbolic link of uid U in a shared directory;
 * refusing it", "it is a symbolic link; refusing it" (ELOOP), strerror. */
void out_why(const struct out_path *op, int err, char *why, size_t n);

/* A new file of directory @dir named "@prefix.XXXXXX" (random letters
 * and digits), created O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
 * O_CLOEXEC, 0600; its name into @tmp (@n bytes). The descriptor, or -1
 * with errno (ENAMETOOLONG: the name does not fit @tmp). */
int out_tmpfile(int dir, const char *prefix, char *tmp, size_t n);

#endif
