/*
 * test_ldso.c - a program started through the dynamic loader
 * ("ld.so PROG", as a user runs it with another glibc or without
 * execute permission) is named.
 *
 *   test_ldso SHMSTAT
 *
 * Re-runs itself as "INTERP PROG --child SHMSTAT", INTERP its own
 * PT_INTERP. There /proc/self/exe is the loader, not the program, and
 * the program's module record (it has no name in dl_iterate_phdr) was
 * published under the loader's path: every frame of the program was
 * "[ld-linux-x86-64.so.2]", with a warning that the build-id differs.
 * The child runs until 50 samples fall in ldso_hot (counted, not timed),
 * then asks that the module record of ldso_hot holds the program's path
 * and that `shmstat flame` names every sample whose leaf is ldso_hot.
 */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

uint64_t ldso_hot(uint64_t x);

/* the work whose samples must be named (exported: dladdr names it) */
__attribute__((noinline)) uint64_t ldso_hot(uint64_t x)
{
	for (int i = 0; i < 2000000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

/* the program's PT_INTERP (the first object dl_iterate_phdr gives) */
static int interp_of(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_INTERP)
			*(const char **)arg = (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	return 1;
}

/* "[module]" leaves of the loader or of the program (@unnamed, the two
 * names): the fault this test is for. A sample in another library's
 * function that has no symbol (libxxhash's inner loops, 1 sample in 20
 * runs) is unnamed too, and is not the program's. */
static const char *unnamed[2];

static void count_leaf(const char *leaf, uint64_t n, void *arg)
{
	uint64_t *c = arg;

	if (strcmp(leaf, "ldso_hot") == 0)
		c[0] += n;
	else if (strcmp(leaf, unnamed[0]) == 0 || strcmp(leaf, unnamed[1]) == 0)
		c[1] += n;
}

/* "[" basename "]" of @path into @buf */
static const char *bracketed(char *buf, size_t size, const char *path)
{
	const char *b = strrchr(path, '/');

	snprintf(buf, size, "[%s]", b ? b + 1 : path);
	return buf;
}

static int child(const char *prog, const char *tool)
{
	char name[64], exe[PATH_MAX], path[PATH_MAX] = "", un0[PATH_MAX + 2], un1[PATH_MAX + 2];
	uint64_t n = 0, w = 0, c[2] = { 0, 0 }, sink = 1;
	shmstat_seg *seg;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_module_info mi;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	long m;

	exe[len > 0 ? len : 0] = 0;
	if (strcmp(exe, prog) == 0) {
		printf("SKIP: /proc/self/exe is the program, not the loader\n");
		return 77;
	}
	snprintf(name, sizeof(name), "ut-ldso-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	while (n < 50) {
		sink = ldso_hot(sink);
		prof_fn_cpu(name, "ldso_hot", &n, &w, NULL);
	}
	shmstat_profiler_stop(seg);
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "cannot read the profile: %s\n", shmstat_last_error());
		return 1;
	}
	m = shmstat_profile_find_module(p, 0, (uint64_t)(uintptr_t)ldso_hot);
	if (m >= 0 && shmstat_profile_module(p, (size_t)m, &mi) == 0)
		snprintf(path, sizeof(path), "%s", mi.path);
	printf("loader %s, program %s: ldso_hot's module record says '%s'\n", exe, prog, path);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	unnamed[0] = bracketed(un0, sizeof(un0), exe);
	unnamed[1] = bracketed(un1, sizeof(un1), prog);
	prof_flame_leaves(tool, name, count_leaf, c);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("shmstat flame: %llu samples named ldso_hot, %llu named %s or %s (%llu)\n",
	       (unsigned long long)c[0], (unsigned long long)c[1], un0, un1,
	       (unsigned long long)(sink & 1));
	if (strcmp(path, prog) != 0) {
		fprintf(stderr, "FAIL: the program's module record does not hold its path\n");
		return 1;
	}
	if (c[0] < 50 || c[1] != 0) {
		fprintf(stderr, "FAIL: the program's frames are not named\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char prog[PATH_MAX];
	const char *interp = NULL;
	pid_t pid;
	int st;

	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child(argv[2], argv[3]);
	if (argc != 2 || realpath("/proc/self/exe", prog) == NULL) {
		fprintf(stderr, "usage: test_ldso SHMSTAT\n");
		return 2;
	}
	dl_iterate_phdr(interp_of, &interp);
	if (interp == NULL) {
		printf("SKIP: no PT_INTERP\n");
		return 77;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(interp, interp, prog, "--child", prog, argv[1], (char *)NULL);
		perror(interp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		fprintf(stderr, "the child under %s did not exit\n", interp);
		return 1;
	}
	return WEXITSTATUS(st);
}
