/*
 * test_oom_register.c - registrations when memory runs out (run by
 * oom_sweep.sh under the LD_PRELOAD library oom_fail).
 *
 *   test_oom_register N
 *
 * Opens segment ut-oom-PID, then with the N-th allocation failing (0: none)
 * registers 300 counters and adds i + 1 to counter i; prints the
 * allocations counted. Each registration returns 0 or ENOMEM (its handle
 * then does nothing), the process never aborts, and a reader sees exactly
 * the values of the counters that registered. 300 handles are more than
 * the 2 per bucket of a 64-bucket index: liburcu's own allocations (a
 * resize) asserted and aborted the writer.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"

#define NCOUNTERS 300

int main(int argc, char **argv)
{
	void (*arm)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "oom_arm");
	long (*calls)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "oom_calls");
	static int ok[NCOUNTERS];
	char seg_name[64];
	shmstat_seg *seg;
	shmstat_reader *r;
	shmstat_snap *s;
	int bad = 0;

	if (argc != 2 || arm == NULL || calls == NULL) {
		fprintf(stderr, "usage: LD_PRELOAD=oom_fail.so test_oom_register N\n");
		return 2;
	}
	(void)argv;                 /* N: oom_fail reads OOM_FAIL_N */
	snprintf(seg_name, sizeof(seg_name), "ut-oom-%d", (int)getpid());
	if (shmstat_open(seg_name, NULL, &seg) != 0) {
		fprintf(stderr, "open: %s\n", shmstat_last_error());
		return 1;
	}
	arm(1);
	for (int i = 0; i < NCOUNTERS; i++) {
		char name[32];
		struct shmstat_metric_def d = { .name = name };
		shmstat_counter *c;
		int err;

		snprintf(name, sizeof(name), "oom_%d_total", i);
		err = shmstat_counter_register(seg, &d, &c);
		if (err != 0 && err != ENOMEM) {
			fprintf(stderr, "register %s: %d %s\n", name, err, shmstat_last_error());
			bad = 1;
		}
		ok[i] = err == 0;
		shmstat_counter_add(c, (uint64_t)i + 1);
	}
	arm(0);
	printf("%ld\n", calls());
	shmstat_close(seg);
	if (shmstat_reader_open(seg_name, &r) != 0 || shmstat_snapshot(r, &s) != 0) {
		fprintf(stderr, "reader: %s\n", shmstat_last_error());
		shmstat_unlink(seg_name);
		return 1;
	}
	shmstat_unlink(seg_name);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info mi;
		int k;

		shmstat_snap_metric(s, i, &mi);
		if (sscanf(mi.name, "oom_%d_total", &k) != 1 || k < 0 || k >= NCOUNTERS)
			continue;
		if (ok[k] && mi.counter != (uint64_t)k + 1) {
			fprintf(stderr, "%s = %llu, want %d\n", mi.name,
				(unsigned long long)mi.counter, k + 1);
			bad = 1;
		}
		ok[k] = 0;
	}
	for (int k = 0; k < NCOUNTERS; k++)
		if (ok[k]) {
			fprintf(stderr, "oom_%d_total registered but not in the snapshot\n", k);
			bad = 1;
		}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return bad;
}
