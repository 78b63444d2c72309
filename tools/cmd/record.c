/*
 * record.c - shmstat record: snapshot a segment at an interval into a
 * history file (shmstat_history.h), in the foreground, until a signal.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "behind.h"
#include "cli.h"
#include "cmd.h"
#include "outpath.h"
#include "timearg.h"

const char cmd_record_usage[] =
	"usage: shmstat record [-o|--history FILE] [--interval DURATION]\n"
	"                      [--tiers STEP:SPAN[,STEP:SPAN]...] [--size BYTES]\n"
	"                      [--top N] [--group-read] [--count N] [--wait] NAME\n"
	"  Snapshot segment NAME every interval (default: the finest tier's\n"
	"  step, 1s, at least 1ms) into history FILE (default NAME.shmhist), created if\n"
	"  missing with the tiers (default 1s:10m,10s:6h,5m:7d), a fixed\n"
	"  size (default 64M; K, M, G suffixes) and N top signature keys per\n"
	"  table (default 20); --group-read creates it 0640, else 0600. Runs\n"
	"  in the foreground until SIGTERM or SIGINT (exit 0), or for N\n"
	"  snapshots with --count. A segment that does not exist is an error\n"
	"  (exit 1, no file created); with --wait it is waited for. Once\n"
	"  recording, it follows a segment that is re-created. A snapshot taken while\n"
	"  the clock is behind the file's last record is skipped; a clock\n"
	"  still behind after 10 intervals (at least 10m), or behind by more,\n"
	"  starts the file's tiers anew (the records before are no longer\n"
	"  read). A snapshot too large for a tier, or that the file system\n"
	"  has no room for (ENOSPC), is skipped (with --count, it ends the\n"
	"  recording, exit 1). Messages say which; another error writing\n"
	"  the file ends it (exit 1). With --count, a snapshot that fails\n"
	"  counts too (exit 1 if none was recorded).\n";

static volatile sig_atomic_t stop;

/* The history file as the library knows it: the name in the directory
 * out_resolve() checked, through that directory's descriptor
 * (/proc/self/fd/N/NAME), so that the file is created there whatever
 * the path names by then; and the path the user named, for messages. */
static char at_path[PATH_MAX + 32];
static const char *user_path;

/* shmstat_last_error() with the user's path for at_path. */
static const char *hist_error(void)
{
	static char buf[1024];
	const char *e = shmstat_last_error(), *p = at_path[0] ? strstr(e, at_path) : NULL;

	if (p == NULL)
		return e;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - e), e, user_path, p + strlen(at_path));
	return buf;
}

/* Open history @path to append to, created if missing (@ho), into @h:
 * through a directory on the way that another user may have planted as
 * a link (in a sticky world-writable directory, such as /tmp), the file
 * was created wherever the link led, as root's 64 MiB file in a
 * directory of root's; now refused, as for output files (outpath.h).
 * EXIT_OK or the exit status, said. */
static int hist_open(const char *path, const struct shmstat_history_opts *ho,
		     shmstat_history **h)
{
	struct out_path op;
	char why[256];
	int err;

	user_path = path;
	at_path[0] = '\0';
	if (out_resolve(path, -1, &op) != 0) {
		out_why(&op, errno, why, sizeof(why));
		if (op.dir >= 0)
			close(op.dir);
		return die(EXIT_ERR, "cannot open history file '%s': %s", path, why);
	}
	snprintf(at_path, sizeof(at_path), "/proc/self/fd/%d/%s", op.dir, op.name);
	/* no /proc: the path itself (it was checked just now) */
	if (access("/proc/self/fd", F_OK) != 0)
		at_path[0] = '\0';
	err = shmstat_history_create(at_path[0] ? at_path : path, ho, h);
	close(op.dir);
	return err ? die(EXIT_ERR, "%s", hist_error()) : EXIT_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)
		mul = 1024;
	else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
		mul = 1024ull * 1024;
	else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)
		mul = 1024ull * 1024 * 1024;
	else if (*end)
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* "1s:10m,10s:6h" into @o; 0 or -1 with a message in @why */
static int parse_tiers(const char *arg, struct shmstat_history_opts *o, char *why, size_t n)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(why, n, "tiers '%.64s...' are too long", arg);
		return -1;
	}
	memcpy(buf, arg, strlen(arg) + 1);
	o->ntiers = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		struct shmstat_tier *t = &o->tier[o->ntiers];

		if (o->ntiers == SHMSTAT_HISTORY_MAX_TIERS) {
			snprintf(why, n, "more than %d tiers", SHMSTAT_HISTORY_MAX_TIERS);
			return -1;
		}
		if (colon == NULL) {
			snprintf(why, n, "tier '%.64s' is not STEP:SPAN", tok);
			return -1;
		}
		*colon = '\0';
		if (parse_duration(tok, &t->step_ns) != 0 || t->step_ns == 0) {
			snprintf(why, n, "tier step '%.64s' is not a duration", tok);
			return -1;
		}
		if (parse_duration(colon + 1, &t->span_ns) != 0 || t->span_ns < t->step_ns) {
			snprintf(why, n, "tier span '%.64s' is not a duration of at least its step",
				 colon + 1);
			return -1;
		}
		o->ntiers++;
	}
	if (o->ntiers == 0) {
		snprintf(why, n, "no tiers in '%s'", arg);
		return -1;
	}
	return 0;
}

/* Sleep until the real-time clock reads @t, the next interval boundary,
 * but for at most @interval: a clock stepped back while we sleep (by NTP,
 * a virtual machine resumed) is then seen at the next snapshot, which
 * clock_allows() skips or starts anew on. (An absolute sleep on
 * CLOCK_REALTIME waited for the clock to come back to @t: a step back of
 * a day stopped the recording for a day, without a word.) */
static void nap_until(uint64_t t, uint64_t interval)
{
	const uint64_t start = mono_ns();

	for (;;) {
		const uint64_t now = realtime_ns(), slept = mono_ns() - start;
		uint64_t d;
		struct timespec ts;

		if (stop || now >= t || slept >= interval)
			return;
		d = t - now < interval - slept ? t - now : interval - slept;
		ts = (struct timespec){ (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
		(void)clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);  /* EINTR: looked at again */
	}
}

/*
 * Whether the snapshot taken at @now goes into @h (file @path): not
 * while the clock is behind its last record (said once), and after the
 * bound of behind.h the history starts anew (said).
 */
static int clock_allows(shmstat_history *h, const char *path, struct behind *b, uint64_t now)
{
	uint64_t last = 0, before = b->skipped;
	int has = shmstat_history_last(h, &last) == 0;
	const enum behind_do step = behind_next(b, has, last, now);
	char tnow[32], tlast[32], by[32], bound[32];

	if (step == BEHIND_APPEND) {
		if (before)
			warnf("the clock caught up with the last record of history file '%s': recording again (%llu snapshots skipped)",
			      path, (unsigned long long)before);
		return 1;
	}
	if (step == BEHIND_SKIP && before != 0)
		return 0;                  /* said already */
	/* what is said of a clock behind (not at every snapshot) */
	fmt_time(tnow, sizeof(tnow), now);
	fmt_time(tlast, sizeof(tlast), last);
	fmt_duration(by, sizeof(by), has && last > now ? last - now : 0);
	fmt_duration(bound, sizeof(bound), b->bound_ns);
	if (step == BEHIND_SKIP) {
		warnf("the clock (%s) is behind the last record of history file '%s' (%s) by %s: snapshots are skipped until it catches up, for at most %s",
		      tnow, path, tlast, by, bound);
		return 0;
	}
	warnf("the clock (%s) is behind the last record of history file '%s' (%s) by %s, past %s: its tiers start anew (the records before are no longer read)",
	      tnow, path, tlast, by, bound);
	return shmstat_history_restart(h) == 0;
}

int cmd_record(int argc, char **argv)
{
	static const char shortopts[] = ":o:";
	char bad[64];
	static const struct option opts[] = {
		{ "history", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "tiers", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 'k' },
		{ "group-read", no_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'c' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct shmstat_history_opts ho;
	struct shmstat_tier tiers[SHMSTAT_HISTORY_MAX_TIERS];
	const char *path = NULL, *name;
	char defpath[256], why[256];
	uint64_t interval = 0, count = 0, taken = 0, recorded = 0, next;
	unsigned written = 0;
	shmstat_history *h = NULL;
	shmstat_reader *r = NULL;
	struct sigaction sa;
	struct behind bh;
	int ch, rc = EXIT_OK, waiting = 0, wait = 0;

	shmstat_history_opts_init(&ho);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (ch) {
		case 'o': path = optarg; break;
		case 'i':
			if (parse_duration(optarg, &interval) != 0 || interval < 1000000u)
				return usage_error(cmd_record_usage,
						   "interval '%s' is not a duration of at least 1ms", optarg);
			break;
		case 't':
			if (parse_tiers(optarg, &ho, why, sizeof(why)) != 0)
				return usage_error(cmd_record_usage, "%s", why);
			break;
		case 's':
			if (parse_size(optarg, &ho.max_bytes) != 0)
				return usage_error(cmd_record_usage, "size '%s' is not a byte count",
						   optarg);
			/* the library's bounds (shmstat_history_opts.max_bytes):
			 * a bad value, exit 2, not an error creating the file */
			if (ho.max_bytes < (UINT64_C(16) << 10) || ho.max_bytes > (UINT64_C(1) << 40))
				return usage_error(cmd_record_usage, "size '%s' is not 16K to 1024G",
						   optarg);
			break;
		case 'k': {
			uint64_t top;

			if (parse_whole(optarg, 1000, &top) != 0)
				return usage_error(cmd_record_usage, "top '%s' is not 0 to 1000", optarg);
			ho.top_keys = (uint32_t)top;
			break;
		}
		case 'g': ho.mode = 0640; break;
		case 'w': wait = 1; break;
		case 'c':
			if (parse_whole(optarg, UINT64_MAX, &count) != 0 || count == 0)
				return usage_error(cmd_record_usage, "count '%s' is not a positive number",
						   optarg);
			break;
		case ':':
			return usage_error(cmd_record_usage, "option '%s' needs a value",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_record_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (optind != argc - 1)
		return usage_error(cmd_record_usage, "expected one segment NAME");
	name = argv[optind];
	if (shmstat_valid_name(name) != 0)
		return die(EXIT_USAGE, "%s", shmstat_last_error());
	/* a typo is an error, not a wait for a segment that never comes */
	if (!wait) {
		if (open_reader(name, &r) != 0)
			return die(EXIT_ERR, "%s (--wait waits for it)", shmstat_last_error());
	}
	if (path == NULL) {
		snprintf(defpath, sizeof(defpath), "%s.shmhist", name);
		path = defpath;
	}
	/* a file size limit (ulimit -f, RLIMIT_FSIZE) below the file's size
	 * makes a write past it fail with EFBIG, said and acted on as any
	 * failed write is, where SIGXFSZ would kill the recorder silently
	 * (and leave its temporary file behind) */
	(void)signal(SIGXFSZ, SIG_IGN);
	if ((rc = hist_open(path, &ho, &h)) != EXIT_OK) {
		shmstat_reader_close(r);
		return rc;
	}
	if (shmstat_history_set_segment(h, name) != 0) {
		shmstat_reader_close(r);
		shmstat_history_close(h);
		return die(EXIT_ERR, "%s", hist_error());
	}
	/* the file's own tiers (an existing file keeps them) */
	{
		unsigned nt = shmstat_history_tiers(h, tiers, SHMSTAT_HISTORY_MAX_TIERS);
		char line[512] = "", d1[32], d2[32];
		uint64_t finest = 0;
		size_t o = 0;

		for (unsigned k = 0; k < nt && o < sizeof(line); k++) {
			fmt_duration(d1, sizeof(d1), tiers[k].step_ns);
			fmt_duration(d2, sizeof(d2), tiers[k].span_ns);
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s:%s", k ? "," : "", d1, d2);
			if (finest == 0 || tiers[k].step_ns < finest)
				finest = tiers[k].step_ns;
		}
		/* --interval as given; by default the finest tier's step (a file
		 * has 1 to 8 tiers: 1s if none was read back), but at least 1ms,
		 * as --interval: tiers of 1ns:1ns made a loop of snapshots that
		 * never slept */
		if (interval == 0)
			interval = finest ? finest : 1000000000u;
		if (interval < 1000000u)
			interval = 1000000u;
		fmt_duration(d1, sizeof(d1), interval);
		fprintf(stderr, "shmstat: recording segment '%s' into %s every %s (tiers %s)\n",
			name, path, d1, line);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	behind_init(&bh, interval);
	next = realtime_ns() / interval * interval + interval;
	while (!stop) {
		shmstat_snap *s = NULL;
		uint64_t now;
		int err;

		nap_until(next, interval);
		if (stop)
			break;
		now = realtime_ns();
		next += interval;
		/* fell behind: skip, do not burst; or the clock went back
		 * (nap_until()): the boundaries of the clock as it reads now */
		if (next <= now || next - now > interval)
			next = now / interval * interval + interval;
		if (r == NULL && open_reader(name, &r) != 0) {
			if (!waiting)
				warnf("waiting for segment '%s': %s", name, shmstat_last_error());
			waiting = 1;
			r = NULL;
			continue;
		}
		if (waiting)
			fprintf(stderr, "shmstat: segment '%s' found\n", name);
		waiting = 0;
		err = shmstat_snapshot(r, &s);
		if (err == SHMSTAT_ERECREATED) {
			fprintf(stderr, "shmstat: segment '%s' was re-created: following it\n", name);
			shmstat_reader_close(r);
			r = NULL;
			if (open_snapshot(name, &r, &s) != EXIT_OK) {
				r = NULL;       /* closed by open_snapshot */
				goto counted;
			}
		} else if (err) {
			warnf("%s", shmstat_last_error());
			shmstat_reader_close(r);
			r = NULL;
			goto counted;
		}
		if (!clock_allows(h, path, &bh, now)) {
			shmstat_snap_free(s);
			continue;
		}
		err = shmstat_history_append(h, s, now, &written);
		shmstat_snap_free(s);
		/* in the finest tier's step of the last record (a clock that
		 * came back into it, or an interval shorter than that step):
		 * nothing written, as a snapshot skipped while the clock is
		 * behind, and not counted either: --count N was N intervals
		 * read but fewer records */
		if (err == 0 && written == 0)
			continue;
		if (err == ENOSPC) {
			/* this snapshot fits no ring, or the file system has
			 * no room for it: skipped, the next may be taken. But
			 * --count N asks for N records: one that fits no ring
			 * never will (the same segment), and the recorder
			 * tried again every interval for good */
			if (count) {
				rc = die(EXIT_ERR, "%s (--count %llu: %llu recorded)", hist_error(),
					 (unsigned long long)count, (unsigned long long)recorded);
				break;
			}
			warnf("snapshot skipped: %s", hist_error());
			goto counted;
		}
		if (err) {
			rc = die(EXIT_ERR, "%s", hist_error());
			break;
		}
		recorded++;
counted:
		/* a snapshot that failed counts in --count too: one that
		 * fails at every interval (memory short, a segment corrupted
		 * for good) kept `record --count N` going for ever */
		if (count && ++taken == count)
			break;
	}
	if (rc == EXIT_OK && count && recorded == 0 && !stop)
		rc = die(EXIT_ERR, "no snapshot of segment '%s' was recorded in %llu intervals",
			 name, (unsigned long long)count);
	shmstat_reader_close(r);
	shmstat_history_close(h);
	return rc;
}
