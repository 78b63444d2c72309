/*
 * test_reload.c - a library loaded where an unloaded one was is named
 * as itself, and the unloaded one's samples as the unloaded one.
 *
 *   test_reload PLUGIN_A PLUGIN_B [SHMSTAT]
 *
 * The profiler runs while A (reload_plugin.c with RELOAD_A) is loaded
 * and its hot function sampled, then A is unloaded and B loaded, which
 * lands where A was (same sizes: the test is skipped when it does not),
 * and B's hot function is sampled; modules are published after each
 * dlopen and dlclose (shmstat_profiler_modules, as a heartbeat does).
 * Each phase runs until the profile holds 50 samples in its hot
 * function (counted, not timed). Then every sample whose pc lies in
 * A's hot function must be named with A's module record, every one in
 * B's with B's (shmstat_profile_frame_module): A's hot function is the
 * first of the two in its file, B's the second, so the addresses tell
 * them apart. Before, B was not published at all (its load bias and
 * start of code were A's: "published already"), so all of them were
 * A's; with B published, readers took the latest record for all.
 * With SHMSTAT (the tool), `shmstat flame` must name as many samples
 * hot_a and hot_b: its symbolizer, given both modules at one address,
 * took one of them for all (cold_b for A's, or cold_a for B's).
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

struct range {
	uintptr_t lo, hi;
};

static uintptr_t sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (p == NULL) {
		fprintf(stderr, "no %s in the plugin: %s\n", name, dlerror());
		exit(1);
	}
	return (uintptr_t)p;
}

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

/* CPU samples whose pc lies in @hot */
static uint64_t in_range(const char *name, struct range hot)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p = profile(name, &r, &s);
	uint64_t n = 0;

	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;

		shmstat_profile_stack(p, k, &si);
		if (si.kind == SHMSTAT_STACK_CPU && si.pcs[0] >= hot.lo && si.pcs[0] < hot.hi)
			n += si.samples;
	}
	done(r, s, p);
	return n;
}

static void run(const char *name, void *h, struct range hot)
{
	unsigned long (*work)(unsigned long) = (unsigned long (*)(unsigned long))sym(h, "work");

	while (in_range(name, hot) < 50)
		(void)work(2000000);
}

/* The samples whose leaf is hot_a ([0]), hot_b ([1]), a cold_ function ([2]) */
static void count_leaf(const char *leaf, uint64_t n, void *arg)
{
	uint64_t *c = arg;

	if (strcmp(leaf, "hot_a") == 0)
		c[0] += n;
	else if (strcmp(leaf, "hot_b") == 0)
		c[1] += n;
	else if (strncmp(leaf, "cold_", 5) == 0)
		c[2] += n;
}

/* `@tool flame @name`: the samples of leaf hot_a and hot_b must be
 * @want's (frames named cold_* are the other module's names). */
static void flame_check(const char *tool, const char *name, const uint64_t want[2])
{
	uint64_t got[3] = { 0, 0, 0 }, cold;

	prof_flame_leaves(tool, name, count_leaf, got);
	cold = got[2];
	printf("shmstat flame: hot_a %llu, hot_b %llu, cold_* %llu\n", (unsigned long long)got[0],
	       (unsigned long long)got[1], (unsigned long long)cold);
	if (got[0] != want[0] || got[1] != want[1] || cold != 0) {
		fprintf(stderr, "FAIL: shmstat flame names samples with the wrong module\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct range a, b;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	shmstat_seg *seg;
	char name[64];
	uint64_t good[2] = { 0, 0 }, wrong[2] = { 0, 0 };
	void *h;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: test_reload PLUGIN_A PLUGIN_B [SHMSTAT]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "ut-reload-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	h = dlopen(argv[1], RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	(void)shmstat_profiler_modules(seg);
	a.lo = sym(h, "hot_a");
	a.hi = sym(h, "cold_a");
	run(name, h, a);
	dlclose(h);
	(void)shmstat_profiler_modules(seg);
	h = dlopen(argv[2], RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	(void)shmstat_profiler_modules(seg);
	b.lo = sym(h, "hot_b");
	b.hi = b.lo + (a.hi - a.lo);
	if (sym(h, "cold_b") != a.lo) {
		printf("skip: B was not loaded where A was (B's first function at %#lx, A's at %#lx)\n",
		       (unsigned long)sym(h, "cold_b"), (unsigned long)a.lo);
		shmstat_close(seg);
		shmstat_unlink(name);
		return 77;
	}
	run(name, h, b);
	shmstat_profiler_stop(seg);

	p = profile(name, &r, &s);
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;
		struct shmstat_module_info mi;
		long m;
		int which;

		shmstat_profile_stack(p, k, &si);
		if (si.kind != SHMSTAT_STACK_CPU)
			continue;
		if (si.pcs[0] >= a.lo && si.pcs[0] < a.hi)
			which = 0;
		else if (si.pcs[0] >= b.lo && si.pcs[0] < b.hi)
			which = 1;
		else
			continue;
		m = shmstat_profile_frame_module(p, k, 0);
		if (m >= 0 && shmstat_profile_module(p, (size_t)m, &mi) == 0 &&
		    strcmp(mi.path, argv[1 + which]) == 0)
			good[which] += si.samples;
		else
			wrong[which] += si.samples;
	}
	done(r, s, p);
	if (argc > 3)
		flame_check(argv[3], name, good);
	dlclose(h);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("A's hot function: %llu samples named A, %llu not; B's: %llu named B, %llu not\n",
	       (unsigned long long)good[0], (unsigned long long)wrong[0],
	       (unsigned long long)good[1], (unsigned long long)wrong[1]);
	if (good[0] < 50 || good[1] < 50 || wrong[0] || wrong[1]) {
		fprintf(stderr, "FAIL: samples named with the wrong module\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
