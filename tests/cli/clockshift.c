/*
 * clockshift.c - an LD_PRELOAD library for clock.sh: the program sees
 * CLOCK_REALTIME (and _COARSE, time(), gettimeofday()) stepped by an
 * offset, and the offset changes at its sleeps, as a clock stepped by NTP
 * (or a virtual machine resumed) while the program slept. Nothing of the
 * machine's clock changes.
 *
 * CLOCKSHIFT_RT="O0,O1,O2,...": offsets in seconds (signed integers):
 * O0 from the start, Ok from the beginning of the k-th sleep
 * (nanosleep(), clock_nanosleep()) on; the last one stays. A sleep until
 * an absolute CLOCK_REALTIME time waits until the shifted clock reaches
 * it, as the kernel's does when the clock is stepped during the sleep.
 * CLOCKSHIFT_SLEEP_CAP (seconds, default 5): a sleep longer than that is
 * cut to it (the step of an hour back would otherwise really wait an
 * hour); each cut is counted in the file CLOCKSHIFT_LOG, if set, as one
 * line "cut SECONDS".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#define MAX_STEPS 64

static long long offs[MAX_STEPS];
static int noffs = -1, cur;
static long long cap_s = 5;

static void load(void)
{
	const char *s = getenv("CLOCKSHIFT_RT"), *c = getenv("CLOCKSHIFT_SLEEP_CAP");
	char *end;

	if (noffs >= 0)
		return;
	noffs = 0;
	if (c)
		cap_s = strtoll(c, NULL, 10);
	while (s && *s && noffs < MAX_STEPS) {
		offs[noffs++] = strtoll(s, &end, 10);
		if (*end != ',')
			break;
		s = end + 1;
	}
	if (noffs == 0)
		offs[noffs++] = 0;
}

static long long offset_ns(void)
{
	load();
	return offs[cur < noffs ? cur : noffs - 1] * 1000000000LL;
}

static void next_step(void)
{
	load();
	if (cur + 1 < noffs)
		cur++;
}

static int (*real_cg)(clockid_t, struct timespec *);
static int (*real_cn)(clockid_t, int, const struct timespec *, struct timespec *);

static void resolve(void)
{
	if (real_cg == NULL)
		real_cg = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if (real_cn == NULL)
		real_cn = (int (*)(clockid_t, int, const struct timespec *,
				   struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc;

	resolve();
	rc = real_cg(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		*ts = ns_ts(ts_ns(ts) + offset_ns());
	return rc;
}

/* glibc declares @tv nonnull; POSIX allows NULL */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (tv) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

static void log_cut(int64_t ns)
{
	const char *p = getenv("CLOCKSHIFT_LOG");
	FILE *f = p ? fopen(p, "a") : NULL;

	if (f) {
		fprintf(f, "cut %lld\n", (long long)(ns / 1000000000LL));
		fclose(f);
	}
}

/* a relative sleep of @ns on CLOCK_MONOTONIC, at most the cap */
static int nap(int64_t ns)
{
	struct timespec ts;

	if (ns > cap_s * 1000000000LL) {
		log_cut(ns);
		ns = cap_s * 1000000000LL;
	}
	if (ns <= 0)
		return 0;
	ts = ns_ts(ns);
	return real_cn(CLOCK_MONOTONIC, 0, &ts, NULL);
}

int clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem)
{
	resolve();
	next_step();
	if ((id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE) && (flags & TIMER_ABSTIME)) {
		struct timespec now;

		real_cg(CLOCK_REALTIME, &now);
		return nap(ts_ns(req) - (ts_ns(&now) + offset_ns()));
	}
	if (!(flags & TIMER_ABSTIME)) {
		int rc = nap(ts_ns(req));

		if (rc == 0 && rem)
			*rem = (struct timespec){ 0, 0 };
		return rc;
	}
	return real_cn(id, flags, req, rem);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}
