/*
 * watch_names.c - shmstat watch's names told apart (watch.h): the rows
 * shown together whose names, each cut to its column (watch_name() in
 * watch_rows.c), would be one text, cut anew to show where they differ;
 * and the selected row's whole name, cut so too.
 *
 * Rows whose names, cut to their column, come out as one text (label
 * values alike where they were cut, names alike before it) are cut
 * anew: the start of the name (the metric's name and '{'), then, after
 * '~', each place where the row differs from those it was confused
 * with, with the word there (letters and digits; a quarter of the width
 * each way at most), then whole words around as the width allows, the
 * name's start taking what is left; '~' marks each cut. At 41 cells:
 *
 *   al_requests_total{~"200"~orders/pending"}
 *   al_requests_total{~"500"~orders/shipped"}
 *
 * (cut alone, the two rows of code 200 were one text,
 * al_requests_total{200,/api/v1/accounts/~}, and the two of 500 too).
 *
 * Why this and not the key's end or the differing label alone: the
 * first difference alone was ambiguous (two labels that differ, each
 * row alike to one other in each: code and the route's end above, then
 * rows showing only "pending" or only "200" were one text again), the
 * key's end misses a difference in the middle (a name that differs
 * before its labels), and a label's value may differ in its middle too.
 * Every place that tells two rows apart is kept, each as a whole word
 * where room allows: what a reader compares, row against row, at the
 * same place in each. Rows alike to no other keep their cut (watch_name).
 */
#include <stdlib.h>
#include <string.h>

#include "watch.h"

#define APART_POINTS 8          /* places a row keeps that tell it apart */
#define APART_NEAR 8            /* rows of one text compared with each */
#define APART_ROUNDS 16         /* at most: texts equal again, cut anew */
#define WORD_SIDE 12            /* cells of the word that differs, each way
				 * (a quarter of the width if less, 3 at least) */

/* bytes [a, b) of the key shown */
struct span {
	size_t a, b;
};

struct apart {
	size_t pt[APART_POINTS];   /* sorted offsets in the row's name */
	int npt;
};

/* Cells of the @n bytes of @s. */
static int cells_n(const char *s, size_t n)
{
	int c = 0;

	for (size_t len, o = 0; o < n && s[o]; o += len)
		c += cp_cells(s + o, &len);
	return c;
}

/* The start of the code point before @pos in @s */
static size_t cp_back(const char *s, size_t pos)
{
	if (pos == 0)
		return 0;
	pos--;
	while (pos > 0 && ((unsigned char)s[pos] & 0xc0) == 0x80)
		pos--;
	return pos;
}

/* A byte of a word: a letter, a digit, or one of a UTF-8 character */
static int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

struct spans {
	const char *key;
	size_t len;
	struct span s[APART_POINTS + 1];   /* s[0]: the head, from 0 */
	int n;
	int cost;                  /* cells: the spans, '~' between, at the end */
	int width;
};

static void spans_drop(struct spans *sp, int i)
{
	memmove(&sp->s[i], &sp->s[i + 1], (size_t)(sp->n - i - 1) * sizeof(sp->s[0]));
	sp->n--;
}

/* Span @i one code point longer on the right; 0 when it is not (the
 * key's end, or no room). Spans that meet are one. */
static int grow_right(struct spans *sp, int i)
{
	size_t len, b = sp->s[i].b;
	int d;

	if (b >= sp->len)
		return 0;
	d = cp_cells(sp->key + b, &len);
	b += len;
	/* no '~' between it and the next, or none at the end */
	if ((i + 1 < sp->n && b >= sp->s[i + 1].a) || (i + 1 == sp->n && b >= sp->len))
		d--;
	if (sp->cost + d > sp->width)
		return 0;
	sp->cost += d;
	if (i + 1 < sp->n && b >= sp->s[i + 1].a) {
		sp->s[i].b = sp->s[i + 1].b;
		spans_drop(sp, i + 1);
	} else {
		sp->s[i].b = b;
	}
	return 1;
}

/* Span @i (not the head) one code point longer on the left; 0 when it
 * is not; 2 when it met the span before (and is one with it). */
static int grow_left(struct spans *sp, int i)
{
	size_t len, a = cp_back(sp->key, sp->s[i].a);
	int d = cp_cells(sp->key + a, &len), meet = a <= sp->s[i - 1].b;

	if (sp->s[i].a <= sp->s[i - 1].b)
		return 0;
	if (meet)
		d--;
	if (sp->cost + d > sp->width)
		return 0;
	sp->cost += d;
	if (meet) {
		sp->s[i - 1].b = sp->s[i].b;
		spans_drop(sp, i);
		return 2;
	}
	sp->s[i].a = a;
	return 1;
}

/* The end of the word at @b in @key (@len bytes): a run of word
 * bytes, else one code point */
static size_t word_end(const char *key, size_t len, size_t b)
{
	size_t clen;

	if (!word_byte((unsigned char)key[b])) {
		(void)cp_cells(key + b, &clen);
		return b + clen < len ? b + clen : len;
	}
	while (b < len && word_byte((unsigned char)key[b]))
		b++;
	return b;
}

/* The start of the word before @a in @key */
static size_t word_start(const char *key, size_t a)
{
	size_t p = cp_back(key, a);

	if (word_byte((unsigned char)key[p]))
		while (p > 0 && word_byte((unsigned char)key[p - 1]))
			p--;
	return p;
}

/* Span @i longer by the word after it, when it all fits; 0 if not */
static int grow_word_right(struct spans *sp, int i)
{
	size_t b = sp->s[i].b, e;
	int meet, d;

	if (b >= sp->len)
		return 0;
	e = word_end(sp->key, sp->len, b);
	meet = i + 1 < sp->n && e >= sp->s[i + 1].a;
	if (meet)
		e = sp->s[i + 1].a;
	d = cells_n(sp->key + b, e - b) - meet - (i + 1 == sp->n && e >= sp->len);
	if (sp->cost + d > sp->width)
		return 0;
	while (sp->s[i].b < e && grow_right(sp, i))
		;
	return 1;
}

/* Span @i (not the head) longer by the word before it, when it all
 * fits; 0 if not, 2 when it met the span before */
static int grow_word_left(struct spans *sp, int i)
{
	size_t a = sp->s[i].a, st;
	int meet, d, r = 0;

	if (a <= sp->s[i - 1].b)
		return 0;
	st = word_start(sp->key, a);
	meet = st <= sp->s[i - 1].b;
	if (meet)
		st = sp->s[i - 1].b;
	d = cells_n(sp->key + st, a - st) - meet;
	if (sp->cost + d > sp->width)
		return 0;
	while ((r = grow_left(sp, i)) == 1 && sp->s[i].a > st)
		;
	return r == 2 ? 2 : 1;
}

/* @key (@len bytes, longer than @width cells) in @width cells: its
 * start (up to @head_end bytes: a name and '{', a labels line's "TYPE,
 * unit U, labels "), and the code points at @pt[0..npt-1] (sorted) with
 * what is around them. */
static void cut_apart(char *buf, size_t n, const char *key, size_t len, size_t head_end,
		      const size_t *pt, int npt, int width)
{
	struct spans sp = { .key = key, .len = len, .n = 1, .width = width };
	size_t o = 0;
	int progress, head, side;

	/* each place: its code point (the end of the key: the last one) */
	for (int k = 0; k < npt; k++) {
		size_t a = pt[k] < len ? pt[k] : cp_back(key, len), clen;
		int c = cp_cells(key + a, &clen);
		struct span *last = &sp.s[sp.n - 1];

		if (a < last->b)
			continue;
		if (a == last->b) {                        /* next to it */
			if (sp.cost + c > width)
				break;
			last->b = a + clen;
			sp.cost += c;
			continue;
		}
		if (sp.cost + c + 1 > width - 1)   /* '~' before, room for one at the end */
			break;
		sp.s[sp.n].a = a;
		sp.s[sp.n].b = a + clen;
		sp.n++;
		sp.cost += c + 1;
	}
	sp.cost += sp.s[sp.n - 1].b < len;
	/* the words that differ: their ends, then their starts, WORD_SIDE
	 * cells each way at most (a long run of digits or hex), a quarter
	 * of the width kept for the name's start */
	side = width < 12 ? 3 : width / 4 < WORD_SIDE ? width / 4 : WORD_SIDE;
	head = cells_n(key, head_end);
	sp.width = width - (head < width / 4 ? head : width / 4);
	for (int i = 1; i < sp.n; i++) {
		size_t b0 = sp.s[i].b;

		while (sp.s[i].b < len && word_byte((unsigned char)key[sp.s[i].b]) &&
		       cells_n(key + b0, sp.s[i].b - b0) < side && grow_right(&sp, i))
			;
	}
	for (int i = 1; i < sp.n; i++) {
		size_t a0 = sp.s[i].a;

		for (int r = 1; r == 1 && word_byte((unsigned char)key[cp_back(key, sp.s[i].a)]) &&
				cells_n(key + sp.s[i].a, a0 - sp.s[i].a) < side;)
			if ((r = grow_left(&sp, i)) == 2)
				i--;
	}
	sp.width = width;
	/* the metric's name and '{', in half the width at most */
	while (sp.s[0].b < head_end && cells_n(key, sp.s[0].b) < width / 2 &&
	       grow_right(&sp, 0))
		;
	/* then around each place, the last first, word by word as long as
	 * words fit (not by code points: "~e_upstream_q~" read worse than
	 * "~_upstream_~"); what is left goes to the start, a prefix */
	do {
		progress = 0;
		for (int i = sp.n - 1; i >= 1; i--) {
			progress |= grow_word_right(&sp, i);
			if (grow_word_left(&sp, i) != 0)
				progress = 1;
		}
	} while (progress);
	while (grow_right(&sp, 0))
		;
	for (int i = 0; i < sp.n && o + 1 < n; i++) {
		size_t take = sp.s[i].b - sp.s[i].a;

		if (i > 0 && o + 2 < n)
			buf[o++] = '~';
		take = take < n - o - 1 ? take : n - o - 1;
		while (take > 0 && take < sp.s[i].b - sp.s[i].a &&
		       ((unsigned char)key[sp.s[i].a + take] & 0xc0) == 0x80)
			take--;                        /* a code point whole */
		memcpy(buf + o, key + sp.s[i].a, take);
		o += take;
	}
	if (sp.s[sp.n - 1].b < len && o + 2 < n)
		buf[o++] = '~';
	buf[o < n ? o : n - 1] = '\0';
}

/* The bytes of @key before its labels: the metric's name and '{' */
static size_t name_head(const char *key)
{
	size_t h = strcspn(key, "{");

	return h + (key[h] == '{');
}

/* The name of @r in @width cells, showing the places @a (offsets in
 * r->name); watch_name()'s when there are none. */
static void name_apart(char *buf, size_t n, const struct row *r, const struct apart *a, int width)
{
	const char *tail = r->name + r->keylen;
	size_t keylen = r->keylen;
	int tcells = cells(tail);

	if (a == NULL || a->npt == 0 || cells(r->name) <= width) {
		watch_name(buf, n, r, width);
		return;
	}
	if (tcells + 4 > width) {       /* a ratio's " hit ratio" cut too */
		keylen = strlen(r->name);
		tail = "";
		tcells = 0;
	}
	if (cells_n(r->name, keylen) <= width - tcells) {
		snprintf(buf, n, "%s", r->name);
		return;
	}
	cut_apart(buf, n, r->name, keylen, name_head(r->name), a->pt, a->npt, width - tcells);
	snprintf(buf + strlen(buf), n - strlen(buf), "%s", tail);
}

/* Bytes @x and @y have alike at their start, a code point whole */
static size_t common_start(const char *x, const char *y)
{
	size_t k = 0;

	while (x[k] && x[k] == y[k])
		k++;
	while (k > 0 && ((unsigned char)x[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* Place @p in @a (sorted, no twice); 1 when it is new */
static int add_point(struct apart *a, size_t p)
{
	int k = 0;

	while (k < a->npt && a->pt[k] < p)
		k++;
	if ((k < a->npt && a->pt[k] == p) || a->npt == APART_POINTS)
		return 0;
	memmove(&a->pt[k + 1], &a->pt[k], (size_t)(a->npt - k) * sizeof(a->pt[0]));
	a->pt[k] = p;
	a->npt++;
	return 1;
}

struct names_sort {
	char **text;
	const struct row *const *row;
};

static int by_text(const void *x, const void *y, void *arg)
{
	const struct names_sort *ns = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = strcmp(ns->text[i], ns->text[j]);

	if (c == 0)
		c = strcmp(ns->row[i]->name, ns->row[j]->name);
	return c ? c : (i > j) - (i < j);
}

void watch_names_free(char **names, size_t n)
{
	for (size_t k = 0; names && k < n; k++)
		free(names[k]);
	free(names);
}

char **watch_names(const struct row *rows, const size_t *idx, size_t n, int width)
{
	const struct row **row = malloc((n ? n : 1) * sizeof(struct row *));
	char **text = calloc(n ? n : 1, sizeof(*text)), buf[WATCH_NAME_MAX + 8];
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	struct apart *ap = NULL;
	struct names_sort ns = { text, row };
	int again = 1;

	if (row == NULL || text == NULL || order == NULL)
		goto fail;
	for (size_t k = 0; k < n; k++) {
		row[k] = &rows[idx ? idx[k] : k];
		watch_name(buf, sizeof(buf), row[k], width);
		if ((text[k] = strdup(buf)) == NULL)
			goto fail;
	}
	/* texts alike (names not): the places where each differs from the
	 * others of its text, kept (a text cut anew may be another's: then
	 * those rows are compared too), until no text is another's or no
	 * place is new */
	for (int round = 0; again && round < APART_ROUNDS; round++) {
		again = 0;
		for (size_t k = 0; k < n; k++)
			order[k] = k;
		qsort_r(order, n, sizeof(*order), by_text, &ns);
		for (size_t g = 0, e; g < n; g = e) {
			for (e = g + 1; e < n && strcmp(text[order[e]], text[order[g]]) == 0; e++)
				;
			if (e - g < 2 || strcmp(row[order[g]]->name, row[order[e - 1]]->name) == 0)
				continue;       /* one row, or one name (forged) */
			if (ap == NULL && (ap = calloc(n, sizeof(*ap))) == NULL)
				goto fail;
			/* sorted by name: the nearest share the most */
			for (size_t k = g; k < e; k++)
				for (size_t j = k > g + APART_NEAR ? k - APART_NEAR : g;
				     j < e && j <= k + APART_NEAR; j++) {
					const char *x = row[order[k]]->name, *y = row[order[j]]->name;

					if (j != k && strcmp(x, y) != 0)
						again |= add_point(&ap[order[k]], common_start(x, y));
				}
			for (size_t k = g; k < e; k++) {
				char *t;

				name_apart(buf, sizeof(buf), row[order[k]], &ap[order[k]], width);
				if ((t = strdup(buf)) == NULL)
					goto fail;
				free(text[order[k]]);
				text[order[k]] = t;
			}
		}
	}
	free(ap);
	free(order);
	free(row);
	return text;
fail:
	free(ap);
	free(order);
	free(row);
	watch_names_free(text, n);
	return NULL;
}

/* @text of row @sel in @width cells: cut at its end ('~'); or, when
 * the @text_of() of others of @rows, @idx, @nidx (as watch_names()
 * takes them), @other only, would be the same text cut (alike at least
 * up to the cut), cut anew from its first @head bytes to show each
 * place where it differs from theirs (cut_apart()). */
static void text_sel(char *buf, size_t n, const char *text, size_t head, const struct row *rows,
		     const size_t *idx, size_t nidx, size_t sel, int width,
		     void (*text_of)(char *, size_t, const struct row *),
		     int (*other)(const struct row *, const struct row *))
{
	const struct row *r = &rows[idx ? idx[sel] : sel];
	char o[WATCH_LINE_MAX];
	struct apart a = { .npt = 0 };
	size_t shown;

	cut_cells(buf, n, text, width);
	if (cells(text) <= width)
		return;
	shown = strlen(buf) - 1;        /* its start, before '~' */
	for (size_t k = 0; k < nidx; k++) {
		const struct row *x = &rows[idx ? idx[k] : k];
		size_t p;

		if (k == sel || !other(r, x))
			continue;
		text_of(o, sizeof(o), x);
		p = common_start(text, o);
		if (p >= shown && strcmp(o, text) != 0)
			add_point(&a, p);
	}
	if (a.npt > 0)
		cut_apart(buf, n, text, strlen(text), head, a.pt, a.npt, width);
}

/* A row's whole name (a ratio's " hit ratio" a part of it) */
static void whole_name(char *buf, size_t n, const struct row *r)
{
	snprintf(buf, n, "%s", r->name);
}

static int any_other(const struct row *r, const struct row *x)
{
	(void)r;
	(void)x;
	return 1;
}

void watch_name_sel(char *buf, size_t n, const struct row *rows, const size_t *idx, size_t nidx,
		    size_t sel, int width)
{
	const struct row *r = &rows[idx ? idx[sel] : sel];

	text_sel(buf, n, r->name, name_head(r->name), rows, idx, nidx, sel, width, whole_name,
		 any_other);
}

/* The labels of @r, escaped (as in its key, between '{' and '}'): @len
 * bytes at the return; none for a ratio or a name without labels */
static const char *row_labels(const struct row *r, size_t *len)
{
	size_t h = strcspn(r->name, "{");

	if (r->ratio || h + 1 >= r->keylen || r->name[r->keylen - 1] != '}') {
		*len = 0;
		return "";
	}
	*len = r->keylen - h - 2;
	return r->name + h + 1;
}

/* The labels line's start, before the labels: its bytes in @buf */
static size_t labels_head(char *buf, size_t n, const struct row *r)
{
	int k = snprintf(buf, n, "%s, unit %s, labels ", shmstat_type_name(r->type),
			 r->unit[0] ? r->unit : "-");

	return k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1;
}

void watch_labels_line(char *buf, size_t n, const struct row *r)
{
	size_t len, o;
	const char *l = row_labels(r, &len);

	if (r->ratio) {
		snprintf(buf, n, "hit ratio: VALUE since creation; 1m 5m 15m: over the last minutes");
		return;
	}
	o = labels_head(buf, n, r);
	snprintf(buf + o, n - o, "%.*s%s%s", len ? (int)len : 1, len ? l : "-",
		 r->detail[0] ? ", last interval " : "", r->detail);
}

/* Rows whose labels differ (a ratio has none) */
static int other_labels(const struct row *r, const struct row *x)
{
	size_t lr, lx;
	const char *a = row_labels(r, &lr), *b = row_labels(x, &lx);

	return !x->ratio && (lr != lx || memcmp(a, b, lr) != 0);
}

void watch_labels_sel(char *buf, size_t n, const struct row *rows, const size_t *idx, size_t nidx,
		      size_t sel, int width)
{
	const struct row *r = &rows[idx ? idx[sel] : sel];
	char text[WATCH_LINE_MAX], head[80];

	watch_labels_line(text, sizeof(text), r);
	if (r->ratio) {
		cut_cells(buf, n, text, width);
		return;
	}
	text_sel(buf, n, text, labels_head(head, sizeof(head), r), rows, idx, nidx, sel, width,
		 watch_labels_line, other_labels);
}
