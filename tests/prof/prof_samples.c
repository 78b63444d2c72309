/*
 * prof_samples.c - see prof_samples.h.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

uint64_t prof_cpu_samples(const char *name)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_profile_stats st;

	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "cannot read the profile: %s\n", shmstat_last_error());
		exit(1);
	}
	shmstat_profile_stats(p, &st);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return st.cpu_samples + st.dropped_samples;
}

void prof_fn_cpu(const char *name, const char *fn, uint64_t *samples, uint64_t *weight,
		 uint64_t *all_samples)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;

	*samples = *weight = 0;
	if (all_samples)
		*all_samples = 0;
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "cannot read the profile: %s\n", shmstat_last_error());
		exit(1);
	}
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;
		int in = 0;

		shmstat_profile_stack(p, k, &si);
		if (si.kind != SHMSTAT_STACK_CPU)
			continue;
		for (uint32_t d = 0; d < si.depth && !in; d++) {
			Dl_info di;

			/* a return address is looked up at the call */
			in = dladdr((void *)(uintptr_t)(si.pcs[d] - (d > 0)), &di) &&   /* NOLINT(performance-no-int-to-ptr) */
			     di.dli_sname && strcmp(di.dli_sname, fn) == 0;
		}
		if (all_samples)
			*all_samples += si.samples;
		if (in) {
			*samples += si.samples;
			*weight += si.weight;
		}
	}
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
}

void prof_flame_leaves(const char *tool, const char *name,
		       void (*fn)(const char *leaf, uint64_t n, void *arg), void *arg)
{
	char cmd[PATH_MAX + 128], line[8192];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' flame '%s'", tool, name);
	f = popen(cmd, "r");
	if (f == NULL) {
		fprintf(stderr, "cannot run %s\n", cmd);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' '), *leaf;

		if (sp == NULL)
			continue;
		*sp = 0;
		leaf = strrchr(line, ';');
		fn(leaf ? leaf + 1 : line, strtoull(sp + 1, NULL, 10), arg);
	}
	if (pclose(f) != 0) {
		fprintf(stderr, "%s failed\n", cmd);
		exit(1);
	}
}
