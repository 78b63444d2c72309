/*
 * units.h - the one way every shmstat command writes and reads a figure.
 *
 * A metric's unit is the string its writer registered
 * (shmstat_metric_def.unit); what it says:
 *
 *   "ns" or "nanoseconds"   time: printed as a duration, "21.9us", "1.52s"
 *   "bytes"                 printed in IEC units, "4.2 MiB"
 *   "micro_XXX"             millionths of XXX (a currency: "micro_USD"):
 *                           printed in XXX, "12.35 USD"
 *   anything else, or ""    a count: exact below 10,000, then three
 *                           significant digits with k, M, G, T, P, E
 *                           ("148k", "2.56M"), the unit word after it
 *                           when there is one ("148k requests")
 *
 * Words, everywhere (text, JSON keys, rules): "rate" is per second,
 * printed with "/s" ("148k/s"); "ratio" is a share in [0, 1], printed as
 * a percentage ("86.7%"; JSON and --raw: 0.867); "hit ratio" is
 * hits / (hits + misses).
 *
 * --raw: exact integers (or full-precision decimals) with no unit or
 * suffix, for scripts.
 *
 * Quantities on the command line and in rules (thresholds) may carry a
 * unit: parse_quantity() reads them into the base unit of their kind.
 */
#ifndef SHMSTAT_UNITS_H
#define SHMSTAT_UNITS_H

#include <stddef.h>

enum unit_kind { UNIT_COUNT, UNIT_NS, UNIT_BYTES, UNIT_MICRO };

/* What @unit (a registered unit; NULL is "") says. */
enum unit_kind unit_kind(const char *unit);

/* The unit word printed after a count (@unit itself for UNIT_COUNT,
 * the currency for UNIT_MICRO, "" for durations and bytes). */
const char *unit_word(const char *unit);

/* @v (in @unit) as a human figure, or with @raw its exact form (an
 * integer when @v is one, else %.17g). Buffers of FIG_LEN bytes hold
 * every figure. */
#define FIG_LEN 64
void fmt_fig(char *buf, size_t n, double v, const char *unit, int raw);

/* The same for an unsigned 64-bit value: exact with @raw, above 2^53 too. */
void fmt_fig_u64(char *buf, size_t n, unsigned long long v, const char *unit, int raw);

/* A rate per second of a figure in @unit: fmt_fig() and "/s" (with @raw:
 * %.10g, no suffix). Negative or non-finite: "-". */
void fmt_rate(char *buf, size_t n, double per_s, const char *unit, int raw);

/* A ratio in [0, 1]: "86.7%" (with @raw: %.10g, a fraction); NaN: "-". */
void fmt_ratio(char *buf, size_t n, double r, int raw);

/* A count in the number style above, no unit: "148k", "9999". */
void fmt_count(char *buf, size_t n, double v);

/* Kinds of a quantity written with a unit. */
enum qty_kind {
	QTY_PLAIN,      /* "0.9", "5000", "-1e3", "1.5k", "2M" (SI multipliers) */
	QTY_NS,         /* "2ms", "1.5s", "250us", "1h30m", "1.5e-3s": in ns */
	QTY_BYTES,      /* "15MB" (1e6), "15MiB" (2^20), "512B", "4k"B...: bytes */
	QTY_PERCENT,    /* "90%": the value is the fraction, 0.9 */
};

/* Read @s (the whole string): a decimal number, optionally with one
 * unit suffix; 0 with *@v in the base unit and *@kind, or -1 when @s is
 * not a quantity (empty, trailing text, inf, nan, hex). */
int parse_quantity(const char *s, double *v, enum qty_kind *kind);

/* "duration", "bytes", "percentage", "number" */
const char *qty_kind_name(enum qty_kind k);

#endif
