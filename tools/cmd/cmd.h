/*
 * cmd.h - the shmstat commands, for the command table.
 *
 * Adding a command:
 *   1. write tools/cmd/NAME.c with `int cmd_NAME(int argc, char **argv)`
 *      and its usage string `const char cmd_NAME_usage[]`;
 *   2. add it to the table in tools/shmstat.c and to tools/cmd/meson.build;
 *   3. add CLI tests in tests/cli/ and document it in docs/shmstat.md
 *      (tests/cli/cli.sh checks that it shows every usage string).
 *
 * What the commands share (messages, exit statuses, options, formats) is
 * in cli.h.
 */
#ifndef SHMSTAT_CMD_H
#define SHMSTAT_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "shmstat.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	int h_number;              /* "-h N" (N a number) is an option of the
				    * command, not a request for help */
};

#define DECLARE_CMD(n) \
	int cmd_##n(int argc, char **argv); \
	extern const char cmd_##n##_usage[]

DECLARE_CMD(list);
DECLARE_CMD(show);
DECLARE_CMD(gc);
DECLARE_CMD(hist);
DECLARE_CMD(top);
DECLARE_CMD(watch);
DECLARE_CMD(rm);
DECLARE_CMD(record);
DECLARE_CMD(trend);
DECLARE_CMD(check);
DECLARE_CMD(serve);
DECLARE_CMD(flame);

/* top's JSON (schema shmstat.top/1) of the signature tables of @s (or
 * of @table only) to @f, for top --json and serve's /api/v1/top: how
 * many tables it wrote (by name, then labels, as show lists them; -1:
 * out of memory, nothing written); *@owner_seen 0 when @owner names an
 * owner (not NULL, not "") that none of them has. top_order_parse: "hits",
 * "weight", "recent", "upper" into *@by; -1 when unknown. */
int top_json(FILE *f, const shmstat_snap *s, const char *segment, const char *table,
	     enum shmstat_sig_order by, const char *owner, size_t n, uint64_t hv,
	     int *owner_seen);
int top_order_parse(const char *s, enum shmstat_sig_order *by);

/* show's rates per second of every metric of @s, by index (malloc'd; NaN
 * where none): since each one's creation, or since snapshot @s0 (whose
 * metrics are in name order @order0), made @over_ns before @s on
 * CLOCK_MONOTONIC, when not NULL; NULL: no memory. */
double *metric_rates(const shmstat_snap *s, const shmstat_snap *s0, const size_t *order0,
		     uint64_t over_ns);

#endif
