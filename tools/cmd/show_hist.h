/*
 * show_hist.h - shmstat show on a history file (show_hist.c).
 */
#ifndef SHMSTAT_SHOW_HIST_H
#define SHMSTAT_SHOW_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmstat_history.h"

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

/* A key of a signature table over a window: the hits it gained, as
 * bounds (window_keys_of). */
struct frames;
struct wkey {
	struct shmstat_sigkey k;   /* as the window's last record has it */
	uint64_t lo, hi;           /* hits gained: at least, at most */
};

/* The keys of table series @s that gained the most over the frames @fr
 * (from the first to the last), by the gain surely made (lo), up to @max
 * into @w: how many. */
size_t window_keys_of(const struct frames *fr, const struct shmstat_series *s, struct wkey *w,
		      size_t max);

/* A signature table's figures as show prints them, live or from a
 * record: "hits=H misses=M hit_ratio=R weight=W evictions=E
 * max_error=X" (the weight in @unit; @raw: exact), into @buf. */
void fmt_sig_figs(char *buf, size_t n, uint64_t hits, uint64_t misses, uint64_t weight,
		  uint64_t evictions, uint64_t max_error, const char *unit, int raw);

/* Print what @o asks to @o->out; an exit status. */
int show_history(const struct show_hist *o);

#endif
