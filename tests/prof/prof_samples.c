/*
 * prof_samples.c - see prof_samples.h.
 */
#include <stdio.h>
#include <stdlib.h>

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
