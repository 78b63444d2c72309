/*
 * prof_samples.c - see prof_samples.h.
 */
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
