/*
 * hostile_fill.c - a writer that tries to inject series into the
 * expositions and escape sequences into the operator's terminal (issue
 * 17 item 3 and 8), for tests/cli/inject.sh.
 *
 *   cli_hostile NAME
 *
 * Through the API (the writer accepts these; readers must escape them):
 *   hx_api_total{v="\"\n# EOF\ninjected_total{segment=\"victim\"} 1"} 1
 *   hx_ctl_total{v="ESC[2J BEL CR"} 2         help with ESC, \ and "
 *   hx_seg_total{segment="victim"} 8          serve adds segment= too
 *   hx_sigs: owner and keys with ESC, BEL, a quote, a newline and the
 *            bytes 0x9c 0xff (not UTF-8); owners "twin-<0xff>" and
 *            "twin-\\xff" (the text), one series each
 * Then descriptors rewritten in the file (checksum fixed), as a writer
 * that bypasses the API does; readers must leave them out as bad:
 *   labels with a raw newline and quote (the injection), labels that are
 *   not UTF-8, a name that is not a metric name, help that is not UTF-8.
 * Prints the number of forged descriptors, detaches, exits.
 *
 *   cli_hostile NAME clash
 *
 * Metrics whose exported names clash (the library takes them all): a
 * counter named _total; gauge g in ns (g_seconds) and gauge g_seconds;
 * counters c and c_total; histogram h and gauge h_count; signature table
 * t (labelled with the labels its samples add: cut, hash, key, owner)
 * and counter t_hits_total; counter req and gauge req_created; a gauge
 * shmstat_segment_up (the exporter's own). Detaches, exits.
 *
 *   cli_hostile NAME long
 *
 * hx_long_total{v="<200 ESC>"} 4, whose name{labels} printed escaped
 * (\x1b for each ESC: 812 bytes) is longer than 511 bytes, and
 * hx_short_total 1; with the same labels a histogram hx_long_hist (one
 * value, 100) and a signature table hx_long_sigs (one hit of key "k"),
 * then a table hx_b_sigs without labels (one hit of key "a"), which the
 * directory holds after hx_long_sigs (their slots by hash). Detaches,
 * exits.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "layout.h"

#define INJECT "\"\n# EOF\ninjected_total{segment=\"victim\"} 1\n"

static int reg_unit(shmstat_seg *seg, const char *name, const char *const *labels,
		    const char *help, const char *unit, uint64_t v)
{
	struct shmstat_metric_def d = { .name = name, .labels = labels, .help = help, .unit = unit };
	shmstat_counter *c;
	int err = shmstat_counter_register(seg, &d, &c);

	if (err == 0)
		shmstat_counter_add(c, v);
	else
		fprintf(stderr, "cli_hostile: %s: %s\n", name, shmstat_last_error());
	return err;
}

static int reg(shmstat_seg *seg, const char *name, const char *const *labels, const char *help,
	       uint64_t v)
{
	return reg_unit(seg, name, labels, help, NULL, v);
}

static int gauge(shmstat_seg *seg, const char *name, const char *unit, int64_t v)
{
	struct shmstat_metric_def d = { .name = name, .help = "clash", .unit = unit };
	shmstat_gauge *g;
	int err = shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g);

	if (err == 0)
		shmstat_gauge_set(g, v);
	return err;
}

/* long: a name{labels} of 812 bytes once escaped */
static int long_labels(shmstat_seg *seg)
{
	char v[201];
	int err;

	memset(v, 0x1b, 200);
	v[200] = '\0';
	err = reg(seg, "hx_long_total", (const char *[]){ "v", v, NULL }, "long", 4);
	err |= reg(seg, "hx_short_total", NULL, "short", 1);
	{
		const char *const l[] = { "v", v, NULL };
		struct shmstat_metric_def hd = { .name = "hx_long_hist", .labels = l },
					  td = { .name = "hx_long_sigs", .labels = l };
		shmstat_hist *h;
		shmstat_sigtab *t;

		err |= shmstat_hist_register(seg, &hd, NULL, &h);
		shmstat_hist_record(h, 100);
		err |= shmstat_sigtab_register(seg, &td, NULL, &t);
		shmstat_sig_hit(t, "k", 1, 1, 0);
		/* registered after, named before: top lists tables by name
		 * (small: two default tables take more than the default room) */
		struct shmstat_sigtab_opts so;

		shmstat_sigtab_opts_init(&so);
		so.capacity = 16;
		so.summaries = 1;
		td = (struct shmstat_metric_def){ .name = "hx_b_sigs" };
		err |= shmstat_sigtab_register(seg, &td, &so, &t);
		shmstat_sig_hit(t, "a", 1, 1, 0);
	}
	shmstat_close(seg);
	return err ? 1 : 0;
}

/* clash: each pair in the order of the exposition, the first kept */
static int clash(shmstat_seg *seg)
{
	/* t's labels are those its samples add (cut, hash, key, owner):
	 * renamed exported_LABEL, none twice in a sample */
	static const char *const tl[] = { "cut", "c", "hash", "h", "key", "k", "owner", "o", NULL };
	struct shmstat_metric_def hd = { .name = "h", .help = "clash" },
				  td = { .name = "t", .labels = tl };
	shmstat_hist *h;
	shmstat_sigtab *t;
	int err = 0;

	err |= reg(seg, "_total", NULL, "a counter named _total", 1);
	err |= gauge(seg, "g", "ns", 4000000000);
	err |= gauge(seg, "g_seconds", NULL, 3);
	err |= reg(seg, "c", NULL, "clash", 1);
	err |= reg(seg, "c_total", NULL, "clash", 2);
	err |= shmstat_hist_register(seg, &hd, NULL, &h);
	if (err == 0) {
		shmstat_hist_record(h, 5);
		shmstat_hist_record(h, 3000000);
	}
	err |= gauge(seg, "h_count", NULL, 77);
	err |= shmstat_sigtab_register(seg, &td, NULL, &t);
	if (err == 0)
		shmstat_sig_hit(t, "k", 1, 1, 0);
	err |= reg(seg, "t_hits_total", NULL, "clash", 9);
	err |= reg(seg, "req", NULL, "clash", 1);
	err |= gauge(seg, "req_created", NULL, 5);
	err |= gauge(seg, "shmstat_segment_up", NULL, 1);
	if (err)
		fprintf(stderr, "cli_hostile: %s\n", shmstat_last_error());
	shmstat_close(seg);
	return err ? 1 : 0;
}

/* Rewrite the descriptor named @name: its name, labels or help (NULL:
 * kept) to the raw bytes given, the checksum fixed. */
static int forge(int fd, const struct shmstat_hdr *h, const char *name, const char *nname,
		 const char *labels, const char *help)
{
	for (uint32_t i = 0; i < h->max_metrics; i++) {
		struct shmstat_desc d;
		off_t off = (off_t)(h->regions[SHMSTAT_REG_DESCS].off + (uint64_t)i * sizeof(d));

		if (pread(fd, &d, sizeof(d), off) != (ssize_t)sizeof(d))
			return -1;
		if (SHMSTAT_DESC_STATE(d.word) != SHMSTAT_DESC_LIVE || strcmp(d.name, name) != 0)
			continue;
		if (nname)
			snprintf(d.name, sizeof(d.name), "%s", nname);
		if (labels)
			snprintf(d.labels, sizeof(d.labels), "%s", labels);
		if (help)
			snprintf(d.help, sizeof(d.help), "%s", help);
		d.sum = XXH3_64bits((const unsigned char *)&d + SHMSTAT_DESC_SUM_FROM,
				    sizeof(d) - SHMSTAT_DESC_SUM_FROM);
		return pwrite(fd, &d, sizeof(d), off) == (ssize_t)sizeof(d) ? 0 : -1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const char *const keys[] = {
		"k-esc-\x1b[2J-bel-\x07", "k-bad-\x9c\xff-utf8", "k-inject" INJECT, "k-plain",
	};
	struct shmstat_metric_def sd = { .name = "hx_sigs", .help = "sig \x1b[31m red" };
	struct shmstat_sigtab_opts so;
	struct shmstat_hdr h;
	shmstat_sigtab *t;
	shmstat_seg *seg;
	uint32_t owner = 0, twin = 0;
	char path[300];
	int err = 0, fd;

	if (argc != 2 && (argc != 3 || (strcmp(argv[2], "clash") != 0 &&
					strcmp(argv[2], "long") != 0))) {
		fputs("usage: cli_hostile NAME [clash|long]\n", stderr);
		return 2;
	}
	if (shmstat_open(argv[1], NULL, &seg) != 0) {
		fprintf(stderr, "cli_hostile: %s\n", shmstat_last_error());
		return 1;
	}
	if (argc == 3)
		return strcmp(argv[2], "long") == 0 ? long_labels(seg) : clash(seg);
	err |= reg(seg, "hx_ok_total", NULL, "a plain counter", 7);
	err |= reg(seg, "hx_api_total", (const char *[]){ "v", INJECT, NULL }, "api", 1);
	err |= reg(seg, "hx_ctl_total", (const char *[]){ "v", "\x1b[2J\x07\r", NULL },
		   "help \x1b[2J\x07 back\\slash \"quoted\"", 2);
	/* a label the exporter adds too */
	err |= reg(seg, "hx_seg_total", (const char *[]){ "segment", "victim", NULL }, "seg", 8);
	err |= reg(seg, "hx_f1_total", (const char *[]){ "v", "x", NULL }, "forged", 3);
	err |= reg(seg, "hx_f2_total", (const char *[]){ "v", "x", NULL }, "forged", 4);
	err |= reg(seg, "hx_f3_total", NULL, "forged", 5);
	err |= reg(seg, "hx_f4_total", NULL, "forged", 6);
	err |= reg(seg, "hx_f5_total", (const char *[]){ "v", "x", NULL }, "forged", 7);
	/* two descriptors of one metric and labels (the second renamed) */
	err |= reg(seg, "hx_dup_total", (const char *[]){ "v", "x", NULL }, "dup", 11);
	err |= reg(seg, "hx_dupb_total", (const char *[]){ "v", "x", NULL }, "dup", 12);
	shmstat_sigtab_opts_init(&so);
	so.capacity = 16;
	err |= shmstat_sigtab_register(seg, &sd, &so, &t);
	if (err == 0)
		err |= shmstat_sig_owner(t, "own-\x1b[2J\x07-\x9c-" "\"\n# EOF", &owner);
	/* twins once escaped: the byte 0xff, and the text \xff */
	if (err == 0)
		err |= shmstat_sig_owner(t, "twin-\xff", &twin);
	if (err == 0)
		err |= shmstat_sig_owner(t, "twin-\\xff", &twin);
	if (err) {
		fprintf(stderr, "cli_hostile: %s\n", shmstat_last_error());
		return 1;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (int n = 0; n < 5; n++)
			shmstat_sig_hit(t, keys[k], strlen(keys[k]), 1, owner);
	/* keys that differ after a NUL */
	for (int n = 0; n < 5; n++) {
		shmstat_sig_hit(t, "nul\0a", 5, 1, owner);
		shmstat_sig_hit(t, "nul\0b", 5, 1, owner);
	}
	shmstat_close(seg);

	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", argv[1]);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		perror("cli_hostile");
		return 1;
	}
	/* the injection of the finding: a raw newline ends the line */
	err |= forge(fd, &h, "hx_f1_total", NULL, "v=\"x\"} 1\n# EOF\ninjected_total{segment=\"victim\"} 1\nz{v=\"y\"", NULL);
	err |= forge(fd, &h, "hx_f2_total", NULL, "v=\"\x9c\xff\"", NULL);
	err |= forge(fd, &h, "hx_f3_total", "injected_total{segment=\"victim\"}", NULL, NULL);
	err |= forge(fd, &h, "hx_f4_total", NULL, NULL, "help \x9c not utf-8");
	err |= forge(fd, &h, "hx_f5_total", NULL, "v=\"\x1b[2J\",segment=\"victim\"", NULL);
	err |= forge(fd, &h, "hx_dupb_total", "hx_dup_total", NULL, NULL);
	close(fd);
	if (err) {
		fputs("cli_hostile: cannot forge the descriptors\n", stderr);
		return 1;
	}
	printf("5\n");
	return 0;
}
