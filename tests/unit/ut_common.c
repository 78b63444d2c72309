/*
 * ut_common.c - see ut_common.h.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ut_common.h"

#define UT_MAX_NAMES 128
#define UT_MAX_KIDS 32

static char names[UT_MAX_NAMES][256];
static int nnames;
static unsigned serial;
static pid_t kids[UT_MAX_KIDS];
static int nkids;

void ut_track(const char *name)
{
	if (nnames >= UT_MAX_NAMES)
		fail_msg("too many segment names in one test");
	snprintf(names[nnames], sizeof(names[nnames]), "%s", name);
	nnames++;
}

const char *ut_name(const char *tag)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "ut-%s-%d-%u", tag, (int)getpid(), ++serial);
	ut_track(buf);
	return names[nnames - 1];
}

void ut_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "/dev/shm/shmstat.%s", name);
}

int ut_setup(void **state)
{
	(void)state;
	nnames = 0;
	nkids = 0;
	return 0;
}

int ut_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nkids; i++) {
		if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	}
	nkids = 0;
	for (int i = 0; i < nnames; i++) {
		char path[300];

		/* unlink(2) also removes planted links without following them */
		ut_path(names[i], path, sizeof(path));
		unlink(path);
	}
	nnames = 0;
	return 0;
}

void ut_check_error_text(const char *name)
{
	const char *e = shmstat_last_error();

	assert_non_null(e);
	if (e[0] == '\0')
		fail_msg("shmstat_last_error() is empty");
	if (!islower((unsigned char)e[0]))
		fail_msg("error text does not start lowercase: \"%s\"", e);
	if (name != NULL && strstr(e, name) == NULL)
		fail_msg("error text does not mention '%s': \"%s\"", name, e);
}

/* ---------------------------------------------------- child processes */

int ut_recv(int fd)
{
	unsigned char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n == 1)
			return c;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

void ut_send(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

char ut_kid_start(struct ut_kid *k, ut_kid_fn fn, void *arg)
{
	int cmd[2], ack[2];
	pid_t pid;
	int c;

	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(ack), 0);
	if (nkids >= UT_MAX_KIDS)
		fail_msg("too many children in one test");
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		_exit(fn(arg, cmd[0], ack[1]));
	}
	kids[nkids++] = pid;
	close(cmd[0]);
	close(ack[1]);
	k->pid = pid;
	k->cmd = cmd[1];
	k->ack = ack[0];
	c = ut_recv(k->ack);
	return c < 0 ? 0 : (char)c;
}

char ut_kid_cmd(struct ut_kid *k, char c)
{
	int a;

	ut_send(k->cmd, c);
	a = ut_recv(k->ack);
	return a < 0 ? 0 : (char)a;
}

char ut_kid_cmd_wait(struct ut_kid *k, char c, int ms)
{
	struct pollfd pfd = { .fd = k->ack, .events = POLLIN };
	int n;

	ut_send(k->cmd, c);
	do
		n = poll(&pfd, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	n = ut_recv(k->ack);
	return n < 0 ? 0 : (char)n;
}

static void forget(pid_t pid)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

int ut_kid_wait(struct ut_kid *k)
{
	int st;

	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	forget(k->pid);
	close(k->cmd);
	close(k->ack);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

void ut_kid_kill(struct ut_kid *k)
{
	assert_int_equal(kill(k->pid, SIGKILL), 0);
	assert_int_equal(ut_kid_wait(k), 128 + SIGKILL);
}

/* ------------------------------------------------------------- readers */

shmstat_snap *ut_snap(const char *name)
{
	shmstat_reader *r = NULL;
	shmstat_snap *s = NULL;
	int err = shmstat_reader_open(name, &r);

	if (err)
		fail_msg("shmstat_reader_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	err = shmstat_snapshot(r, &s);
	shmstat_reader_close(r);
	if (err)
		fail_msg("shmstat_snapshot(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	return s;
}

int ut_find(const shmstat_snap *s, const char *metric, const char *labels,
	    struct shmstat_metric_info *mi)
{
	size_t n = shmstat_snap_metrics(s);

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(shmstat_snap_metric(s, i, mi), 0);
		if (strcmp(mi->name, metric) == 0 && strcmp(mi->labels, labels) == 0)
			return (int)i;
	}
	return -1;
}

uint64_t ut_counter_value(const char *seg, const char *metric)
{
	struct shmstat_metric_info mi;
	shmstat_snap *s = ut_snap(seg);
	int i = ut_find(s, metric, "", &mi);

	if (i < 0) {
		shmstat_snap_free(s);
		fail_msg("metric %s not found in %s", metric, seg);
	}
	assert_int_equal(mi.type, SHMSTAT_COUNTER);
	shmstat_snap_free(s);
	return mi.counter;
}

int64_t ut_gauge_value(const char *seg, const char *metric, int *has_value)
{
	struct shmstat_metric_info mi;
	shmstat_snap *s = ut_snap(seg);
	int i = ut_find(s, metric, "", &mi);

	if (i < 0) {
		shmstat_snap_free(s);
		fail_msg("metric %s not found in %s", metric, seg);
	}
	assert_int_equal(mi.type, SHMSTAT_GAUGE);
	shmstat_snap_free(s);
	if (has_value)
		*has_value = mi.has_value;
	return mi.gauge;
}

void ut_info(const char *seg, struct shmstat_seg_info *info)
{
	shmstat_snap *s = ut_snap(seg);

	shmstat_snap_info(s, info);
	shmstat_snap_free(s);
}

void ut_small_opts(struct shmstat_opts *o)
{
	shmstat_opts_init(o);
	o->max_procs = 8;
	o->max_metrics = 64;
	o->max_values = 256;
	o->max_threads = 16;
	o->max_stacks = 64;
	o->max_modules = 64;
}

int ut_become_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
		return -1;
	return 0;
}
