/*
 * units.c - figures written and read one way (units.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "timearg.h"
#include "units.h"

enum unit_kind unit_kind(const char *unit)
{
	if (unit == NULL)
		return UNIT_COUNT;
	if (strcmp(unit, "ns") == 0 || strcmp(unit, "nanoseconds") == 0)
		return UNIT_NS;
	if (strcmp(unit, "bytes") == 0)
		return UNIT_BYTES;
	if (strncmp(unit, "micro_", 6) == 0 && unit[6])
		return UNIT_MICRO;
	return UNIT_COUNT;
}

const char *unit_word(const char *unit)
{
	switch (unit_kind(unit)) {
	case UNIT_COUNT:
		return unit ? unit : "";
	case UNIT_MICRO:
		return unit + 6;
	default:
		return "";
	}
}

/* the strings after @n (@parts of them) into @buf, cut as snprintf cuts */
static void cat(char *buf, size_t n, int parts, ...)
{
	va_list ap;
	size_t k = 0;

	if (n == 0)
		return;
	va_start(ap, parts);
	for (int i = 0; i < parts; i++)
		for (const char *s = va_arg(ap, const char *); *s && k + 1 < n; s++)
			buf[k++] = *s;
	va_end(ap);
	buf[k] = '\0';
}

/* %.4g of @v / @div and @sfx, or the integer below 10,000 */
void fmt_count(char *buf, size_t n, double v)
{
	static const char sfx[] = "kMGTPE";
	char t[NUM_LEN], s[2] = { 0 };
	double a = fabs(v);
	int u = -1;

	if (!isfinite(v)) {
		cat(buf, n, 1, "-");
		return;
	}
	if (a < 10000) {
		if (v == floor(v))
			num_f(t, sizeof(t), v, 0);
		else
			num_g(t, sizeof(t), v, 4);
		cat(buf, n, 1, t);
		return;
	}
	do {            /* at least once: a >= 10000 here */
		a /= 1000;
		v /= 1000;
		u++;
	} while (a >= 999.5 && u < 5);
	num_g(t, sizeof(t), v, 3);
	s[0] = sfx[u];
	cat(buf, n, 2, t, s);
}

static void fmt_duration_ns(char *buf, size_t n, double v)
{
	static const struct { const char *sfx; double div; } u[] = {
		{ "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 },
	};
	const char *sign = v < 0 ? "-" : "";
	char t[NUM_LEN];
	double a = fabs(v);

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (a >= u[i].div) {
			num_g(t, sizeof(t), a / u[i].div, 4);
			cat(buf, n, 3, sign, t, u[i].sfx);
			return;
		}
	num_g(t, sizeof(t), a, 4);
	cat(buf, n, 3, sign, t, "ns");
}

static void fmt_bytes_d(char *buf, size_t n, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	const char *sign = v < 0 ? "-" : "";
	char t[NUM_LEN];
	double a = fabs(v);
	int u = 0;

	while (a >= 1024 && u < 6) {
		a /= 1024;
		u++;
	}
	if (u == 0)
		num_g(t, sizeof(t), a, 4);
	else
		num_f(t, sizeof(t), a, 1);
	cat(buf, n, 4, sign, t, " ", unit[u]);
}

static void fmt_raw(char *buf, size_t n, double v)
{
	char t[NUM_LEN];

	if (v == floor(v) && fabs(v) < 0x1p53)
		num_f(t, sizeof(t), v, 0);
	else
		num_g(t, sizeof(t), v, 10);
	cat(buf, n, 1, t);
}

void fmt_fig(char *buf, size_t n, double v, const char *unit, int raw)
{
	char num[NUM_LEN];         /* a count: "-1.23k", at most 8 */
	const char *w;

	if (!isfinite(v)) {
		cat(buf, n, 1, "-");
		return;
	}
	if (raw) {
		fmt_raw(buf, n, v);
		return;
	}
	switch (unit_kind(unit)) {
	case UNIT_NS:
		fmt_duration_ns(buf, n, v);
		return;
	case UNIT_BYTES:
		fmt_bytes_d(buf, n, v);
		return;
	case UNIT_MICRO:
		v /= 1e6;
		if (fabs(v) >= 1e6)
			fmt_count(num, sizeof(num), v);
		else if (fabs(v) >= 0.01 || v == 0)
			num_f(num, sizeof(num), v, 2);
		else
			num_g(num, sizeof(num), v, 2);
		cat(buf, n, 3, num, " ", unit_word(unit));
		return;
	default:
		fmt_count(num, sizeof(num), v);
		w = unit_word(unit);
		cat(buf, n, 3, num, w[0] ? " " : "", w);
		return;
	}
}

void fmt_fig_u64(char *buf, size_t n, unsigned long long v, const char *unit, int raw)
{
	char t[24];

	if (raw) {
		t[num_u64(t, v)] = '\0';
		cat(buf, n, 1, t);
	} else {
		fmt_fig(buf, n, (double)v, unit, 0);
	}
}

void fmt_rate(char *buf, size_t n, double per_s, const char *unit, int raw)
{
	char f[FIG_LEN > NUM_LEN ? FIG_LEN : NUM_LEN];

	if (!(per_s >= 0) || !isfinite(per_s)) {
		cat(buf, n, 1, "-");
		return;
	}
	if (raw) {
		num_g(f, sizeof(f), per_s, 10);
		cat(buf, n, 1, f);
		return;
	}
	fmt_fig(f, sizeof(f), per_s, unit, 0);
	cat(buf, n, 2, f, "/s");
}

void fmt_ratio(char *buf, size_t n, double r, int raw)
{
	char t[NUM_LEN];

	if (!isfinite(r)) {
		cat(buf, n, 1, "-");
	} else if (raw) {
		num_g(t, sizeof(t), r, 10);
		cat(buf, n, 1, t);
	} else {
		num_f(t, sizeof(t), 100 * r, 1);
		cat(buf, n, 2, t, "%");
	}
}

/* ------------------------------------------------------------ quantities */

/* e10: a decimal multiplier, 10^e10 (0: mul, exact: 1 or a power of 2) */
static const struct { const char *sfx; double mul; enum qty_kind kind; int e10; } suffixes[] = {
	{ "", 1, QTY_PLAIN, 0 }, { "%", 0.01, QTY_PERCENT, -2 },
	{ "k", 1e3, QTY_PLAIN, 3 }, { "K", 1e3, QTY_PLAIN, 3 }, { "M", 1e6, QTY_PLAIN, 6 },
	{ "G", 1e9, QTY_PLAIN, 9 }, { "T", 1e12, QTY_PLAIN, 12 },
	{ "B", 1, QTY_BYTES, 0 }, { "kB", 1e3, QTY_BYTES, 3 }, { "KB", 1e3, QTY_BYTES, 3 },
	{ "MB", 1e6, QTY_BYTES, 6 }, { "GB", 1e9, QTY_BYTES, 9 }, { "TB", 1e12, QTY_BYTES, 12 },
	{ "KiB", 0x1p10, QTY_BYTES, 0 }, { "MiB", 0x1p20, QTY_BYTES, 0 },
	{ "GiB", 0x1p30, QTY_BYTES, 0 }, { "TiB", 0x1p40, QTY_BYTES, 0 },
};

/* the units of a duration that are powers of ten of a nanosecond */
static const struct { const char *sfx; int e10; } dur_suffixes[] = {
	{ "ns", 0 }, { "us", 3 }, { "ms", 6 }, { "s", 9 },
};

/* The number written in [@s, @end) (@d, as strtod() read it) times
 * 10^@e10, rounded once: the double nearest the decimal it stands for,
 * as the same number written out is read ("0.7%" is 0.007 as "0.007" is,
 * where 0.7 / 100 is not; "2.01k" is 2010, where 2.01 * 1000 is
 * 2009.9999999999998), so that a value equal to a threshold compares
 * equal to it. The text is read again with its exponent moved. */
static double scale10(const char *s, const char *end, int e10, double d)
{
	size_t len = (size_t)(end - s);
	const char *e = memchr(s, 'e', len);
	long ex = 0;
	char *t, *x;
	double v;

	if (e == NULL)
		e = memchr(s, 'E', len);
	if (e) {
		ex = strtol(e + 1, &x, 10);
		if (x != end || ex > 100000 || ex < -100000)
			return d * pow(10, e10);     /* 0 or out of range anyway */
		len = (size_t)(e - s);
	}
	t = malloc(len + 24);
	if (t == NULL)
		return d * pow(10, e10);
	snprintf(t, len + 24, "%.*se%ld", (int)len, s, ex + e10);
	v = strtod(t, NULL);
	free(t);
	return v;
}

int parse_quantity(const char *s, double *v, enum qty_kind *kind)
{
	const char *p = s;
	char *end;
	double d;
	uint64_t ns;

	if (s == NULL)
		return -1;
	if (*p == '+' || *p == '-')
		p++;
	/* digits and a point only: no inf, nan, hex or leading space */
	if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || !isfinite(d))
		return -1;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcmp(end, suffixes[i].sfx) == 0) {
			*v = suffixes[i].e10 ? scale10(s, end, suffixes[i].e10, d)
					     : d * suffixes[i].mul;
			*kind = suffixes[i].kind;
			return isfinite(*v) ? 0 : -1;
		}
	/* a duration in ns, us, ms or s, read as the decimal it stands for
	 * and rounded once, as the suffixes above: "2.0000005ms" is
	 * 2000000.5 ns (not 2000001, to the nearest ns, which judged a value
	 * of 2000001 ns not above it), "1.5e-3s" 1500000 (not negative) */
	for (size_t i = 0; i < sizeof(dur_suffixes) / sizeof(dur_suffixes[0]); i++)
		if (s[0] != '-' && s[0] != '+' && strcmp(end, dur_suffixes[i].sfx) == 0) {
			*v = scale10(s, end, dur_suffixes[i].e10, d);
			*kind = QTY_NS;
			/* at most 366 days, as parse_duration() reads them */
			return *v <= 366 * 86400e9 ? 0 : -1;
		}
	/* other durations: "5m", "1h30m" (not negative) */
	if (s[0] != '-' && s[0] != '+' && parse_duration(s, &ns) == 0) {
		*v = (double)ns;
		*kind = QTY_NS;
		return 0;
	}
	return -1;
}

const char *qty_kind_name(enum qty_kind k)
{
	switch (k) {
	case QTY_NS:
		return "duration";
	case QTY_BYTES:
		return "bytes";
	case QTY_PERCENT:
		return "percentage";
	default:
		return "number";
	}
}
