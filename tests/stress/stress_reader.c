/*
 * stress_reader.c - a fast reader process for the stress tests.
 *
 * Built against the plain library (no sanitizer), so that its snapshots
 * are many times faster than the folds of the TSan-instrumented writers
 * and reapers: its copies land inside every phase of a fold and straddle
 * every phase change. It snapshots segment NAME in a loop until its stdin
 * reaches EOF, and checks every snapshot:
 *
 *   stress_reader NAME COUNTER GAUGE exact VALUE
 *       the counter and the SUM gauge are both exactly VALUE
 *   stress_reader NAME COUNTER GAUGE mono FINAL
 *       neither ever decreases, neither exceeds FINAL
 *
 * Once its first snapshot is taken it prints "ready" on a line of its
 * own: a test starts what the snapshots must race with after that line,
 * not while this process is still starting (then a short fold could be
 * over before the first copy).
 *
 * A snapshot may fail with SHMSTAT_EBUSY (counted), nothing else. At EOF
 * it prints "snapshots=N overlapping=M busy=B" (M: snapshots during which
 * the segment's fold_seq moved, i.e. that raced with a fold) and exits 0;
 * on the first wrong snapshot it says why on stderr and exits 1; on any
 * other failure, 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "layout.h"

static int find(const shmstat_snap *s, const char *name, struct shmstat_metric_info *mi)
{
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++)
		if (shmstat_snap_metric(s, i, mi) == 0 && strcmp(mi->name, name) == 0 &&
		    mi->labels[0] == '\0')
			return 1;
	return 0;
}

static int stdin_closed(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return read(0, &c, 1) <= 0;
}

int main(int argc, char **argv)
{
	const char *name, *cname, *gname;
	const struct shmstat_hdr *h;
	uint64_t value, snaps = 0, overlap = 0, busy = 0, prev_c = 0;
	int64_t prev_g = INT64_MIN;
	shmstat_reader *r;
	struct stat st;
	char path[256];
	int exact, fd;

	if (argc != 6 || (strcmp(argv[4], "exact") != 0 && strcmp(argv[4], "mono") != 0)) {
		fprintf(stderr, "usage: stress_reader NAME COUNTER GAUGE exact|mono VALUE\n");
		return 2;
	}
	name = argv[1];
	cname = argv[2];
	gname = argv[3];
	exact = strcmp(argv[4], "exact") == 0;
	value = strtoull(argv[5], NULL, 10);
	if (shmstat_reader_open(name, &r) != 0) {
		fprintf(stderr, "stress_reader: %s\n", shmstat_last_error());
		return 2;
	}
	snprintf(path, sizeof(path), "/shmstat.%s", name);
	fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0 || fstat(fd, &st) != 0)
		return 2;
	h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return 2;
	close(fd);

	while (!stdin_closed()) {
		struct shmstat_metric_info mc, mg;
		uint64_t seq0 = __atomic_load_n(&h->fold_seq, __ATOMIC_ACQUIRE);
		shmstat_snap *s;
		int err = shmstat_snapshot(r, &s);
		int hc, hg;

		if (__atomic_load_n(&h->fold_seq, __ATOMIC_ACQUIRE) != seq0)
			overlap++;
		if (snaps++ == 0 && (fputs("ready\n", stdout) == EOF || fflush(stdout) != 0))
			return 2;
		if (err == SHMSTAT_EBUSY) {
			busy++;
			continue;
		}
		if (err) {
			fprintf(stderr, "stress_reader: snapshot %" PRIu64 ": %s\n", snaps,
				shmstat_last_error());
			return 2;
		}
		hc = find(s, cname, &mc);
		hg = find(s, gname, &mg);
		if (exact && (!hc || !hg || mc.counter != value || mg.gauge != (int64_t)value)) {
			fprintf(stderr, "stress_reader: snapshot %" PRIu64 ": %s=%" PRIu64
				" %s=%" PRId64 ", expected %" PRIu64 " (fold_seq %" PRIu64 ")\n",
				snaps, cname, hc ? mc.counter : 0, gname, hg ? mg.gauge : 0,
				value, seq0);
			return 1;
		}
		if (!exact && hc) {
			if (mc.counter < prev_c || mc.counter > value) {
				fprintf(stderr, "stress_reader: snapshot %" PRIu64 ": %s=%" PRIu64
					" after %" PRIu64 " (final %" PRIu64 ")\n",
					snaps, cname, mc.counter, prev_c, value);
				return 1;
			}
			prev_c = mc.counter;
		}
		if (!exact && hg) {
			if (mg.gauge < prev_g || mg.gauge > (int64_t)value) {
				fprintf(stderr, "stress_reader: snapshot %" PRIu64 ": %s=%" PRId64
					" after %" PRId64 " (final %" PRIu64 ")\n",
					snaps, gname, mg.gauge, prev_g, value);
				return 1;
			}
			prev_g = mg.gauge;
		}
		shmstat_snap_free(s);
	}
	shmstat_reader_close(r);
	printf("snapshots=%" PRIu64 " overlapping=%" PRIu64 " busy=%" PRIu64 "\n", snaps,
	       overlap, busy);
	return 0;
}
