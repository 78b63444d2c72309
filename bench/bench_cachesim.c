/*
 * bench_cachesim.c - overhead of the instrumentation on a realistic
 * service: shmstat-cachesim with its shmstat calls against the same run
 * with --no-instrument (every shmstat call bypassed by a runtime switch),
 * same seed, alternating, several rounds (issue 6). Prints one JSON line
 * with the median requests/s of both and the overhead in percent.
 * Target: overhead < 1%.
 *
 * Usage: bench_cachesim [--quick]   (runs ../tools/shmstat-cachesim next to it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"

static char cachesim[4096];

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int rounds = quick ? 3 : 5;
	const char *duration = quick ? "1" : "2";
	double w, wo, overhead;
	char name[64];

	if (bench_cachesim_path(cachesim, sizeof(cachesim), "bench_cachesim") != 0)
		return 1;
	snprintf(name, sizeof(name), "bench-cachesim-%d", (int)getpid());
	if (bench_cachesim_pairs("bench_cachesim", cachesim, name, duration, rounds,
				 "--no-instrument", "", &wo, &w) != 0)
		return 1;
	overhead = (wo - w) / wo * 100.0;
	printf("{\"bench\":\"cachesim_overhead\",\"procs\":4,\"threads\":2,\"rounds\":%d,"
	       "\"seconds_per_run\":%s,\"timer_sample\":16,\"requests_per_s\":%.0f,\"baseline\":\"no_instrument\","
	       "\"baseline_requests_per_s\":%.0f,\"overhead_percent\":%.2f,"
	       "\"target\":\"overhead<1%%\",\"met\":%s}\n",
	       rounds, duration, w, wo, overhead, overhead < 1.0 ? "true" : "false");
	return 0;
}
