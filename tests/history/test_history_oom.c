/*
 * test_history_oom.c - shmstat_history_append() when memory runs out (run
 * by tests/unit/oom_sweep.sh under the LD_PRELOAD library oom_fail).
 *
 *   test_history_oom DIR N
 *
 * Makes segment hy-oom-PID (a counter, a gauge, a histogram, a signature
 * table) and history file DIR/hy-oom-PID.shmhist, then appends one
 * snapshot with the N-th allocation failing (0: none): it returns 0 or
 * ENOMEM, and returns (a buffer that could not grow used to be padded
 * forever); then, with memory, appends three more: each returns 0 (a
 * buffer kept failing once it had failed), and the file reads back
 * those records, their values exact. Then an append whose write fails
 * with ENOSPC (a full file system) says so: ENOSPC and "cannot write",
 * not that the record does not fit in a ring (make the file bigger);
 * the next append succeeds. Prints the allocations counted; removes both.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"

#define T0 1000000000000000000ull

static int fill(const char *name, shmstat_seg **seg)
{
	struct shmstat_metric_def dc = { .name = "hy_total" }, dg = { .name = "hy_gauge" },
				  dh = { .name = "hy_lat", .unit = "ns" }, dt = { .name = "hy_sigs" };
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_hist *h;
	shmstat_sigtab *t;
	char key[16];

	if (shmstat_open(name, NULL, seg) != 0 ||
	    shmstat_counter_register(*seg, &dc, &c) != 0 ||
	    shmstat_gauge_register(*seg, &dg, SHMSTAT_AGG_SUM, &g) != 0 ||
	    shmstat_hist_register(*seg, &dh, NULL, &h) != 0 ||
	    shmstat_sigtab_register(*seg, &dt, NULL, &t) != 0)
		return -1;
	shmstat_counter_add(c, 42);
	shmstat_gauge_set(g, 7);
	for (int i = 0; i < 100; i++) {
		shmstat_hist_record(h, 1000 + (uint64_t)i * 37);
		snprintf(key, sizeof(key), "key-%d", i % 30);
		shmstat_sig_hit(t, key, strlen(key), 3, 0);
	}
	return 0;
}

/* The records of @h from @from on: three, each with the values of fill(). */
static int check(shmstat_history *h, uint64_t from)
{
	shmstat_frame **f;
	size_t n;
	int bad = 0;

	if (shmstat_history_range(h, from, UINT64_MAX, &f, &n) != 0) {
		fprintf(stderr, "range: %s\n", shmstat_last_error());
		return 1;
	}
	if (n != 3) {
		fprintf(stderr, "%zu records read back, want 3\n", n);
		bad = 1;
	}
	for (size_t k = 0; k < n; k++) {
		long c = shmstat_frame_find(f[k], "hy_total", NULL),
		     g = shmstat_frame_find(f[k], "hy_gauge", NULL),
		     l = shmstat_frame_find(f[k], "hy_lat", NULL),
		     t = shmstat_frame_find(f[k], "hy_sigs", NULL);
		struct shmstat_series sc, sg, sl, st;

		if (c < 0 || g < 0 || l < 0 || t < 0 ||
		    shmstat_frame_series(f[k], (size_t)c, &sc) != 0 ||
		    shmstat_frame_series(f[k], (size_t)g, &sg) != 0 ||
		    shmstat_frame_series(f[k], (size_t)l, &sl) != 0 ||
		    shmstat_frame_series(f[k], (size_t)t, &st) != 0 ||
		    sc.counter != 42 || sg.gauge != 7 || sl.counter != 100 ||
		    st.sig_hits != 100 || st.sig_weight != 300) {
			fprintf(stderr, "record %zu: a series missing or wrong\n", k);
			bad = 1;
		}
	}
	shmstat_frames_free(f, n);
	return bad;
}

int main(int argc, char **argv)
{
	void (*arm)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "oom_arm");
	long (*calls)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "oom_calls");
	void (*pwrite_enospc)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "oom_pwrite_enospc");
	char name[64], path[4096];
	struct shmstat_history_opts o;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_snap *s = NULL;
	shmstat_history *h = NULL;
	int err, bad = 0;

	if (argc != 3 || arm == NULL || calls == NULL || pwrite_enospc == NULL) {
		fprintf(stderr, "usage: LD_PRELOAD=oom_fail.so test_history_oom DIR N\n");
		return 2;
	}
	snprintf(name, sizeof(name), "hy-oom-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s.shmhist", argv[1], name);
	unlink(path);
	shmstat_history_opts_init(&o);
	o.max_bytes = 1 << 20;
	if (fill(name, &seg) != 0 || shmstat_reader_open(name, &r) != 0 ||
	    shmstat_snapshot(r, &s) != 0 || shmstat_history_create(path, &o, &h) != 0) {
		fprintf(stderr, "setup: %s\n", shmstat_last_error());
		bad = 1;
		goto out;
	}
	arm(1);
	err = shmstat_history_append(h, s, T0, NULL);
	arm(0);
	if (err != 0 && err != ENOMEM) {
		fprintf(stderr, "append: %d %s\n", err, shmstat_last_error());
		bad = 1;
	}
	for (int i = 1; i <= 3; i++) {
		err = shmstat_history_append(h, s, T0 + (uint64_t)i * 1000000000ull, NULL);
		if (err != 0) {
			fprintf(stderr, "append %d with memory: %d %s\n", i, err,
				shmstat_last_error());
			bad = 1;
		}
	}
	if (!bad)
		bad = check(h, T0 + 1000000000ull);
	pwrite_enospc();
	err = shmstat_history_append(h, s, T0 + 4000000000ull, NULL);
	if (err != ENOSPC || strstr(shmstat_last_error(), "cannot write") == NULL) {
		fprintf(stderr, "append on a full file system: %d %s\n", err,
			shmstat_last_error());
		bad = 1;
	}
	if (shmstat_history_append(h, s, T0 + 5000000000ull, NULL) != 0) {
		fprintf(stderr, "append after it: %s\n", shmstat_last_error());
		bad = 1;
	}
	printf("%ld\n", calls());
out:
	shmstat_history_close(h);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	unlink(path);
	return bad;
}
