/*
 * hist_script.c - cli_hist_script: a writer and a history recorder on a
 * synthetic clock, moved by a script on stdin, one command a line:
 *   open SEG | close | unlink SEG        the segment (create or attach)
 *   c NAME N                             counter NAME += N
 *   g NAME V                             gauge NAME = V (last)
 *   h NAME V N                           histogram NAME: value V, N times
 *   s NAME KEY W OWNER | m NAME KEY OWNER  signature table hit / miss
 *                                        (OWNER - : none)
 *   rm NAME                              remove metric NAME
 *   hcreate FILE STEP:SPAN,... [BYTES]   the history (seconds)
 *   app T | appns NS                     append a snapshot taken "at" T
 *                                        (Unix seconds) or NS
 *   hrestart | hclose
 * Prints "app T TIERS" for each append, "ERR ..." for a failed command.
 * Every record's instant is the script's, so a test knows each window's
 * exact figures without depending on how long anything took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "shmstat.h"
#include "shmstat_history.h"

static shmstat_seg *seg;
static shmstat_reader *rd;
static char segname[256];
static shmstat_history *hh;

#define MAXM 256
struct m { char name[128]; char lk[32], lv[32]; int type; void *h; } ms[MAXM];
static int nm;

static void *get(const char *name, const char *lk, const char *lv, int type)
{
	for (int i = 0; i < nm; i++)
		if (strcmp(ms[i].name, name) == 0 && ms[i].type == type && strcmp(ms[i].lk, lk ? lk : "") == 0 && strcmp(ms[i].lv, lv ? lv : "") == 0)
			return ms[i].h;
	struct m *x = &ms[nm++];
	snprintf(x->name, sizeof x->name, "%s", name);
	snprintf(x->lk, sizeof x->lk, "%s", lk ? lk : "");
	snprintf(x->lv, sizeof x->lv, "%s", lv ? lv : "");
	x->type = type;
	const char *labels[3] = { lk, lv, NULL };
	struct shmstat_metric_def d = { .name = x->name, .labels = lk ? labels : NULL, .help = "h", .unit = type == 3 ? "ns" : NULL };
	int rc = 0;
	if (type == 1) rc = shmstat_counter_register(seg, &d, (shmstat_counter **)&x->h);
	if (type == 2) rc = shmstat_gauge_register(seg, &d, SHMSTAT_AGG_LAST, (shmstat_gauge **)&x->h);
	if (type == 3) rc = shmstat_hist_register(seg, &d, NULL, (shmstat_hist **)&x->h);
	if (type == 4) {
		struct shmstat_sigtab_opts o; shmstat_sigtab_opts_init(&o); o.capacity = 64; o.summaries = 2; o.owners = 8;
		rc = shmstat_sigtab_register(seg, &d, &o, (shmstat_sigtab **)&x->h);
	}
	if (rc) { fprintf(stderr, "register %s: %s\n", name, shmstat_last_error()); exit(1); }
	return x->h;
}

int main(void)
{
	char line[1024];
	while (fgets(line, sizeof line, stdin)) {
		char a[8][256] = {{0}};
		int n = sscanf(line, "%255s %255s %255s %255s %255s %255s", a[0], a[1], a[2], a[3], a[4], a[5]);
		if (n <= 0 || a[0][0] == '#') continue;
		int rc = 0;
		if (strcmp(a[0], "open") == 0) {
			struct shmstat_opts o; shmstat_opts_init(&o); o.max_stacks = 0; o.sig_bytes = 1 << 20;
			snprintf(segname, sizeof segname, "%s", a[1]);
			rc = shmstat_open(a[1], &o, &seg); nm = 0;
			if (!rc) { if (rd) shmstat_reader_close(rd); rd = NULL; }
		} else if (strcmp(a[0], "close") == 0) { shmstat_close(seg); seg = NULL; nm = 0; }
		else if (strcmp(a[0], "unlink") == 0) rc = shmstat_unlink(a[1]);
		else if (strcmp(a[0], "c") == 0) shmstat_counter_add(get(a[1], NULL, NULL, 1), strtoull(a[2], 0, 10));
		else if (strcmp(a[0], "cl") == 0) shmstat_counter_add(get(a[1], a[2], a[3], 1), strtoull(a[4], 0, 10));
		else if (strcmp(a[0], "g") == 0) shmstat_gauge_set(get(a[1], NULL, NULL, 2), strtoll(a[2], 0, 10));
		else if (strcmp(a[0], "h") == 0) shmstat_hist_record_n(get(a[1], NULL, NULL, 3), strtoull(a[2], 0, 10), strtoull(a[3], 0, 10));
		else if (strcmp(a[0], "s") == 0 || strcmp(a[0], "m") == 0) {
			shmstat_sigtab *t = get(a[1], NULL, NULL, 4);
			const char *ow = a[0][0] == 's' ? a[4] : a[3];
			uint32_t id = 0;
			if (strcmp(ow, "-") != 0) rc = shmstat_sig_owner(t, ow, &id);
			if (a[0][0] == 's') shmstat_sig_hit(t, a[2], strlen(a[2]), strtoull(a[3], 0, 10), id);
			else shmstat_sig_miss(t, a[2], strlen(a[2]), id);
		} else if (strcmp(a[0], "rm") == 0) {
			struct shmstat_metric_def d = { .name = a[1] };
			rc = shmstat_remove(seg, &d);
			for (int i = 0; i < nm; i++) if (strcmp(ms[i].name, a[1]) == 0) { ms[i] = ms[--nm]; i--; }
		} else if (strcmp(a[0], "hcreate") == 0) {
			struct shmstat_history_opts o; shmstat_history_opts_init(&o);
			unsigned k = 0; char *p = a[2];
			while (*p && k < 8) {
				double st = strtod(p, &p); p++; double sp = strtod(p, &p);
				o.tier[k].step_ns = (uint64_t)(st * 1e9); o.tier[k].span_ns = (uint64_t)(sp * 1e9); k++;
				if (*p == ',') p++;
			}
			o.ntiers = k;
			if (a[3][0]) o.max_bytes = strtoull(a[3], 0, 10);
			rc = shmstat_history_create(a[1], &o, &hh);
			if (!rc) rc = shmstat_history_set_segment(hh, segname);
		} else if (strcmp(a[0], "app") == 0 || strcmp(a[0], "appns") == 0) {
			uint64_t t = strcmp(a[0], "app") == 0 ? strtoull(a[1], 0, 10) * 1000000000ull : strtoull(a[1], 0, 10);
			if (!rd) rc = shmstat_reader_open(segname, &rd);
			shmstat_snap *s = NULL;
			if (!rc) rc = shmstat_snapshot(rd, &s);
			if (rc == SHMSTAT_ERECREATED) { shmstat_reader_close(rd); rd = NULL; rc = shmstat_reader_open(segname, &rd); if (!rc) rc = shmstat_snapshot(rd, &s); }
			unsigned w = 0;
			if (!rc) rc = shmstat_history_append(hh, s, t, &w);
			if (s) shmstat_snap_free(s);
			if (!rc) printf("app %s %u\n", a[1], w);
		} else if (strcmp(a[0], "hrestart") == 0) rc = shmstat_history_restart(hh);
		else if (strcmp(a[0], "hclose") == 0) { shmstat_history_close(hh); hh = NULL; }
		else if (strcmp(a[0], "quiesce") == 0) rc = shmstat_quiesce(seg);
		else { fprintf(stderr, "bad cmd %s\n", a[0]); return 2; }
		if (rc) { printf("ERR %s: %d %s\n", a[0], rc, shmstat_last_error()); fflush(stdout); }
	}
	if (hh) shmstat_history_close(hh);
	if (rd) shmstat_reader_close(rd);
	if (seg) shmstat_close(seg);
	return 0;
}
