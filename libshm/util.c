/*
 * util.c - error texts, the per-thread detail message, hashing and clocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "util.h"
#include "hook.h"

static __thread char last_error[512];

#ifdef SHMSTAT_TEST_HOOKS
void (*shmstat__test_hook)(enum shmstat_hook_point point, const void *arg);
#endif

int (shmstat__fail)(int err, const char *fmt, ...)
{
	char tmp[sizeof(last_error)];
	va_list ap;

	/* format apart: the arguments may include shmstat_last_error() */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_error, tmp, sizeof(tmp));
	return err;
}

void shmstat__clear_error(void)
{
	last_error[0] = '\0';
}

const char *shmstat_last_error(void)
{
	return last_error;
}

const char *shmstat_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case SHMSTAT_EBADNAME: return "invalid name";
	case SHMSTAT_EFOREIGN: return "not a shmstat segment";
	case SHMSTAT_EVERSION: return "unsupported segment format version";
	case SHMSTAT_ECORRUPT: return "corrupted segment";
	case SHMSTAT_ETRUNCATED: return "truncated segment";
	case SHMSTAT_EFULL: return "segment full";
	case SHMSTAT_ETYPE: return "metric exists with another type";
	case SHMSTAT_ERECREATED: return "segment was re-created";
	case SHMSTAT_EBUSY: return "segment busy, try again";
	case SHMSTAT_EOWNER: return "segment owned by another user or not a plain file";
	default: break;
	}
	if (err > 0 && err < 1000) {
		static __thread char buf[128];
		/* GNU strerror_r returns the string */
		const char *s = strerror_r(err, buf, sizeof(buf));
		return s;
	}
	return "unknown error";
}

uint64_t shmstat__hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

ssize_t shmstat__pread_full(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

uint64_t shmstat__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *shmstat_type_name(enum shmstat_type t)
{
	switch (t) {
	case SHMSTAT_COUNTER: return "counter";
	case SHMSTAT_GAUGE: return "gauge";
	case SHMSTAT_HISTOGRAM: return "histogram";
	case SHMSTAT_SIGTABLE: return "sigtable";
	}
	return "unknown";
}

static const char *const agg_names[] = {
	"sum", "max", "min", "last", "livesum", "livemax", "livemin", "livelast",
};

const char *shmstat_agg_name(enum shmstat_agg a)
{
	if ((unsigned)a < sizeof(agg_names) / sizeof(agg_names[0]))
		return agg_names[a];
	return "unknown";
}

int shmstat_agg_parse(const char *s, enum shmstat_agg *out)
{
	for (unsigned i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++) {
		if (strcmp(s, agg_names[i]) == 0) {
			*out = (enum shmstat_agg)i;
			return 0;
		}
	}
	return EINVAL;
}
