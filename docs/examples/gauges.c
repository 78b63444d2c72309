/*
 * gauges.c - how gauge values of several processes combine, and gc.
 *
 * One gauge per aggregation mode, all named example_temperature with a
 * label mode="sum", "max", ... Two writer processes set every gauge:
 * B sets 30 and stays; then A sets 10 and dies without detaching. The
 * parent reads at three moments:
 *   1. A dead but not reaped, B alive
 *   2. after shmstat_gc() reaped A
 *   3. after B detached
 * and checks each value against the table in docs/api.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmstat.h>

static const char *const modes[] = {
	"sum", "max", "min", "last", "livesum", "livemax", "livemin", "livelast",
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* Attach, set every gauge to @v. */
static shmstat_seg *set_all(const char *name, int64_t v)
{
	shmstat_seg *seg;

	if (shmstat_open(name, NULL, &seg) != 0) {
		fprintf(stderr, "gauges: %s\n", shmstat_last_error());
		return NULL;
	}
	for (size_t k = 0; k < NMODES; k++) {
		const char *const labels[] = { "mode", modes[k], NULL };
		const struct shmstat_metric_def def = {
			.name = "example_temperature",
			.labels = labels,
			.help = "A gauge set by several processes.",
			.unit = "celsius",
		};
		enum shmstat_agg agg;
		shmstat_gauge *g;

		if (shmstat_agg_parse(modes[k], &agg) != 0 ||
		    shmstat_gauge_register(seg, &def, agg, &g) != 0) {
			fprintf(stderr, "gauges: %s\n", shmstat_last_error());
			return NULL;
		}
		shmstat_gauge_set(g, v);
	}
	return seg;
}

/* expected[k]: value of mode k, or INT64_MIN for "no value" */
static int check(shmstat_reader *r, const char *when, const int64_t expected[NMODES])
{
	struct shmstat_seg_info info;
	shmstat_snap *s;
	int ok = 1;

	if (shmstat_snapshot(r, &s) != 0) {
		fprintf(stderr, "gauges: %s\n", shmstat_last_error());
		return 0;
	}
	shmstat_snap_info(s, &info);
	printf("%s (writers: %u alive, %u dead)\n", when, info.writers_alive, info.writers_dead);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;
		size_t k;

		shmstat_snap_metric(s, i, &m);
		for (k = 0; k < NMODES; k++)
			if (strcmp(shmstat_agg_name(m.agg), modes[k]) == 0)
				break;
		if (k == NMODES)
			return 0;
		if (m.has_value)
			printf("  %-9s %4" PRId64 "\n", modes[k], m.gauge);
		else
			printf("  %-9s    -\n", modes[k]);
		if (expected[k] == INT64_MIN ? m.has_value : (!m.has_value || m.gauge != expected[k])) {
			printf("    ^ expected %" PRId64 "\n", expected[k]);
			ok = 0;
		}
	}
	shmstat_snap_free(s);
	return ok;
}

int main(void)
{
	/*                            sum max min last lsum lmax lmin llast */
	static const int64_t dead_unreaped[NMODES] = { 40, 30, 10, 10, 30, 30, 30, 30 };
	static const int64_t b_gone[NMODES] = { 40, 30, 10, 10, 0, INT64_MIN, INT64_MIN, INT64_MIN };
	char name[64], c;
	int ready[2], quit[2], status, ok;
	shmstat_reader *r;
	unsigned reaped = 0;
	pid_t a, b;

	snprintf(name, sizeof(name), "docs-gauges-%ld", (long)getpid());
	if (pipe(ready) != 0 || pipe(quit) != 0)
		return 1;

	/* B: set 30, report, wait to be told to go, detach */
	b = fork();
	if (b == 0) {
		shmstat_seg *seg = set_all(name, 30);

		if (seg == NULL)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(quit[0], &c, 1) != 1)
			_exit(1);
		shmstat_close(seg);
		_exit(0);
	}
	if (b < 0 || read(ready[0], &c, 1) != 1)
		return 1;

	/* A: set 10 (after B, so it is the last setter), die attached */
	a = fork();
	if (a == 0)
		_exit(set_all(name, 10) ? 0 : 1);
	if (a < 0 || waitpid(a, &status, 0) != a || status != 0)
		return 1;

	if (shmstat_reader_open(name, &r) != 0) {
		fprintf(stderr, "gauges: %s\n", shmstat_last_error());
		return 1;
	}
	ok = check(r, "A dead, not reaped; B alive", dead_unreaped);

	/* gc folds A's values into the "gone" totals: nothing changes */
	if (shmstat_gc(name, &reaped) != 0 || reaped != 1) {
		fprintf(stderr, "gauges: gc reaped %u: %s\n", reaped, shmstat_last_error());
		ok = 0;
	}
	ok = check(r, "after gc", dead_unreaped) && ok;

	/* B detaches: the live modes lose their last process */
	if (write(quit[1], "q", 1) != 1 || waitpid(b, &status, 0) != b || status != 0)
		return 1;
	ok = check(r, "B detached", b_gone) && ok;

	shmstat_reader_close(r);
	shmstat_unlink(name);
	printf("gauges: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
