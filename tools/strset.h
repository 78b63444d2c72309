/*
 * strset.h - a set of strings, each with a small value (strset.c): which
 * exported names a Prometheus exposition has given out (render/prom.c).
 * Sized once for the most strings it will hold; no allocation per string
 * but the arena's blocks.
 */
#ifndef SHMSTAT_STRSET_H
#define SHMSTAT_STRSET_H

#include <stddef.h>

struct strset;

/* A set for at most @max strings: NULL when out of memory. */
struct strset *strset_new(size_t max);
void strset_free(struct strset *set);

/* Is @s in @set? 1 and its value in *@val (when @val is not NULL), or 0. */
int strset_get(const struct strset *set, const char *s, int *val);

/* Put @s (copied) in @set with @val, unless it is there: 0, or -1 when
 * out of memory or when @set holds its @max strings already. */
int strset_put(struct strset *set, const char *s, int val);

#endif
