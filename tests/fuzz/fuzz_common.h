/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz share: the
 * entry points, a shmstat command run as from the command line (its
 * output thrown away), and a per-process name for the files they write.
 * See docs/fuzzing.md.
 */
#ifndef SHMSTAT_FUZZ_COMMON_H
#define SHMSTAT_FUZZ_COMMON_H

#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The tool's commands (tools/cmd/cmd.h); the tool's main() is renamed when
 * tools/shmstat.c is compiled into a harness. */
int cmd_show(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_trend(int argc, char **argv);
int cmd_flame(int argc, char **argv);

/* "TAG-PID": TAG from $SHMSTAT_FUZZ_TAG (tests/fuzz/run.sh sets one per
 * run, to remove what a killed harness leaves), default "fuzz". */
static inline void fuzz_name(char *buf, size_t n)
{
	const char *tag = getenv("SHMSTAT_FUZZ_TAG");

	snprintf(buf, n, "%s-%d", tag && *tag ? tag : "fuzz", (int)getpid());
}

/* Commands print on stdout: to /dev/null, unless $SHMSTAT_FUZZ_VERBOSE
 * is set (to look at what a seed renders). */
static inline void fuzz_quiet_stdout(void)
{
	int fd;

	if (getenv("SHMSTAT_FUZZ_VERBOSE"))
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		fflush(stdout);
		dup2(fd, 1);
		close(fd);
	}
}

/* Run tool command @fn with the NULL-terminated @args (args[0] is the
 * command's name), as main() would; getopt starts over. */
static inline int fuzz_cmd(int (*fn)(int, char **), const char *const *args)
{
	char *argv[32];
	int argc = 0, rc;

	while (args[argc] && argc < 31) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	optind = 0;             /* glibc: start over */
	rc = fn(argc, argv);
	fflush(stdout);
	return rc;
}

#endif
