/*
 * nagios.c - performance data and ranges of the Nagios plugin output
 * (nagios.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nagios.h"

void nagios_num(char *buf, size_t n, double v)
{
	char e[40];
	int exp, dec;
	char *p;

	if (!isfinite(v) || v == 0) {
		snprintf(buf, n, "0");
		return;
	}
	snprintf(e, sizeof(e), "%.5e", v);            /* 6 significant digits */
	exp = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
	dec = exp >= 5 ? 0 : 5 - exp;
	if (dec > 20)
		dec = 20;
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

void nagios_range(char *buf, size_t n, enum rule_op op, double thr)
{
	char x[48];

	nagios_num(x, sizeof(x), thr);
	switch (op) {
	case RULE_GT: snprintf(buf, n, "~:%s", x); break;
	case RULE_LT: snprintf(buf, n, "%s:", x); break;
	case RULE_GE: snprintf(buf, n, "@%s:", x); break;
	case RULE_LE: snprintf(buf, n, "@~:%s", x); break;
	}
}

void nagios_perf_put(FILE *f, const struct nagios_perf *p)
{
	char num[48];
	const char *fields[4];
	char buf[4][64];
	int last = -1;

	if (!isfinite(p->value))
		return;
	fputs(" '", f);
	for (const char *s = p->label; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s == '|' ? '/' : *s, f);
	}
	nagios_num(num, sizeof(num), p->value);
	fprintf(f, "'=%s%s", num, p->uom);
	for (int i = 0; i < 4; i++) {
		int has = i == 0 ? p->has_warn : i == 1 ? p->has_crit : i == 2 ? p->has_min : p->has_max;

		fields[i] = "";
		if (!has)
			continue;
		if (i < 2)
			nagios_range(buf[i], sizeof(buf[i]), p->op, i == 0 ? p->warn : p->crit);
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
