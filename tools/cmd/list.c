/*
 * list.c - shmstat list: the segments on this host.
 */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "units.h"

const char cmd_list_usage[] =
	"usage: shmstat list\n"
	"  List the shmstat segments in /dev/shm: name, owner, mode, size,\n"
	"  writers alive/dead, creation time and generation. Segments of every\n"
	"  owner are listed; the other commands read only those of this user,\n"
	"  root and the --owner users.\n";

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void owner_name(char *buf, size_t n, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)uid);
}

int cmd_list(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = EXIT_OK;

	(void)argv;
	if (argc > 1)
		return usage_error(cmd_list_usage, "list takes no arguments");
	d = opendir("/dev/shm");
	if (d == NULL)
		return die(EXIT_ERR, "cannot read /dev/shm");
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "shmstat.", 8) != 0 || e->d_name[8] == '\0')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));

			if (nn == NULL)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name + 8);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	/* every owner: the list says whose each segment is */
	reader_opts.any_owner = 1;
	printf("%-24s %-10s %-5s %10s %8s  %-19s  %s\n",
	       "NAME", "OWNER", "MODE", "SIZE", "WRITERS", "CREATED", "GENERATION");
	for (size_t i = 0; i < n; i++) {
		shmstat_reader *r;
		shmstat_snap *s;
		struct shmstat_seg_info info;
		char owner[32], size[32], created[32], writers[32], shown[1024];

		if (open_snapshot(names[i], &r, &s) != EXIT_OK) {
			rc = EXIT_ERR;          /* said why; go on with the others */
			free(names[i]);
			continue;
		}
		shmstat_snap_info(s, &info);
		owner_name(owner, sizeof(owner), info.uid);
		fmt_fig_u64(size, sizeof(size), info.size, "bytes", 0);
		fmt_time(created, sizeof(created), info.created_ns);
		snprintf(writers, sizeof(writers), "%u/%u", info.writers_alive, info.writers_dead);
		printf("%-24s %-10s %04o  %10s %8s  %-19s  %016llx\n",
		       text_safe(shown, sizeof(shown), names[i]), owner,
		       (unsigned)info.mode, size, writers, created,
		       (unsigned long long)info.generation);
		shmstat_snap_free(s);
		shmstat_reader_close(r);
		free(names[i]);
	}
	free(names);
	return rc;
}
