/*
 * namesort.h - metrics in name, labels order (namesort.c), the order every
 * listing of shmstat prints them in, fast for the many names that share
 * long prefixes ("bench_counter_000123_total").
 */
#ifndef SHMSTAT_NAMESORT_H
#define SHMSTAT_NAMESORT_H

#include <stddef.h>

/* @order[0..n) (filled here) the indices of @name / @labels (n each) in
 * strcmp order of the names, then of the labels. 0, or -1 when out of
 * memory. */
int name_sort(size_t *order, size_t n, const char *const *name, const char *const *labels);

#endif
