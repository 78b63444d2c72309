/*
 * ut_common.h - helpers shared by the unit tests: unique segment names
 * removed at teardown (also when a test fails), child processes driven
 * through pipes (no sleeps), and reader shortcuts.
 */
#ifndef UT_COMMON_H
#define UT_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "shmstat.h"

/* A new segment name "ut-<tag>-<pid>-<n>", unique per run; it is removed
 * by ut_teardown(). Valid until ut_teardown(). */
const char *ut_name(const char *tag);

/* Remember another name (e.g. a link planted by the test) for teardown. */
void ut_track(const char *name);

/* "/dev/shm/shmstat.<name>" */
void ut_path(const char *name, char *buf, size_t n);

/* cmocka setup / teardown: teardown kills children left behind and
 * removes every name handed out or tracked. */
int ut_setup(void **state);
int ut_teardown(void **state);

/* shmstat_last_error() is not empty, starts lowercase and, when @name is
 * not NULL, mentions @name. */
void ut_check_error_text(const char *name);

/* ---------------------------------------------------- child processes */

struct ut_kid {
	pid_t pid;
	int cmd;    /* parent writes commands here */
	int ack;    /* parent reads answers here */
};

/* Child body: reads commands from @cmd_fd, answers on @ack_fd; its return
 * value is the exit status (the child never returns into cmocka). */
typedef int (*ut_kid_fn)(void *arg, int cmd_fd, int ack_fd);

/* Fork a child running @fn, then wait for its first answer (the child
 * sends one when it is ready); return that answer. */
char ut_kid_start(struct ut_kid *k, ut_kid_fn fn, void *arg);

/* Send command @c, return the child's one-byte answer (0 on EOF). */
char ut_kid_cmd(struct ut_kid *k, char c);

/* Like ut_kid_cmd(), but gives up after @ms milliseconds (0 then): only
 * to detect a child that deadlocked, never to measure anything. */
char ut_kid_cmd_wait(struct ut_kid *k, char c, int ms);

/* Wait for the child to exit: its exit status, or 128 + signal. */
int ut_kid_wait(struct ut_kid *k);

/* SIGKILL the child and reap it (so it is no longer a zombie). */
void ut_kid_kill(struct ut_kid *k);

/* Child side: one byte from @fd (-1 on EOF), or send one byte. */
int ut_recv(int fd);
void ut_send(int fd, char c);

/* ------------------------------------------------------------- readers */

/* Open a reader on @name, take one snapshot, close the reader. */
shmstat_snap *ut_snap(const char *name);

/* Index of the metric with @metric and canonical @labels ("" for none)
 * in @s, filling @mi; -1 when absent. */
int ut_find(const shmstat_snap *s, const char *metric, const char *labels,
	    struct shmstat_metric_info *mi);

/* Value of counter @metric (no labels) of segment @seg; the metric must exist. */
uint64_t ut_counter_value(const char *seg, const char *metric);

/* Gauge @metric (no labels) of @seg: its aggregated value, and in
 * *@has_value whether it has one. */
int64_t ut_gauge_value(const char *seg, const char *metric, int *has_value);

/* Segment info of @seg from a fresh snapshot. */
void ut_info(const char *seg, struct shmstat_seg_info *info);

/* Options with small capacities (keeps the tests fast). */
void ut_small_opts(struct shmstat_opts *o);

/* Drop to uid and gid 65534 (nobody), no supplementary groups: the other
 * user of the hostile tests, in a child of a test run as root. 0 or -1. */
int ut_become_nobody(void);

#endif
