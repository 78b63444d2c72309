/*
 * rm.c - shmstat rm: remove segments.
 */
#include <stdio.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"

const char cmd_rm_usage[] =
	"usage: shmstat rm NAME...\n"
	"  Remove segments. Attached processes keep their mapping until they\n"
	"  detach; the name can be created anew at once.\n";

int cmd_rm(int argc, char **argv)
{
	int rc = EXIT_OK;

	if (argc < 2)
		return usage_error(cmd_rm_usage, "segment name is missing");
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return usage_error(cmd_rm_usage, "unknown option '%s'", argv[i]);
	}
	for (int i = 1; i < argc; i++)
		if (shmstat_unlink(argv[i]) != 0)
			rc = die(EXIT_ERR, "%s", shmstat_last_error());
	return rc;
}
