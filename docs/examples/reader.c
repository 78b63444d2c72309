/*
 * reader.c - read a segment: snapshot, metrics, per-process breakdown.
 *
 * To have something to read, a child process counts 7 requests and
 * detaches, and this process counts 5 and stays attached. The reader then
 * sees 12 in all: 5 from the live process and 7 from writers that are
 * gone (SHMSTAT_PROC_GONE).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmstat.h>

static const char *const labels[] = { "path", "/index", NULL };
static const struct shmstat_metric_def requests_def = {
	.name = "example_requests_total",
	.labels = labels,
	.help = "Requests served.",
};

/* Attach, count @n requests, and (if @detach) detach again. */
static int write_some(const char *name, uint64_t n, shmstat_seg **out)
{
	shmstat_counter *requests;
	shmstat_seg *seg;
	int err = shmstat_open(name, NULL, &seg);

	if (err) {
		fprintf(stderr, "reader: %s\n", shmstat_last_error());
		return err;
	}
	err = shmstat_counter_register(seg, &requests_def, &requests);
	if (err)
		fprintf(stderr, "reader: %s\n", shmstat_last_error());
	shmstat_counter_add(requests, n);
	if (out)
		*out = seg;
	else
		shmstat_close(seg);
	return err;
}

static void print_snapshot(const shmstat_snap *s)
{
	struct shmstat_seg_info info;
	size_t nm = shmstat_snap_metrics(s), np = shmstat_snap_procs(s);

	shmstat_snap_info(s, &info);
	printf("segment: %" PRIu64 " bytes, format %u.%u, generation %016" PRIx64 "\n",
	       info.size, info.format_major, info.format_minor, info.generation);
	printf("  %u metrics of %u, %" PRIu64 " value slots of %u, writers %u alive %u dead, "
	       "%" PRIu64 " dropped registrations, mode %04o%s\n",
	       info.metrics, info.max_metrics, info.values_used, info.max_values,
	       info.writers_alive, info.writers_dead, info.dropped_regs,
	       (unsigned)info.mode, info.removed ? ", removed" : "");

	for (size_t j = 0; j < np; j++) {
		struct shmstat_proc_info p;

		shmstat_snap_proc(s, j, &p);
		printf("  process %zu: pid %ld (%s) %s, %u thread stripes\n", j, (long)p.pid,
		       p.comm, p.alive ? "alive" : "dead", p.stripes);
	}

	for (size_t i = 0; i < nm; i++) {
		struct shmstat_metric_info m;
		uint64_t c;
		int64_t g;

		shmstat_snap_metric(s, i, &m);
		printf("%s{%s} %s", m.name, m.labels, shmstat_type_name(m.type));
		if (m.type == SHMSTAT_COUNTER)
			printf(" = %" PRIu64 "\n", m.counter);
		else if (m.has_value)
			printf(" (%s) = %" PRId64 "\n", shmstat_agg_name(m.agg), m.gauge);
		else
			printf(" (%s) has no value\n", shmstat_agg_name(m.agg));
		/* the share of each process, then of the writers that are gone */
		for (size_t j = 0; j < np; j++)
			if (shmstat_snap_metric_proc(s, i, j, &c, &g) == 0)
				printf("    process %zu: %" PRIu64 "\n", j, m.type == SHMSTAT_COUNTER ? c : (uint64_t)g);
		if (shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &c, &g) == 0)
			printf("    gone: %" PRIu64 "\n", m.type == SHMSTAT_COUNTER ? c : (uint64_t)g);
	}
}

int main(void)
{
	char name[64];
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_seg *seg;
	pid_t child;
	int status, err, ok;

	snprintf(name, sizeof(name), "docs-reader-%ld", (long)getpid());

	/* a writer that comes and goes (forked before this process attaches) */
	child = fork();
	if (child == 0)
		_exit(write_some(name, 7, NULL) ? 1 : 0);
	if (child < 0 || waitpid(child, &status, 0) != child || status != 0)
		return 1;
	/* and one that stays */
	if (write_some(name, 5, &seg) != 0)
		return 1;

	err = shmstat_reader_open(name, &r);
	if (err) {
		fprintf(stderr, "reader: %s: %s\n", shmstat_strerror(err), shmstat_last_error());
		return 1;
	}
	err = shmstat_snapshot(r, &s);
	if (err) {
		fprintf(stderr, "reader: %s\n", shmstat_last_error());
		return 1;
	}
	print_snapshot(s);

	/* check what the example promises */
	{
		struct shmstat_metric_info m;
		uint64_t mine = 0, gone = 0;
		int64_t g;

		ok = shmstat_snap_metrics(s) == 1 && shmstat_snap_procs(s) == 1 &&
		     shmstat_snap_metric(s, 0, &m) == 0 && m.counter == 12 &&
		     shmstat_snap_metric_proc(s, 0, 0, &mine, &g) == 0 && mine == 5 &&
		     shmstat_snap_metric_proc(s, 0, SHMSTAT_PROC_GONE, &gone, &g) == 0 && gone == 7;
	}
	shmstat_snap_free(s);

	/* A snapshot is a private copy: take a new one to see new values.
	 * Once the name is removed, the reader still reads the object. */
	shmstat_close(seg);
	shmstat_unlink(name);
	err = shmstat_snapshot(r, &s);
	if (err == 0) {
		struct shmstat_seg_info info;

		shmstat_snap_info(s, &info);
		printf("after close and unlink: removed=%d, writers alive %u\n",
		       info.removed, info.writers_alive);
		ok = ok && info.removed == 1 && info.writers_alive == 0;
		shmstat_snap_free(s);
	} else {
		ok = 0;
	}
	shmstat_reader_close(r);

	printf("reader: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
