/*
 * cli.h - what the shmstat commands share (cli.c): messages, exit
 * statuses, the reader options of this run, options, metric filters,
 * human forms and JSON strings.
 *
 * Conventions: exit 0 on success, 1 on error, 2 on bad usage; messages on
 * stderr, lowercase, naming what is wrong.
 */
#ifndef SHMSTAT_CLI_H
#define SHMSTAT_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outpath.h"
#include "textsafe.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

/* Print "shmstat: " + message to stderr (control characters escaped as
 * \xNN, newline and tab kept: messages quote what other users chose);
 * return @code. warnf(): the same without a code, for warnings. */
int die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Until say_into(NULL, 0): die() and warnf() keep their last message in
 * @buf (@n bytes) instead of printing it (serve's JSON API answers with
 * it). */
void say_into(char *buf, size_t n);

/* Set by a command that said itself that stdout could not be written
 * (flame, show --json): main() then does not say it again. */
extern int stdout_error_said;

/* @s, whole, as a decimal number of digits only, at most @max: 0 with
 * *@out, else -1. No sign, space or suffix: strtoull() reads "-1" as
 * 2^64 - 1 and "-18446744073709551615" as 1. */
int parse_whole(const char *s, uint64_t max, uint64_t *out);

/* Usage error: message, then the command's usage; returns EXIT_USAGE. */
int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open segment @name and snapshot it; on failure print why and return
 * EXIT_ERR. */
struct shmstat_reader;
struct shmstat_snap;
int open_snapshot(const char *name, struct shmstat_reader **r, struct shmstat_snap **s);

/* The reader options of this run (`shmstat --owner USER ... COMMAND`:
 * the owners accepted besides this user and root), and a reader opened
 * with them: shmstat_reader_open_opts()'s code. */
struct shmstat_reader_opts;
extern struct shmstat_reader_opts reader_opts;
int open_reader(const char *name, struct shmstat_reader **r);

/* The option getopt_long() just refused (case '?' or ':'), as written:
 * "-r" (also inside "-rf"), "--name" (without "=value"). @shortopts and
 * @longopts as given to getopt_long(). */
struct option;
const char *refused_option(char *buf, size_t n, char **argv, const char *shortopts,
			   const struct option *longopts);

/* Keep metric @m? Dropped if it matches a glob of @exc, kept if @inc is
 * empty or it matches one of @inc; matched against name and name{labels}. */
struct shmstat_metric_info;
int metric_wanted(const struct shmstat_metric_info *m, char **inc, size_t ninc, char **exc,
		  size_t nexc);

/* The same filter for a reader (shmstat_reader_opts.want): @filter is a
 * struct name_filter. */
struct name_filter {
	char **inc;
	size_t ninc;
	char **exc;
	size_t nexc;
};
int name_wanted(const char *name, const char *labels, void *filter);

/* open_snapshot() of the metrics @f keeps only: the reader copies no
 * value of the others (@f must outlive the reader). */
int open_snapshot_subset(const char *name, struct name_filter *f, struct shmstat_reader **r,
			 struct shmstat_snap **s);

/* Indices of the metrics of @s sorted by name, labels; NULL: no memory. */
size_t *metrics_sorted(const struct shmstat_snap *s, size_t n);
/* metrics a walk in that order asks to be loaded ahead of the one it
 * reads (shmstat_snap_prefetch()) */
#define PREFETCH_AHEAD 8

/* A glob fnmatch(3) can use: not empty, brackets closed. */
int glob_valid(const char *g);

/* true when an argument before "--" is -h or --help; prints @usage to
 * stdout. With @h_number, "-h" followed by a number is not one (watch's
 * -h N). */
int want_help(int argc, char **argv, const char *usage, int h_number);

/* A signature key as the text commands show it: printable bytes, others
 * as \xNN, "... (hash H)" when cut (@full_len > @len); "(hash H)" when
 * its text is not known (@len 0 of a key that has bytes). */
void fmt_sigkey(char *buf, size_t n, const char *key, uint32_t len, uint32_t full_len,
		uint64_t hash);

/* Human forms: "2026-11-21 10:00:00" (sizes: units.h) */
void fmt_time(char *buf, size_t n, unsigned long long ns);

/* A histogram value in its unit, as units.h's fmt_fig() writes it
 * ("21.9us", "4.2 MiB", "148k"); @unit NULL (--raw): the exact integer. */
void fmt_hvalue(char *buf, size_t n, unsigned long long v, const char *unit);

/* A histogram's sum, whole (shmstat_hdata_sum: the slot keeps it modulo
 * 2^64): fmt_hsum() as fmt_hvalue() writes a value, with '~' before an
 * estimate (shmstat_hdata_sum's ERANGE: the buckets bound it only 2^63
 * or more apart); hsum_digits() its decimal digits, NUL-terminated, into
 * @buf of HSUM_LEN bytes (up to 39 digits), and their count, and in
 * *@exact (unless NULL) 1 when the sum is exact, 0 for an estimate. */
#define HSUM_LEN 40
struct shmstat_hdata;
void fmt_hsum(char *buf, size_t n, const struct shmstat_hdata *h, const char *unit);
size_t hsum_digits(char *buf, const struct shmstat_hdata *h, int *exact);
/* The whole sum on @f, divided by 10^9 with @seconds (9 decimals at
 * most, trailing zeros left out), exact either way. */
void hsum_put(FILE *f, const struct shmstat_hdata *h, int seconds);

/* @s as a JSON string (RFC 8259) on @f: quoted; quotes, backslashes and
 * control characters escaped; NULL is "". json_put_bytes: @n bytes of @s
 * (with @bytes, NULs included and bytes >= 0x7f escaped as \u00XX too:
 * signature-key prefixes need not be UTF-8). */
void json_put(FILE *f, const char *s);
void json_put_bytes(FILE *f, const char *s, size_t n, int bytes);

/* Signature keys: a key is high-value when its guaranteed hits (hits
 * less their error) are at least this (top --high-value, JSON,
 * Prometheus); bytes of a key as shown, escapes included. */
#define SIG_HIGH_VALUE 3u
#define SHMSTAT_SIG_KEY_SHOW 4200

/* An output file the user named (flame --svg, check --out), opened to
 * be written whole, by out_resolve() (outpath.h): a symbolic link is
 * followed unless another user may have planted it, wherever on the
 * path. Then fstat:
 * refused when not this user's nor root's, or a regular file of more than
 * one link; only then emptied. A FIFO with no reader does not block.
 * NULL: errno set, @why (@n bytes) says why, e.g. "it has 2 hard links;
 * refusing it". */
FILE *open_out_file(const char *path, char *why, size_t n);

/* The longest name{labels} fmt_metric() writes, NUL included: a name of
 * at most 95 bytes, the braces, and canonical labels of at most 223
 * bytes, each of which may print as \xNN (text_safe()) */
#define METRIC_TEXT_MAX (95 + 2 + 223 * 4 + 1)

/* name{labels}, or name when there are no labels */
void fmt_metric(char *buf, size_t n, const char *name, const char *labels);

#endif
