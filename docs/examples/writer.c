/*
 * writer.c - a process that publishes metrics.
 *
 * Creates a segment, registers a labelled counter and a gauge, updates
 * them, shows how a failed registration behaves, then detaches and
 * removes the segment.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include <shmstat.h>

int main(void)
{
	char name[64];
	struct shmstat_opts opts;
	shmstat_seg *seg;
	shmstat_counter *requests, *wrong;
	shmstat_gauge *inflight, *as_gauge;
	int err;

	/* a name of our own: tests may run in parallel */
	snprintf(name, sizeof(name), "docs-writer-%ld", (long)getpid());
	if (shmstat_valid_name(name) != 0) {
		fprintf(stderr, "writer: %s\n", shmstat_last_error());
		return 1;
	}

	/* capacities and mode apply only if this call creates the segment */
	shmstat_opts_init(&opts);
	opts.max_metrics = 64;
	opts.max_values = 256;
	opts.mode = 0640;               /* the owner's group may read */
	err = shmstat_open(name, &opts, &seg);
	if (err) {
		fprintf(stderr, "writer: %s: %s\n", shmstat_strerror(err), shmstat_last_error());
		return 1;
	}

	/* labels: key, value, ..., NULL; their order does not matter */
	const char *const labels[] = { "method", "GET", "code", "200", NULL };
	const struct shmstat_metric_def req_def = {
		.name = "example_requests_total",
		.labels = labels,
		.help = "Requests served.",
		.unit = NULL,
	};
	const struct shmstat_metric_def inflight_def = {
		.name = "example_inflight",
		.help = "Requests being served now.",
	};

	err = shmstat_counter_register(seg, &req_def, &requests);
	if (err)
		fprintf(stderr, "writer: %s\n", shmstat_last_error());  /* handle still usable */
	err = shmstat_gauge_register(seg, &inflight_def, SHMSTAT_AGG_SUM, &inflight);
	if (err)
		fprintf(stderr, "writer: %s\n", shmstat_last_error());

	/* the hot path: no return value, nothing to check */
	for (int i = 0; i < 1000; i++) {
		shmstat_gauge_add(inflight, 1);
		shmstat_counter_inc(requests);
		shmstat_gauge_sub(inflight, 1);
	}
	shmstat_counter_add(requests, 500);
	shmstat_gauge_set(inflight, 3);
	shmstat_heartbeat(seg);

	/* The same name and labels as another type: SHMSTAT_ETYPE, and a
	 * handle that does nothing. */
	err = shmstat_gauge_register(seg, &req_def, SHMSTAT_AGG_SUM, &as_gauge);
	if (err != SHMSTAT_ETYPE) {
		fprintf(stderr, "writer: expected SHMSTAT_ETYPE, got %d\n", err);
		return 1;
	}
	printf("expected error: %s (%s)\n", shmstat_strerror(err), shmstat_last_error());
	shmstat_gauge_set(as_gauge, 42);        /* harmless */

	/* an invalid metric name: SHMSTAT_EBADNAME, again a do-nothing handle */
	const struct shmstat_metric_def bad = { .name = "9lives" };
	err = shmstat_counter_register(seg, &bad, &wrong);
	if (err != SHMSTAT_EBADNAME) {
		fprintf(stderr, "writer: expected SHMSTAT_EBADNAME, got %d\n", err);
		return 1;
	}
	shmstat_counter_inc(wrong);             /* harmless */

	/* the values stay in the segment after close */
	err = shmstat_close(seg);
	if (err)
		fprintf(stderr, "writer: close: %s\n", shmstat_strerror(err));
	err = shmstat_unlink(name);
	if (err) {
		fprintf(stderr, "writer: %s\n", shmstat_last_error());
		return 1;
	}
	printf("writer: ok\n");
	return 0;
}
