/*
 * profile.c - profile this process into a segment, then read the stacks.
 *
 * The profiler samples the CPU time at 99 Hz while two functions burn it
 * (about 3:1), and every timed section also records its stack
 * (shmstat_profiler_latency with 1). The reader then counts the CPU
 * samples, checks that the latency stacks add up to the histogram, and
 * finds the module that holds the innermost address of the heaviest
 * stack. `shmstat flame NAME` names the frames (profiling.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmstat.h>
#include <shmstat_profile.h>

static const struct shmstat_metric_def section_def = {
	.name = "example_section_duration",
	.unit = "ns",
};

static uint64_t burn(uint64_t x, unsigned n)
{
	volatile uint64_t v = x;

	for (unsigned i = 0; i < n; i++)
		v = v * 6364136223846793005u + 1442695040888963407u;
	return v;
}

int main(void)
{
	char name[64];
	shmstat_seg *seg;
	shmstat_hist *h;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_profile_stats st;
	uint64_t x = 1, lat = 0, heaviest = 0;
	size_t top = 0;
	int rc = 1;

	snprintf(name, sizeof(name), "example-profile-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_hist_register(seg, &section_def, NULL, &h) != 0 ||
	    shmstat_profiler_start(seg, 0) != 0 ||
	    shmstat_profiler_latency(seg, 1) != 0) {
		fprintf(stderr, "profile: %s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	/* about 0.3 s of CPU: enough for some 30 samples at 99 Hz */
	for (int i = 0; i < 300; i++) {
		uint64_t t = shmstat_timer_start();

		x = burn(x, 300000);            /* 3 parts */
		x = burn(x, 100000);            /* 1 part */
		shmstat_timer_stop(h, t);
	}
	shmstat_profiler_stop(seg);

	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "profile: %s\n", shmstat_last_error());
		goto out;
	}
	shmstat_profile_stats(p, &st);
	printf("%u stacks: %" PRIu64 " cpu samples, %" PRIu64 " timed sections\n",
	       st.used, st.cpu_samples, st.latency_samples);
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;

		shmstat_profile_stack(p, k, &si);
		if (si.kind == SHMSTAT_STACK_LATENCY)
			lat += si.samples;
		else if (si.samples > heaviest) {
			heaviest = si.samples;
			top = k;
		}
	}
	if (heaviest > 0) {
		struct shmstat_stack_info si;
		struct shmstat_module_info mi;
		long m;

		shmstat_profile_stack(p, top, &si);
		m = shmstat_profile_find_module(p, si.proc, si.pcs[0]);
		if (m >= 0 && shmstat_profile_module(p, (size_t)m, &mi) == 0)
			printf("heaviest stack: %" PRIu64 " samples, %u frames, innermost in %s\n",
			       si.samples, si.depth, strrchr(mi.path, '/') ? strrchr(mi.path, '/') + 1
									  : mi.path);
	}
	/* every section recorded its stack: they add up to the histogram */
	rc = lat == 300 ? 0 : 1;
	if (rc)
		fprintf(stderr, "profile: %" PRIu64 " latency stacks, expected 300\n", lat);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
out:
	shmstat_close(seg);
	shmstat_unlink(name);
	return rc + (int)(x & 0);
}
