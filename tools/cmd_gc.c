/*
 * cmd_gc.c - shmstat gc: reap the slots of writers that died.
 */
#include <stdio.h>

#include "shmstat.h"
#include "cmd.h"

const char cmd_gc_usage[] =
	"usage: shmstat gc NAME\n"
	"  Reap the slots of writer processes of segment NAME that died without\n"
	"  detaching: their values move to the exited-writers totals and their\n"
	"  stripes become free for new threads. Needs write access (owner).\n";

int cmd_gc(int argc, char **argv)
{
	unsigned reaped = 0;

	if (argc != 2)
		return usage_error(cmd_gc_usage, argc < 2 ? "segment name is missing"
							  : "too many arguments");
	if (argv[1][0] == '-')
		return usage_error(cmd_gc_usage, "unknown option '%s'", argv[1]);
	if (shmstat_gc(argv[1], &reaped) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	printf("reaped %u dead writer%s\n", reaped, reaped == 1 ? "" : "s");
	return EXIT_OK;
}
