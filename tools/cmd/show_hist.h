/*
 * show_hist.h - shmstat show on a history file (show_hist.c).
 */
#ifndef SHMSTAT_SHOW_HIST_H
#define SHMSTAT_SHOW_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct show_hist {
	const char *path;
	uint64_t window;           /* 0: no window */
	const char *at;            /* instant, NULL: now */
	const char *range_from, *range_to;  /* --range, or NULL */
	int json, raw;
	char **inc, **exc;
	size_t ninc, nexc;
	FILE *out;                 /* where: stdout for show, a buffer for
				    * serve's /api/v1/range and /window */
};

/* Print what @o asks to @o->out; an exit status. */
int show_history(const struct show_hist *o);

#endif
