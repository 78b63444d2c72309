/*
 * timearg.h - durations and instants on the command line.
 *
 *   duration: numbers with units, ns us ms s m h d, e.g. "250ms",
 *             "5m", "1.5h", "1h30m" (rules_parse_duration(), the rules
 *             file's grammar), or "0".
 *   instant:  "now"; "-5m" (that long before now); "@1763776800" (Unix
 *             seconds); "2026-11-22T02:40:00Z" or "2026-11-22 02:40:00"
 *             (UTC with Z, local time without).
 */
#ifndef SHMSTAT_TIMEARG_H
#define SHMSTAT_TIMEARG_H

#include <stdint.h>

/* 0, or -1 when @s is not a duration (or longer than 366 days). */
int parse_duration(const char *s, uint64_t *ns);

/* What a window or a step that is not 0 may be, for messages:
 * "window '400d' is not " DURATION_RANGE (it said "not a duration"). */
#define DURATION_RANGE "a duration from 1ns to 366d"

/* 0, or -1 when @s is not an instant; relative to @now_ns. */
int parse_instant(const char *s, uint64_t now_ns, uint64_t *ns);

/* "5m", "1h30m", "250ms": a short human form of @ns into @buf. */
void fmt_duration(char *buf, unsigned long n, uint64_t ns);

/* CLOCK_REALTIME in ns */
uint64_t realtime_ns(void);
/* CLOCK_MONOTONIC in ns: intervals a stepped wall clock does not change */
uint64_t mono_ns(void);

#endif
