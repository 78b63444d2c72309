/*
 * shmstat.c - the reader tool: main and the table of commands, one file
 * each in tools/cmd/; what they share is in cli.c.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"

static const struct cmd commands[] = {
	{ "list", cmd_list, cmd_list_usage, "list the segments on this host", 0 },
	{ "show", cmd_show, cmd_show_usage, "print every metric of a segment once", 0 },
	{ "hist", cmd_hist, cmd_hist_usage, "percentiles and distribution of a histogram", 0 },
	{ "top",  cmd_top,  cmd_top_usage,  "most reused signatures, cost per owner", 0 },
	{ "watch", cmd_watch, cmd_watch_usage, "a live view: values, rates, ratios, quantiles", 1 },
	{ "gc",   cmd_gc,   cmd_gc_usage,   "reap the slots of dead writers", 0 },
	{ "rm",   cmd_rm,   cmd_rm_usage,   "remove a segment", 0 },
	{ "record", cmd_record, cmd_record_usage, "keep snapshots of a segment in a history file", 0 },
	{ "trend", cmd_trend, cmd_trend_usage, "a figure of a metric over a window, and its trend", 0 },
	{ "check", cmd_check, cmd_check_usage, "evaluate alert rules: OK, WARNING, CRITICAL, UNKNOWN", 0 },
	{ "serve", cmd_serve, cmd_serve_usage, "a Prometheus exporter over HTTP", 0 },
	{ "flame", cmd_flame, cmd_flame_usage, "sampled stacks: folded text or a flame-graph SVG", 0 },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char main_usage[] =
	"usage: shmstat [--owner USER]... COMMAND [ARGS]\n"
	"       shmstat help [COMMAND]\n"
	"       shmstat --version | version\n"
	"  --owner USER: also read segments owned by USER (a name or a uid),\n"
	"  for instance segments of mode 0640 read by their group; without it\n"
	"  a segment owned by another user than this one or root is refused.\n"
	"  Options of a command may come before, between or after its operands;\n"
	"  '--' ends them.\n";

/* "shmstat 0.1.0 (segment format 4.4)" */
static int print_version(void)
{
	unsigned major, minor;

	shmstat_format_version(&major, &minor);
	printf("shmstat %s (segment format %u.%u)\n", shmstat_version(), major, minor);
	return EXIT_OK;
}

static void print_commands(FILE *f)
{
	fputs(main_usage, f);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fputs("\nexit status: 0 ok, 1 error, 2 usage error (check: 0 ok, 1 warning,\n"
	      "2 critical, 3 unknown)\n", f);
}

static const struct cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* --owner USER: a user name or a uid, added to the reader options. */
static int add_owner(const char *user)
{
	struct passwd pwd, *pw = NULL;
	char buf[4096];
	unsigned long long v = 0;
	uid_t uid;
	char *end = NULL;

	if (getpwnam_r(user, &pwd, buf, sizeof(buf), &pw) != 0)
		pw = NULL;
	if (pw == NULL) {
		errno = 0;
		if (user[0] >= '0' && user[0] <= '9')
			v = strtoull(user, &end, 10);
		uid = (uid_t)v;
		if (end == NULL || end == user || *end || errno || uid != v || uid == (uid_t)-1)
			return usage_error(main_usage, "owner '%s' is neither a user nor a uid",
					   user);
	} else {
		uid = pw->pw_uid;
	}
	if (reader_opts.nowners == SHMSTAT_READER_MAX_OWNERS)
		return usage_error(main_usage, "at most %d owners (--owner)",
				   SHMSTAT_READER_MAX_OWNERS);
	reader_opts.owners[reader_opts.nowners++] = uid;
	return EXIT_OK;
}

/*
 * What a command printed must have reached stdout: a write that failed
 * (a full disk, ENOSPC; a closed stdout, EBADF; EIO) is an error, not
 * exit 0 with the output cut short or missing. stdio keeps what it could
 * not write, so the last fflush() fails again and errno says why. @code:
 * the exit status for it (1; check's is 3, UNKNOWN); @rc: the command's.
 */
static int stdout_written(int rc, int code)
{
	int e = fflush(stdout) == 0 ? 0 : errno;

	if (e == 0 && !ferror(stdout))
		return rc;
	/* said even after another error (list's exit 1 for a segment it
	 * cannot read), but once: flame and show --json say it themselves */
	if (!stdout_error_said && e != 0)
		(void)die(code, "cannot write standard output: %s", strerror(e));
	else if (!stdout_error_said)
		(void)die(code, "cannot write standard output");
	/* check's WARNING or CRITICAL of an output lost is UNKNOWN */
	return rc < code ? code : rc;
}

static int run(int argc, char **argv, const struct cmd **ran)
{
	const struct cmd *c;

	shmstat_reader_opts_init(&reader_opts);
	/* options of every command, before it */
	while (argc > 1 && strncmp(argv[1], "--owner", 7) == 0 &&
	       (argv[1][7] == '\0' || argv[1][7] == '=')) {
		const char *user = argv[1][7] == '=' ? argv[1] + 8 : argc > 2 ? argv[2] : NULL;
		int shift = argv[1][7] == '=' ? 1 : 2, e;

		if (user == NULL)
			return usage_error(main_usage, "option '--owner' needs a value");
		e = add_owner(user);
		if (e != EXIT_OK)
			return e;
		argv[shift] = argv[0];
		argv += shift;
		argc -= shift;
	}
	if (argc < 2) {
		print_commands(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		print_commands(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
		return argc == 2 ? print_version()
				 : usage_error(main_usage, "'%s' takes no arguments", argv[1]);
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			print_commands(stdout);
			return EXIT_OK;
		}
		c = find(argv[2]);
		if (c == NULL)
			return usage_error(main_usage, "unknown command '%s'", argv[2]);
		fputs(c->usage, stdout);
		return EXIT_OK;
	}
	c = find(argv[1]);
	if (c == NULL)
		return usage_error(main_usage, "unknown command '%s'", argv[1]);
	if (want_help(argc - 1, argv + 1, c->usage, c->h_number))
		return EXIT_OK;
	*ran = c;
	return c->fn(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const struct cmd *c = NULL;
	int rc = run(argc, argv, &c);

	return stdout_written(rc, c && c->fn == cmd_check ? 3 : EXIT_ERR);
}
