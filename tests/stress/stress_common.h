/*
 * stress_common.h - helpers of the multi-process and concurrency suite.
 *
 * The parent process of every test is the cmocka process: it forks the
 * writers, talks to them through pipes (never sleeps to wait for them),
 * takes snapshots and asserts. Children never use cmocka: they check with
 * CHILD_CHECK, which prints what failed and exits with status 3, so the
 * parent's assertion on the exit status fails.
 *
 * Segment names are "stress-<tag>-<pid>-<n>", unique per run; teardown
 * removes every name handed out and kills (by pid) the children a failed
 * test left behind; children die with their parent (PR_SET_PDEATHSIG), and
 * setup removes the segments of earlier runs whose process is gone.
 */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmstat.h"

#define CHILD_CHECK(cond)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: child %d: check failed: %s "  \
				"(last error: '%s')\n", __FILE__, __LINE__,   \
				(int)getpid(), #cond, shmstat_last_error());  \
			_exit(3);                                             \
		}                                                             \
	} while (0)

/* A new segment name, removed by stress_teardown(). */
const char *stress_name(const char *tag);

/* cmocka fixtures: teardown kills leftover children and unlinks names. */
int stress_setup(void **state);
int stress_teardown(void **state);

/* Fork; the child runs @fn(@arg) and _exits with its return value. The
 * pid is remembered for teardown. */
pid_t stress_spawn(int (*fn)(void *), void *arg);

/* In a child: be killed when the parent dies (so that a test that
 * failed, or was killed, leaves no writer behind to re-create its
 * segment). stress_spawn does it for its children. */
void stress_die_with_parent(void);

/* Wait for child @pid: its exit status, or 128 + signal number. */
int stress_wait(pid_t pid);

/* Pipes: full writes and reads, retried on EINTR. stress_read returns
 * the bytes read: @n, or less at EOF. */
int stress_write(int fd, const void *p, size_t n);
size_t stress_read(int fd, void *p, size_t n);
void stress_pipe(int fds[2]);

/* Read the one byte child @pid reports on @fd (a pipe only that child
 * writes to); if the child ended instead, fail the test with its status
 * (e.g. 66: ThreadSanitizer found a race in it). */
void stress_expect(int fd, pid_t pid);

/* Create segment @name with @opts (NULL: defaults), then detach, so that
 * the creator holds no slot and no thread (it forks afterwards). */
void stress_create(const char *name, const struct shmstat_opts *opts);

/* A snapshot of @name taken with a fresh reader (EBUSY retried a bounded
 * number of times; fails the test otherwise). */
shmstat_snap *stress_snap(const char *name);

/* Index of metric @metric with canonical @labels ("" for none), filling
 * @mi; -1 when absent. */
int stress_find(const shmstat_snap *s, const char *metric, const char *labels,
		struct shmstat_metric_info *mi);

/* Counter value of @metric{@labels}; the metric must exist. */
uint64_t stress_counter(const shmstat_snap *s, const char *metric, const char *labels);

/* Index of the process with @pid in @s, or -1. */
int stress_find_proc(const shmstat_snap *s, pid_t pid, struct shmstat_proc_info *pi);

/* ------------------------------------------------ the fast reader process */

/* main() passes its argv: argv[1] is the path of stress_reader (see
 * stress_reader.c), given by meson. */
void stress_args(int argc, char **argv);

struct stress_rd {
	pid_t pid;
	int in;                    /* closing it tells the reader to stop */
	int out;                   /* its one line of counts */
};

/* Start stress_reader on segment @name (see stress_reader.c for @mode);
 * back once it has taken its first snapshot. */
void stress_reader_start(struct stress_rd *rd, const char *name, const char *counter,
			 const char *gauge, const char *mode, uint64_t value);

/* Stop it; it must have found every snapshot right. Its counts go to
 * *@snaps, *@overlap (snapshots that raced with a fold), *@busy. */
void stress_reader_stop(struct stress_rd *rd, uint64_t *snaps, uint64_t *overlap,
			uint64_t *busy);

/* Deterministic generator (xorshift64*), for kill points and orders. */
uint64_t stress_rand(uint64_t *state);

#endif
