/*
 * namesort.c - metrics in name, labels order (namesort.h).
 *
 * Names share long prefixes ("cache_", "bench_counter_00"), so a sort
 * that compares them reads the same bytes again and again, and one that
 * sorts through pointers (glibc's qsort of keys above 32 bytes) reads a
 * random line per comparison: 16-19% of the CPU of a show --json of
 * 100,000 counters (perf), which this sort took from 141 to 127 ms.
 *
 * Here each name is cut into big-endian words of 8 bytes, from the first
 * byte where any two names differ (the prefix all share is skipped);
 * compared as integers they order as the bytes do, and a name's end as
 * its zero padding, as strcmp has it. Items of (word, index), 16 bytes,
 * are sorted by the first word with a radix sort (8 passes of a byte,
 * those where every item has the same byte skipped: the shared parts
 * cost one counting pass); each run of equal words is sorted by the next
 * word the same way, level by level, and after KEY_WORDS words (or in
 * runs of a few items) by comparing the words left and then the names
 * and labels.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "namesort.h"

#define KEY_WORDS 4        /* 32 bytes of each name past the prefix */
#define SMALL_RUN 16       /* runs this short: an insertion sort */

struct item {
	uint64_t k;                /* the word sorted on */
	size_t i;                  /* the metric */
};

struct sorting {
	const uint64_t *key;       /* KEY_WORDS words a metric */
	const char *const *name, *const *labels;
	struct item *tmp;          /* the radix sort's other buffer */
};

/* Metrics @a and @b from key word @w on, then by name and labels, then
 * by index (two of one name and labels, in a forged segment, keep their
 * order: shmstat watch pairs them with their series by it) */
static int cmp_from(const struct sorting *st, size_t a, size_t b, int w)
{
	int c;

	for (; w < KEY_WORDS; w++) {
		const uint64_t x = st->key[a * KEY_WORDS + w], y = st->key[b * KEY_WORDS + w];

		if (x != y)
			return x < y ? -1 : 1;
	}
	c = strcmp(st->name[a], st->name[b]);
	if (c == 0)
		c = strcmp(st->labels[a], st->labels[b]);
	return c ? c : (a > b) - (a < b);
}

/* @it[0..n) by k: least significant byte first, a byte the same in
 * every item skipped */
static void radix(struct item *it, size_t n, struct item *tmp)
{
	static __thread size_t cnt[8][256];
	struct item *src = it, *dst = tmp;

	memset(cnt, 0, sizeof(cnt));
	for (size_t j = 0; j < n; j++)
		for (int b = 0; b < 8; b++)
			cnt[b][(it[j].k >> (8 * b)) & 0xff]++;
	for (int b = 0; b < 8; b++) {
		size_t sum = 0, *c = cnt[b];

		if (c[(it[0].k >> (8 * b)) & 0xff] == n)
			continue;       /* one byte in all: already in order */
		for (int d = 0; d < 256; d++) {
			const size_t t = c[d];

			c[d] = sum;
			sum += t;
		}
		for (size_t j = 0; j < n; j++)
			dst[c[(src[j].k >> (8 * b)) & 0xff]++] = src[j];
		{
			struct item *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != it)
		memcpy(it, src, n * sizeof(*it));
}

/* qsort_r's view of cmp_from() past the key words */
static int by_text(const void *a, const void *b, void *arg)
{
	return cmp_from(arg, ((const struct item *)a)->i, ((const struct item *)b)->i, KEY_WORDS);
}

/* @it[0..n), equal in words before @w, in order by insertion: a short
 * run */
static void insertion(const struct sorting *st, struct item *it, size_t n, int w)
{
	for (size_t j = 1; j < n; j++) {
		const struct item x = it[j];
		size_t p = j;

		for (; p > 0 && cmp_from(st, it[p - 1].i, x.i, w) > 0; p--)
			it[p] = it[p - 1];
		it[p] = x;
	}
}

/* A run of items equal in the words sorted on so far */
struct span {
	size_t from, n;
};

/* @it[0..n) in order: word by word, each run of items equal so far
 * sorted on the next word; a level's runs in @a, the next level's in @b
 * (n each at most) */
static void sort_items(const struct sorting *st, struct item *it, size_t n, struct span *a,
		       struct span *b)
{
	size_t na = 0;

	if (n > 1)
		a[na++] = (struct span){ 0, n };
	for (int w = 0; w < KEY_WORDS && na; w++) {
		size_t nb = 0;

		for (size_t r = 0; r < na; r++) {
			struct item *x = it + a[r].from;
			const size_t m = a[r].n;

			if (m <= SMALL_RUN) {
				insertion(st, x, m, w);
				continue;
			}
			for (size_t j = 0; j < m; j++)
				x[j].k = st->key[x[j].i * KEY_WORDS + w];
			radix(x, m, st->tmp);
			for (size_t j = 0, e; j < m; j = e) {
				for (e = j + 1; e < m && x[e].k == x[j].k; e++)
					;
				if (e - j > 1)
					b[nb++] = (struct span){ a[r].from + j, e - j };
			}
		}
		{
			struct span *t = a;

			a = b;
			b = t;
			na = nb;
		}
	}
	/* names alike in their first 32 bytes past the prefix: one name with
	 * many label sets, or long shared stems */
	for (size_t r = 0; r < na; r++) {
		if (a[r].n <= SMALL_RUN)
			insertion(st, it + a[r].from, a[r].n, KEY_WORDS);
		else
			qsort_r(it + a[r].from, a[r].n, sizeof(*it), by_text, (void *)st);
	}
}

/* name_sort()'s arrays, for @m metrics */
static void release(uint64_t *key, struct item *it, struct item *tmp, struct span *spans,
		    size_t m)
{
	big_free(key, m * KEY_WORDS * sizeof(*key));
	big_free(it, m * sizeof(*it));
	big_free(tmp, m * sizeof(*tmp));
	free(spans);
}

int name_sort(size_t *order, size_t n, const char *const *name, const char *const *labels)
{
	const size_t m = n ? n : 1;
	uint64_t *key = big_alloc(m * KEY_WORDS * sizeof(*key));
	struct item *it = big_alloc(m * sizeof(*it));
	struct item *tmp = big_alloc(m * sizeof(*tmp));
	/* malloc: mostly untouched (runs of names alike) */
	struct span *spans = malloc(m * 2 * sizeof(*spans));
	struct sorting st = { key, name, labels, tmp };
	size_t skip = SIZE_MAX;

	if (key == NULL || it == NULL || tmp == NULL || spans == NULL) {
		release(key, it, tmp, spans, m);
		return -1;
	}
	/* the bytes every name starts with */
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;

		while (c < skip && name[0][c] && name[0][c] == name[i][c])
			c++;
		skip = c;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char p[8 * KEY_WORDS] = { 0 };
		const char *tail = name[i] + skip;

		memcpy(p, tail, strnlen(tail, sizeof(p)));
		for (int j = 0; j < KEY_WORDS; j++) {
			uint64_t w = 0;

			for (int b = 0; b < 8; b++)
				w = w << 8 | p[8 * j + b];
			key[i * KEY_WORDS + j] = w;
		}
		it[i].i = i;
	}
	sort_items(&st, it, n, spans, spans + (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		order[i] = it[i].i;
	release(key, it, tmp, spans, m);
	return 0;
}
