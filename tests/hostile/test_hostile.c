/*
 * test_hostile.c - hostile and failing environments (issue 9, part 2).
 * Cases other suites already cover are listed in docs/security.md; these
 * are the rest:
 *
 *  - a segment truncated under an attached reader: the next snapshot
 *    reports SHMSTAT_ETRUNCATED (the reader copies with pread, so there
 *    is no SIGBUS), and works again once the size is back;
 *  - a segment re-created under the same name while a reader and a writer
 *    are attached: the reader gets SHMSTAT_ERECREATED, the old writer
 *    goes on counting into the old object without harm, a new reader sees
 *    only the new segment;
 *  - /dev/shm full at creation: in a private mount namespace with a 256
 *    KiB tmpfs on /dev/shm, shmstat_open fails with ENOSPC at once and
 *    leaves no file (skipped where namespaces are not allowed);
 *  - pid reuse: a dead writer's slot made to carry the pid of a live,
 *    unrelated process (pid 1, as after pid reuse) but its own start
 *    time is still reaped, its counts folded;
 *  - a reader running as another user (nobody) cannot open a 0600
 *    segment, and says why (skipped when not root).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ut_common.h"
#include "layout.h"

static shmstat_counter *counter(shmstat_seg *seg, const char *name)
{
	struct shmstat_metric_def d = { .name = name };
	shmstat_counter *c;

	assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
	return c;
}

static void test_truncated_under_reader(void **state)
{
	const char *name = ut_name("trunc");
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_reader *r;
	shmstat_snap *s;
	char path[300];
	struct stat st;
	int fd;

	(void)state;
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	shmstat_counter_add(counter(seg, "t_total"), 5);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_free(s);
	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_size / 2), 0);
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ETRUNCATED);
	assert_null(s);
	ut_check_error_text(name);
	assert_non_null(strstr(shmstat_last_error(), "truncated"));
	/* to nothing at all */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ETRUNCATED);
	/* the size back (the writer's pages are gone: zeros) */
	assert_int_equal(ftruncate(fd, st.st_size), 0);
	close(fd);
	/* the header is zeros now: no longer the one validated at open */
	s = NULL;
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ECORRUPT);
	assert_null(s);
	ut_check_error_text(name);
	shmstat_reader_close(r);
	/* the writer never touched the truncated pages; detach skips them
	 * no more than any other: the segment is gone for good */
	assert_int_equal(shmstat_unlink(name), 0);
	(void)seg;                  /* its mapping is beyond repair: leaked */
}

static void test_recreated_under_reader_and_writer(void **state)
{
	const char *name = ut_name("recreate");
	struct shmstat_opts o;
	shmstat_seg *old, *fresh;
	shmstat_counter *c_old, *c_new;
	shmstat_reader *r, *r2;
	shmstat_snap *s;

	(void)state;
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &old), 0);
	c_old = counter(old, "r_total");
	shmstat_counter_add(c_old, 10);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_unlink(name), 0);
	assert_int_equal(shmstat_open(name, &o, &fresh), 0);
	c_new = counter(fresh, "r_total");
	shmstat_counter_add(c_new, 3);
	shmstat_counter_add(c_old, 100);       /* into the old object: harmless */
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ERECREATED);
	ut_check_error_text(name);
	shmstat_reader_close(r);
	assert_int_equal(ut_counter_value(name, "r_total"), 3);
	assert_int_equal(shmstat_reader_open(name, &r2), 0);
	assert_int_equal(shmstat_snapshot(r2, &s), 0);
	shmstat_snap_free(s);
	shmstat_reader_close(r2);
	assert_int_equal(shmstat_close(old), 0);
	assert_int_equal(shmstat_close(fresh), 0);
	assert_int_equal(ut_counter_value(name, "r_total"), 3);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Child: a private /dev/shm of 256 KiB; 0 if the default segment (14
 * MiB) is refused with ENOSPC and leaves nothing, 77 if namespaces are
 * not allowed here, else 1. */
static int full_child(const char *name)
{
	shmstat_seg *seg = NULL;
	char path[300];
	int err;

	if (unshare(CLONE_NEWNS) != 0)
		return 77;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=256k") != 0)
		return 77;
	err = shmstat_open(name, NULL, &seg);
	if (err != ENOSPC || seg != NULL) {
		fprintf(stderr, "open: %d %s\n", err, shmstat_last_error());
		return 1;
	}
	if (strstr(shmstat_last_error(), name) == NULL)
		return 1;
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", name);
	if (access(path, F_OK) == 0)
		return 1;
	/* a small one fits */
	{
		struct shmstat_opts o;

		shmstat_opts_init(&o);
		o.max_procs = 2;
		o.max_metrics = 8;
		o.max_values = 16;
		o.max_threads = 2;
		o.sig_bytes = 0;
		o.max_stacks = 0;
		o.max_modules = 0;
		if (shmstat_open(name, &o, &seg) != 0)
			return 1;
		shmstat_close(seg);
		shmstat_unlink(name);
	}
	return 0;
}

static void test_shm_full(void **state)
{
	const char *name = ut_name("full");
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(full_child(name));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_pid_reuse(void **state)
{
	const char *name = ut_name("pidreuse");
	struct shmstat_opts o;
	struct shmstat_seg_info info;
	shmstat_seg *seg;
	pid_t writer, sleeper;
	char path[300];
	unsigned reaped = 0;
	int fd, st, found = 0;
	struct stat sst;
	unsigned char *base;

	(void)state;
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	(void)counter(seg, "p_total");
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		shmstat_seg *s2;

		if (shmstat_open(name, &o, &s2) != 0)
			_exit(1);
		shmstat_counter_add(counter(s2, "p_total"), 77);
		raise(SIGKILL);         /* dies attached */
		_exit(1);
	}
	assert_int_equal(waitpid(writer, &st, 0), writer);
	assert_true(WIFSIGNALED(st));
	/* a live, unrelated process, as if the kernel had given it the pid:
	 * pid 1, alive as long as the system and started long before (a
	 * process forked now could share the writer's start-time tick, which
	 * real pid reuse, a full wrap of the pid space later, cannot) */
	sleeper = 1;
	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sst), 0);
	base = mmap(NULL, (size_t)sst.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(base != MAP_FAILED);
	{
		const struct shmstat_hdr *h = (const void *)base;
		struct shmstat_proc *p = (void *)(base + h->regions[SHMSTAT_REG_PROCS].off);

		for (uint32_t i = 0; i < h->max_procs; i++) {
			uint64_t w = __atomic_load_n(&p[i].word, __ATOMIC_ACQUIRE);

			if (SHMSTAT_PROC_PID(w) != (uint32_t)writer)
				continue;
			/* the sleeper's pid, the dead writer's start time */
			w = (w & 0xffffffffu) | (uint64_t)(uint32_t)sleeper << 32;
			__atomic_store_n(&p[i].word, w, __ATOMIC_RELEASE);
			found = 1;
		}
	}
	munmap(base, (size_t)sst.st_size);
	close(fd);
	assert_true(found);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	/* the child had its slot from fork() and one of its own open */
	assert_true(reaped >= 1);
	ut_info(name, &info);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.writers_alive, 1);       /* this process */
	assert_int_equal(ut_counter_value(name, "p_total"), 77);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_other_user_reader(void **state)
{
	const char *name = ut_name("otheruser");
	shmstat_seg *seg;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);   /* 0600, root's */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		shmstat_reader *r = NULL;
		int err;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(77);
		err = shmstat_reader_open(name, &r);
		_exit(err == EACCES && r == NULL && strstr(shmstat_last_error(), name) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_under_reader),
		cmocka_unit_test(test_recreated_under_reader_and_writer),
		cmocka_unit_test(test_shm_full),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_other_user_reader),
	};

	return cmocka_run_group_tests(tests, ut_setup, ut_teardown);
}
