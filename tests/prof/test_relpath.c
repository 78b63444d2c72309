/*
 * test_relpath.c - a library dlopen'ed by a relative path is named.
 *
 *   test_relpath PLUGIN SHMSTAT
 *
 * PLUGIN (reload_plugin.c built with RELOAD_A: hot_a, cold_a, work) is
 * loaded as "./NAME" from its directory, the working directory is then
 * changed to "/", and the modules are published (as a heartbeat does
 * after a dlopen). The loader keeps the name it was given, so the
 * module record said "./libreload_a.so": relative to a working
 * directory no reader knows, which the symbolizer does not open, and
 * every frame of the library was "[libreload_a.so]" (60 of 60 samples
 * in hot_a). The samples are counted, not timed: the test runs until 50
 * fall in hot_a, then asks that the library's module record holds the
 * absolute path of the file, and that `shmstat flame` names every sample
 * whose pc lies in hot_a "hot_a".
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

static shmstat_profile *profile(const char *name, shmstat_reader **r, shmstat_snap **s)
{
	shmstat_profile *p;

	if (shmstat_reader_open(name, r) != 0 || shmstat_snapshot(*r, s) != 0 ||
	    shmstat_snap_profile(*r, *s, &p) != 0) {
		fprintf(stderr, "cannot read the profile: %s\n", shmstat_last_error());
		exit(1);
	}
	return p;
}

static void done(shmstat_reader *r, shmstat_snap *s, shmstat_profile *p)
{
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
}

/* CPU samples whose pc lies in [lo, hi); with @path, each one's module
 * path must be @path (*@wrong counts those whose is not) */
static uint64_t in_range(const char *name, uintptr_t lo, uintptr_t hi, const char *path,
			 uint64_t *wrong)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p = profile(name, &r, &s);
	uint64_t n = 0;

	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;
		struct shmstat_module_info mi;
		long m;

		shmstat_profile_stack(p, k, &si);
		if (si.kind != SHMSTAT_STACK_CPU || si.pcs[0] < lo || si.pcs[0] >= hi)
			continue;
		n += si.samples;
		if (path == NULL)
			continue;
		m = shmstat_profile_frame_module(p, k, 0);
		if (m < 0 || shmstat_profile_module(p, (size_t)m, &mi) != 0 ||
		    strcmp(mi.path, path) != 0) {
			fprintf(stderr, "a sample in hot_a has module path '%s'\n",
				m < 0 ? "(none)" : mi.path);
			*wrong += si.samples;
		}
	}
	done(r, s, p);
	return n;
}

/* The samples whose leaf is hot_a ([0]), and those whose leaf is the
 * plugin's module unnamed ([1]) */
static void count_leaf(const char *leaf, uint64_t n, void *arg)
{
	uint64_t *c = arg;

	if (strcmp(leaf, "hot_a") == 0)
		c[0] += n;
	else if (strstr(leaf, "reload_a"))
		c[1] += n;
}

int main(int argc, char **argv)
{
	char name[64], dir[PATH_MAX], abs[PATH_MAX], rel[PATH_MAX + 2];
	const char *base;
	uint64_t n, wrong = 0, c[2] = { 0, 0 };
	uintptr_t lo, hi;
	unsigned long (*work)(unsigned long);
	shmstat_seg *seg;
	void *h;

	if (argc != 3 || realpath(argv[1], abs) == NULL) {
		fprintf(stderr, "usage: test_relpath PLUGIN SHMSTAT\n");
		return 2;
	}
	base = strrchr(abs, '/') + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - abs), abs);
	snprintf(rel, sizeof(rel), "./%s", base);
	snprintf(name, sizeof(name), "ut-relpath-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	if (chdir(dir) != 0 || (h = dlopen(rel, RTLD_NOW)) == NULL || chdir("/") != 0) {
		fprintf(stderr, "cannot load %s from %s: %s\n", rel, dir, dlerror());
		return 1;
	}
	(void)shmstat_profiler_modules(seg);
	lo = (uintptr_t)dlsym(h, "hot_a");
	hi = (uintptr_t)dlsym(h, "cold_a");
	work = (unsigned long (*)(unsigned long))(uintptr_t)dlsym(h, "work");
	if (!lo || !hi || !work || hi <= lo) {
		fprintf(stderr, "the plugin lacks hot_a, cold_a or work\n");
		return 1;
	}
	while (in_range(name, lo, hi, NULL, NULL) < 50)
		(void)work(2000000);
	shmstat_profiler_stop(seg);
	n = in_range(name, lo, hi, abs, &wrong);
	prof_flame_leaves(argv[2], name, count_leaf, c);
	dlclose(h);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("%llu samples in hot_a: %llu with another module path than %s; shmstat flame: "
	       "%llu named hot_a, %llu unnamed\n", (unsigned long long)n, (unsigned long long)wrong,
	       abs, (unsigned long long)c[0], (unsigned long long)c[1]);
	if (n < 50 || wrong != 0 || c[0] != n || c[1] != 0) {
		fprintf(stderr, "FAIL: a library loaded by a relative path is not named\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
