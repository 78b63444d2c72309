/*
 * gc.c - shmstat gc: reap the slots of writers that died.
 */
#include <stdio.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "cli.h"
#include "cmd.h"

const char cmd_gc_usage[] =
	"usage: shmstat gc [--profiles] NAME\n"
	"  Reap the slots of writer processes of segment NAME that died without\n"
	"  detaching: their values move to the exited-writers totals and their\n"
	"  stripes become free for new threads. With --profiles, also free the\n"
	"  sampled stacks and module records of processes that no longer run\n"
	"  (their profiles are lost; see shmstat flame). Needs write access\n"
	"  (owner).\n";

int cmd_gc(int argc, char **argv)
{
	unsigned reaped = 0;
	uint64_t stacks = 0, modules = 0;
	const char *name = NULL;
	int profiles = 0;

	for (int k = 1; k < argc; k++) {
		if (argv[k][0] == '-') {
			if (strcmp(argv[k], "--profiles") != 0)
				return usage_error(cmd_gc_usage, "unknown option '%s'", argv[k]);
			profiles = 1;
		} else if (name) {
			return usage_error(cmd_gc_usage, "too many arguments");
		} else {
			name = argv[k];
		}
	}
	if (name == NULL)
		return usage_error(cmd_gc_usage, "segment name is missing");
	if (shmstat_gc(name, &reaped) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	printf("reaped %u dead writer%s\n", reaped, reaped == 1 ? "" : "s");
	if (profiles) {
		if (shmstat_profile_gc(name, &stacks, &modules) != 0)
			return die(EXIT_ERR, "%s", shmstat_last_error());
		printf("freed %llu stack entr%s and %llu module record%s of gone processes\n",
		       (unsigned long long)stacks, stacks == 1 ? "y" : "ies",
		       (unsigned long long)modules, modules == 1 ? "" : "s");
	}
	return EXIT_OK;
}
