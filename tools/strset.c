/*
 * strset.c - a set of strings with values (strset.h): open addressing
 * with linear probing over XXH3 hashes (glibc's hsearch_r hashes only a
 * key's first eight bytes or so, and metric names share long prefixes),
 * at most three quarters full, its keys copied into blocks that never
 * move.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "strset.h"

#define BLOCK 65536

struct slot {
	const char *key;           /* NULL: empty */
	uint32_t hash;             /* the hash's high half */
	int val;
};

struct block {
	struct block *next;
	size_t used, cap;
	char buf[];
};

struct strset {
	struct slot *slot;
	size_t mask;               /* slots - 1, slots a power of two */
	size_t n, max;
	struct block *blocks;      /* the newest first */
};

struct strset *strset_new(size_t max)
{
	struct strset *set = calloc(1, sizeof(*set));
	size_t size = 16;

	while (size / 4 * 3 < max)
		size *= 2;
	if (set != NULL)
		set->slot = calloc(size, sizeof(*set->slot));
	if (set == NULL || set->slot == NULL) {
		free(set);
		return NULL;
	}
	set->mask = size - 1;
	set->max = max;
	return set;
}

void strset_free(struct strset *set)
{
	if (set == NULL)
		return;
	while (set->blocks) {
		struct block *b = set->blocks;

		set->blocks = b->next;
		free(b);
	}
	free(set->slot);
	free(set);
}

/* The slot of @s: where it is, or the empty one where it would go */
static struct slot *find(const struct strset *set, const char *s, uint64_t h)
{
	for (size_t i = h & set->mask;; i = (i + 1) & set->mask) {
		struct slot *x = &set->slot[i];

		if (x->key == NULL || (x->hash == (uint32_t)(h >> 32) && strcmp(x->key, s) == 0))
			return x;
	}
}

int strset_get(const struct strset *set, const char *s, int *val)
{
	const struct slot *x = find(set, s, XXH3_64bits(s, strlen(s)));

	if (x->key == NULL)
		return 0;
	if (val)
		*val = x->val;
	return 1;
}

/* A copy of @s (@n bytes with its NUL) that stays where it is until the
 * set is freed */
static const char *keep(struct strset *set, const char *s, size_t n)
{
	struct block *b = set->blocks;

	if (b == NULL || b->cap - b->used < n) {
		const size_t cap = n > BLOCK ? n : BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = set->blocks;
		set->blocks = b;
	}
	memcpy(b->buf + b->used, s, n);
	b->used += n;
	return b->buf + b->used - n;
}

int strset_put(struct strset *set, const char *s, int val)
{
	const size_t n = strlen(s);
	const uint64_t h = XXH3_64bits(s, n);
	struct slot *x = find(set, s, h);

	if (x->key != NULL)
		return 0;
	if (set->n == set->max)
		return -1;
	x->key = keep(set, s, n + 1);
	if (x->key == NULL)
		return -1;
	x->hash = (uint32_t)(h >> 32);
	x->val = val;
	set->n++;
	return 0;
}
