/*
 * stress_common.c - see stress_common.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "stress_common.h"

/* names one test may take (stress_setup() starts again from none):
 * test_fold_freeze takes one a round or try, at most 50 */
#define MAX_NAMES 256
#define MAX_KIDS 1024

static char names[MAX_NAMES][96];
static int nnames;
static unsigned name_seq;
static pid_t kids[MAX_KIDS];
static int nkids;

const char *stress_name(const char *tag)
{
	assert_true(nnames < MAX_NAMES);
	snprintf(names[nnames], sizeof(names[nnames]), "stress-%s-%d-%u", tag,
		 (int)getpid(), name_seq++);
	return names[nnames++];
}

/* Remove what earlier runs left behind when a test process died without
 * its teardown (ThreadSanitizer halts a process at its first report):
 * segments named by this suite whose creating process is gone. */
static void remove_stale(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char tag[64];
		int pid;
		unsigned n;

		if (sscanf(e->d_name, "shmstat.stress-%63[a-z_]-%d-%u", tag, &pid, &n) == 3 &&
		    pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
			shmstat_unlink(e->d_name + strlen("shmstat."));
	}
	closedir(d);
}

int stress_setup(void **state)
{
	(void)state;
	remove_stale();
	nnames = 0;
	nkids = 0;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int stress_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nkids; i++) {
		if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	}
	nkids = 0;
	for (int i = 0; i < nnames; i++)
		shmstat_unlink(names[i]);
	nnames = 0;
	return 0;
}

void stress_die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		_exit(9);
}

pid_t stress_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches these to fail the running test: a child
		 * must die of them instead, for its parent to see */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		stress_die_with_parent();
		_exit(fn(arg));
	}
	if (nkids < MAX_KIDS)
		kids[nkids++] = pid;
	return pid;
}

int stress_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	for (int i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int stress_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

size_t stress_read(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

void stress_pipe(int fds[2])
{
	assert_int_equal(pipe(fds), 0);
}

void stress_expect(int fd, pid_t pid)
{
	char c;

	if (stress_read(fd, &c, 1) != 1)
		fail_msg("child %d ended (status %d) instead of reporting", (int)pid,
			 stress_wait(pid));
}

void stress_create(const char *name, const struct shmstat_opts *opts)
{
	shmstat_seg *seg;
	int err = shmstat_open(name, opts, &seg);

	if (err)
		fail_msg("shmstat_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	assert_int_equal(shmstat_close(seg), 0);
}

shmstat_snap *stress_snap(const char *name)
{
	shmstat_reader *r;
	shmstat_snap *s = NULL;
	int err = shmstat_reader_open(name, &r);

	if (err)
		fail_msg("shmstat_reader_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	for (int t = 0; t < 100; t++) {
		err = shmstat_snapshot(r, &s);
		if (err != SHMSTAT_EBUSY)
			break;
	}
	shmstat_reader_close(r);
	if (err)
		fail_msg("shmstat_snapshot(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	return s;
}

int stress_find(const shmstat_snap *s, const char *metric, const char *labels,
		struct shmstat_metric_info *mi)
{
	size_t n = shmstat_snap_metrics(s);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m;

		assert_int_equal(shmstat_snap_metric(s, i, &m), 0);
		if (strcmp(m.name, metric) == 0 && strcmp(m.labels, labels) == 0) {
			if (mi)
				*mi = m;
			return (int)i;
		}
	}
	return -1;
}

uint64_t stress_counter(const shmstat_snap *s, const char *metric, const char *labels)
{
	struct shmstat_metric_info mi;

	if (stress_find(s, metric, labels, &mi) < 0)
		fail_msg("metric %s{%s} is missing", metric, labels);
	assert_int_equal(mi.type, SHMSTAT_COUNTER);
	return mi.counter;
}

int stress_find_proc(const shmstat_snap *s, pid_t pid, struct shmstat_proc_info *pi)
{
	size_t n = shmstat_snap_procs(s);

	for (size_t j = 0; j < n; j++) {
		struct shmstat_proc_info p;

		assert_int_equal(shmstat_snap_proc(s, j, &p), 0);
		if (p.pid == pid) {
			if (pi)
				*pi = p;
			return (int)j;
		}
	}
	return -1;
}

static char *reader_path;

void stress_args(int argc, char **argv)
{
	if (argc > 1)
		reader_path = realpath(argv[1], NULL);
}

void stress_reader_start(struct stress_rd *rd, const char *name, const char *counter,
			 const char *gauge, const char *mode, uint64_t value)
{
	int in[2], out[2];
	char v[32];

	if (reader_path == NULL)
		fail_msg("the path of stress_reader must be the first argument");
	stress_pipe(in);
	stress_pipe(out);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)value);
	fflush(NULL);
	rd->pid = fork();
	assert_true(rd->pid >= 0);
	if (rd->pid == 0) {
		stress_die_with_parent();
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(2);
		closefrom(3);
		execl(reader_path, reader_path, name, counter, gauge, mode, v, (char *)NULL);
		_exit(2);
	}
	if (nkids < MAX_KIDS)
		kids[nkids++] = rd->pid;
	close(in[0]);
	close(out[1]);
	rd->in = in[1];
	rd->out = out[0];
	/* its first snapshot taken: whatever the test starts next races
	 * with a reader already copying */
	for (char c = 0; c != '\n';) {
		if (stress_read(rd->out, &c, 1) != 1)
			fail_msg("stress_reader ended before its first snapshot (status %d)",
				 stress_wait(rd->pid));
	}
}

void stress_reader_stop(struct stress_rd *rd, uint64_t *snaps, uint64_t *overlap,
			uint64_t *busy)
{
	char line[256];
	size_t n;
	unsigned long long a = 0, b = 0, c = 0;
	int st;

	close(rd->in);
	n = stress_read(rd->out, line, sizeof(line) - 1);
	line[n] = '\0';
	close(rd->out);
	st = stress_wait(rd->pid);
	if (st != 0)
		fail_msg("stress_reader found a wrong snapshot or failed (status %d)", st);
	assert_int_equal(sscanf(line, "snapshots=%llu overlapping=%llu busy=%llu", &a, &b, &c), 3);
	*snaps = a;
	*overlap = b;
	*busy = c;
}

uint64_t stress_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
