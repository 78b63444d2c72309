/*
 * rm.c - shmstat rm: remove segments.
 */
#include <stdio.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"

const char cmd_rm_usage[] =
	"usage: shmstat rm [--] NAME...\n"
	"  Remove segments. Attached processes keep their mapping until they\n"
	"  detach; the name can be created anew at once. After '--' a name may\n"
	"  start with '-'.\n";

int cmd_rm(int argc, char **argv)
{
	int rc = EXIT_OK, names = 0, dashdash = 0;

	/* no options: '-x' is refused wherever it is, until '--' */
	for (int i = 1; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0)
			dashdash = 1;
		else if (!dashdash && argv[i][0] == '-')
			return usage_error(cmd_rm_usage, "unknown option '%s'", argv[i]);
		else
			names++;
	}
	if (names == 0)
		return usage_error(cmd_rm_usage, "segment name is missing");
	dashdash = 0;
	for (int i = 1; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (shmstat_unlink(argv[i]) != 0)
			rc = die(EXIT_ERR, "%s", shmstat_last_error());
	}
	return rc;
}
