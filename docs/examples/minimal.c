/*
 * minimal.c - the smallest program that writes and reads a metric, built
 * against an installed libshmstat:
 *
 *   cc minimal.c $(pkg-config --cflags --libs shmstat) -o minimal
 *
 * tests/install/install.sh builds it that way after `meson install`.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include <shmstat.h>

int main(void)
{
	char name[64];
	struct shmstat_metric_def def = { .name = "minimal_events_total" };
	shmstat_seg *seg;
	shmstat_counter *events;
	shmstat_reader *r;
	shmstat_snap *s;
	struct shmstat_metric_info m;

	snprintf(name, sizeof(name), "minimal-%ld", (long)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &def, &events) != 0) {
		fprintf(stderr, "minimal: %s\n", shmstat_last_error());
		return 1;
	}
	for (int i = 0; i < 42; i++)
		shmstat_counter_inc(events);
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_metric(s, 0, &m) != 0) {
		fprintf(stderr, "minimal: %s\n", shmstat_last_error());
		return 1;
	}
	printf("%s %llu\n", m.name, (unsigned long long)m.counter);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	return m.counter == 42 ? 0 : 1;
}
