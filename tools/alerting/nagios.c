/*
 * nagios.c - performance data and ranges of the Nagios plugin output
 * (nagios.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nagios.h"

/* @v in plain decimals with @sig significant digits (1 .. 17), trailing
 * zeros dropped */
static void num_sig(char *buf, size_t n, double v, int sig)
{
	char e[48];
	int exp, dec;
	char *p;

	if (!isfinite(v) || v == 0) {
		snprintf(buf, n, "0");
		return;
	}
	snprintf(e, sizeof(e), "%.*e", sig - 1, v);
	exp = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
	dec = exp >= sig - 1 ? 0 : sig - 1 - exp;
	if (dec > 30)
		dec = 30;
	snprintf(buf, n, "%.*f", dec, v);
	if (strchr(buf, '.')) {
		p = buf + strlen(buf) - 1;
		while (*p == '0')
			*p-- = '\0';
		if (*p == '.')
			*p = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, n, "0");
}

void nagios_num(char *buf, size_t n, double v)
{
	num_sig(buf, n, v, 6);
}

/* A threshold as written: 6 significant digits, or as many as it has up
 * to 15 (1234566e-9 s is 0.001234566, not 0.00123457; the noise of a
 * scaled 0.7%, 0.7000000000000001, is 0.7) */
static void thr_num(char *buf, size_t n, double t)
{
	char full[48];
	int sig = 6;

	num_sig(full, sizeof(full), t, 15);
	for (num_sig(buf, n, t, sig); sig < 15 && strtod(buf, NULL) != strtod(full, NULL);)
		num_sig(buf, n, t, ++sig);
}

/* threshold @t with thr_num()'s digits (@sig 0), or with @sig */
static void thr_text(char *buf, size_t n, double t, int sig)
{
	if (sig)
		num_sig(buf, n, t, sig);
	else
		thr_num(buf, n, t);
}

static void range_put(char *buf, size_t n, enum rule_op op, double thr, int sig)
{
	char x[48];

	thr_text(x, sizeof(x), thr, sig);
	switch (op) {
	case RULE_GT: snprintf(buf, n, "~:%s", x); break;
	case RULE_LT: snprintf(buf, n, "%s:", x); break;
	case RULE_GE: snprintf(buf, n, "@%s:", x); break;
	case RULE_LE: snprintf(buf, n, "@~:%s", x); break;
	}
}

void nagios_range(char *buf, size_t n, enum rule_op op, double thr)
{
	range_put(buf, n, op, thr, 0);
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

/* The value with 6 significant digits, or more until it stands on the
 * same side of each threshold written (@t, @nt of them, with @tsig
 * digits: thr_text()) as it does unrounded: 1234567 ns against 1234566
 * ns was 0.00123457 against 0.00123457, equal in the perfdata where the
 * plugin said WARNING. 1 when it does. */
static int value_num(char *buf, size_t n, double v, const double *t, int nt, int tsig)
{
	for (int sig = 6; sig <= 17; sig++) {
		int same = 1;

		num_sig(buf, n, v, sig);
		for (int i = 0; i < nt && same; i++) {
			char x[48];

			thr_text(x, sizeof(x), t[i], tsig);
			same = CMP(strtod(buf, NULL), strtod(x, NULL)) == CMP(v, t[i]);
		}
		if (same)
			return 1;
	}
	return 0;
}

void nagios_perf_put(FILE *f, const struct nagios_perf *p)
{
	char num[48];
	const char *fields[4];
	char buf[4][64];
	int last = -1, tsig = 0;

	if (!isfinite(p->value))
		return;
	fputs(" '", f);
	for (const char *s = p->label; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s == '|' ? '/' : *s, f);
	}
	{
		double t[2];
		int nt = 0;

		if (p->has_warn)
			t[nt++] = p->warn;
		if (p->has_crit)
			t[nt++] = p->crit;
		/* a threshold of more than 15 digits that the value is at
		 * when both are read back: written with 16 or 17 (at or above
		 * 10.00000000000001 was '10;@10:', bad to a reader of the
		 * perfdata where the plugin said OK) */
		while (!value_num(num, sizeof(num), p->value, t, nt, tsig) && tsig < 17)
			tsig = tsig ? tsig + 1 : 16;
	}
	fprintf(f, "'=%s%s", num, p->uom);
	for (int i = 0; i < 4; i++) {
		int has = i == 0 ? p->has_warn : i == 1 ? p->has_crit : i == 2 ? p->has_min : p->has_max;

		fields[i] = "";
		if (!has)
			continue;
		if (i < 2)
			range_put(buf[i], sizeof(buf[i]), p->op, i == 0 ? p->warn : p->crit, tsig);
		else
			nagios_num(buf[i], sizeof(buf[i]), i == 2 ? p->min : p->max);
		fields[i] = buf[i];
		last = i;
	}
	for (int i = 0; i <= last; i++)
		fprintf(f, ";%s", fields[i]);
}

void nagios_text_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\x7c", f);
		else
			fputc(*s, f);
	}
}
