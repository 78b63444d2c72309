/*
 * timearg.c - durations and instants on the command line (timearg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"
#include "timearg.h"

/* one grammar for durations: the rules file's */
int parse_duration(const char *s, uint64_t *ns)
{
	return s ? rules_parse_duration(s, ns) : -1;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The last second an instant may be (in the year 2540): its ns still
 * fit in 64 bits, which hold 18,446,744,073 s */
#define MAX_UNIX_SEC UINT64_C(17999999999)

/* Unix seconds @s ("1763776800", "1763776800.000000123"), exactly to
 * the ns (a double holds them to about 240 ns only): 0, or -1 when @s
 * is not digits with at most 9 decimals, or is past the year 2540 */
static int parse_unix(const char *s, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	const char *p = s;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		if ((sec = sec * 10 + (uint64_t)(*p - '0')) > MAX_UNIX_SEC)
			return -1;
	if (p == s)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 9)
				return -1;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	}
	if (*p != '\0')
		return -1;
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = sec * 1000000000u + frac;
	return 0;
}

int parse_instant(const char *s, uint64_t now_ns, uint64_t *ns)
{
	struct tm tm;
	const char *end;
	uint64_t d;

	if (s == NULL)
		return -1;
	if (strcmp(s, "now") == 0) {
		*ns = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		if (parse_duration(s + 1, &d) != 0 || d > now_ns)
			return -1;
		*ns = now_ns - d;
		return 0;
	}
	if (s[0] == '@')
		return parse_unix(s + 1, ns);
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	if (strcmp(end, "Z") == 0) {
		time_t t = timegm(&tm);

		/* past 2540 the ns wrapped: 2600-01-01 was 2014 */
		if (t < 0 || (uint64_t)t > MAX_UNIX_SEC)
			return -1;
		*ns = (uint64_t)t * 1000000000u;
		return 0;
	}
	if (*end)
		return -1;
	tm.tm_isdst = -1;
	{
		time_t t = mktime(&tm);

		if (t < 0 || (uint64_t)t > MAX_UNIX_SEC)
			return -1;
		*ns = (uint64_t)t * 1000000000u;
	}
	return 0;
}

void fmt_duration(char *buf, unsigned long n, uint64_t ns)
{
	static const struct { const char *sfx; uint64_t ns; } u[] = {
		{ "d", 86400000000000ull }, { "h", 3600000000000ull }, { "m", 60000000000ull },
		{ "s", 1000000000ull }, { "ms", 1000000ull }, { "us", 1000ull },
	};

	for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++)
		if (ns >= u[k].ns && ns % u[k].ns == 0) {
			snprintf(buf, n, "%llu%s", (unsigned long long)(ns / u[k].ns), u[k].sfx);
			return;
		}
	for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++)
		if (ns >= u[k].ns) {
			snprintf(buf, n, "%.3g%s", (double)ns / (double)u[k].ns, u[k].sfx);
			return;
		}
	snprintf(buf, n, "%lluns", (unsigned long long)ns);
}
