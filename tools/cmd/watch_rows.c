/*
 * watch_rows.c - shmstat watch's model (watch.h): each metric's samples
 * (a series), and the rows of one refresh; then what its views share:
 * sparklines, display cells, lines of columns.
 *
 * A series keeps the newest sample and the one before (the rate of the
 * last interval), the rates of the last SPARK intervals, and a ring of
 * HISTORY samples at least RING_STEP apart (allocated as it fills,
 * RING_FIRST samples first; none when no average is shown, with
 * w->no_windows): an average over a window is
 * the increase since the newest sample at least that old, over the time
 * between; none ("-") until the watch has seen the metric that long. A
 * series whose metric a refresh does not see (removed) is forgotten at
 * the next one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmstat.h"
#include "cli.h"
#include "textsafe.h"
#include "watch.h"

const double watch_window_s[WINDOWS] = { 60, 300, 900 };
const char *const watch_window_name[WINDOWS] = { "1m", "5m", "15m" };

/* HISTORY samples this far apart span the longest window, with room */
#define RING_STEP (900.0 / (HISTORY - 24))

/* ------------------------------------------------------------ series */

/* -1 out of memory */
static int series_init(struct series *s, const char *key, uint64_t reg_id,
		       enum shmstat_type type)
{
	memset(s, 0, sizeof(*s));
	s->key = strdup(key);
	s->reg_id = reg_id;
	s->type = type;
	return s->key ? 0 : -1;
}

static void series_free(struct watch *w, struct series *s)
{
	shmstat_hdata_free(s->prev);
	free(s->ring);
	free(s->key);
	s->key = NULL;
	w->ring_bytes -= s->ringcap * sizeof(*s->ring);
	s->prev = NULL;
	s->ring = NULL;
	s->ringcap = 0;
}

/* FNV-1a, 64 bits */
static uint64_t key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

/* The index of w->s again, with room for twice @want series; -1 out of
 * memory (the old one kept). */
static int index_build(struct watch *w, size_t want)
{
	size_t cap = 64, *idx;

	while (cap <= 2 * want)
		cap *= 2;
	idx = calloc(cap, sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (size_t k = 0; k < w->n; k++) {
		size_t i = (size_t)w->s[k].hash & (cap - 1);

		while (idx[i])
			i = (i + 1) & (cap - 1);
		idx[i] = k + 1;
	}
	free(w->idx);
	w->idx = idx;
	w->idx_cap = cap;
	w->idx_stale = 0;
	return 0;
}

/* The series of @key, the @ord-th of that key in this refresh (0 but in
 * a forged segment), a new one if none (or none of this @reg_id and
 * @type). Looked up in a hash index: a scan of every series made the
 * first refresh of 30,000 metrics compare 450 million keys (7.7 s of
 * CPU). @ord is hashed too: 20,000 metrics of one key would otherwise
 * share a chain, each lookup walking it. */
static struct series *find_series(struct watch *w, const char *key, unsigned ord,
				  uint64_t reg_id, enum shmstat_type type)
{
	uint64_t h = key_hash(key) + ord * 0x9e3779b97f4a7c15ull;
	size_t i;

	if ((w->idx_stale || 2 * (w->n + 1) >= w->idx_cap) && index_build(w, w->n + 1) != 0)
		return NULL;
	for (i = (size_t)h & (w->idx_cap - 1); w->idx[i]; i = (i + 1) & (w->idx_cap - 1)) {
		struct series *se = &w->s[w->idx[i] - 1];

		w->probes++;
		if (se->hash != h)
			continue;
		/* a metric removed and made again (another reg_id) starts a
		 * new series, the old one forgotten at the next refresh; two
		 * metrics of one key (a forged segment) each keep their own:
		 * shared, each reset the other and their rates were "-" */
		if (!se->seen && se->ord == ord && se->reg_id == reg_id && se->type == type &&
		    strcmp(se->key, key) == 0)
			return se;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct series *ns = realloc(w->s, cap * sizeof(*ns));

		if (ns == NULL)
			return NULL;
		w->s = ns;
		w->cap = cap;
	}
	if (series_init(&w->s[w->n], key, reg_id, type) != 0)
		return NULL;
	w->s[w->n].hash = h;
	w->s[w->n].ord = ord;
	w->idx[i] = w->n + 1;
	return &w->s[w->n++];
}

/* Forget the series of the metrics the last refresh did not see: they
 * were removed (or renamed). Without this, a writer that churns names (a
 * label per tenant or connection, shmstat_remove()) grew a watch by a
 * series, about 17 KiB, for every name it ever had, and slowed every
 * lookup: 91 MiB after 1,000 refreshes of a writer making 540 names a
 * second. */
static void forget_unseen(struct watch *w)
{
	size_t kept = 0;

	for (size_t k = 0; k < w->n; k++) {
		if (!w->s[k].seen) {
			series_free(w, &w->s[k]);
			continue;
		}
		if (kept != k)
			w->s[kept] = w->s[k];
		kept++;
	}
	if (kept != w->n)
		w->idx_stale = 1;
	w->n = kept;
}

void watch_reset(struct watch *w)
{
	for (size_t k = 0; k < w->n; k++)
		series_free(w, &w->s[k]);
	w->n = 0;
	w->idx_stale = 1;
}

void watch_free(struct watch *w)
{
	watch_reset(w);
	free(w->s);
	free(w->idx);
	w->s = NULL;
	w->idx = NULL;
	w->cap = w->idx_cap = 0;
}

/* Room in the ring of @s for one more sample: a full ring doubles (its
 * samples in order: the oldest first, as head is 0), up to HISTORY; else
 * the oldest is overwritten. -1: no ring. */
static int ring_room(struct watch *w, struct series *s)
{
	if (s->n == s->ringcap && s->head == 0 && s->ringcap < HISTORY) {
		unsigned cap = s->ringcap ? 2 * s->ringcap : RING_FIRST;
		struct sample *r;

		cap = cap < HISTORY ? cap : HISTORY;
		r = realloc(s->ring, cap * sizeof(*r));
		if (r != NULL) {
			w->ring_bytes += (cap - s->ringcap) * sizeof(*r);
			s->ring = r;
			s->head = s->n;
			s->ringcap = cap;
		}
	}
	return s->ringcap ? 0 : -1;
}

static void push(struct watch *w, struct series *s, uint64_t v, double t)
{
	if (s->samples > 0) {
		double dt = t - s->last_t;
		/* a value that went back (not a counter's way): no rate */
		double r = dt > 0 && v >= s->last_v ? (double)(v - s->last_v) / dt : NAN;

		if (s->nrates == SPARK)
			memmove(s->rates, s->rates + 1, (SPARK - 1) * sizeof(double));
		else
			s->nrates++;
		s->rates[s->nrates - 1] = r;
		s->prev_v = s->last_v;
		s->prev_t = s->last_t;
	}
	s->last_v = v;
	s->last_t = t;
	s->samples++;
	if (w->no_windows)
		return;
	if ((s->n == 0 || t - s->ring[(s->head + s->ringcap - 1) % s->ringcap].t >= RING_STEP) &&
	    ring_room(w, s) == 0) {
		s->ring[s->head].v = v;
		s->ring[s->head].t = t;
		s->head = (s->head + 1) % s->ringcap;
		if (s->n < s->ringcap)
			s->n++;
	}
}

/* The newest kept sample at least @win seconds older than the newest
 * one: its value *@v and age *@age; -1 when the watch has none that old. */
static int back(const struct series *s, double win, uint64_t *v, double *age)
{
	unsigned lo = 0, hi = s->n;      /* i-th newest: ages grow with i */

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (s->last_t - s->ring[(s->head + s->ringcap - 1 - mid) % s->ringcap].t >= win)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == s->n)
		return -1;
	*v = s->ring[(s->head + s->ringcap - 1 - lo) % s->ringcap].v;
	*age = s->last_t - s->ring[(s->head + s->ringcap - 1 - lo) % s->ringcap].t;
	return 0;
}

/* The increase of @s over window @win: -1 when not observed yet (or the
 * value went back). */
static int window_increase(const struct series *s, double win, double *inc, double *age)
{
	uint64_t v0;

	if (back(s, win, &v0, age) != 0 || v0 > s->last_v || !(*age > 0))
		return -1;
	*inc = (double)(s->last_v - v0);
	return 0;
}

/* ----------------------------------------------------- hit-ratio pairs */

/* Series ordered by metric name, then by full key, so that a name's label
 * sets are adjacent: the hit-ratio pairing looks up by bsearch. */
static int key_order(const char *a, const char *b)
{
	size_t la = strcspn(a, "{"), lb = strcspn(b, "{");
	int c = strncmp(a, b, la < lb ? la : lb);

	if (c == 0 && la != lb)
		return la < lb ? -1 : 1;
	return c ? c : strcmp(a, b);
}

static int by_key(const void *a, const void *b)
{
	return key_order((*(const struct series *const *)a)->key,
			 (*(const struct series *const *)b)->key);
}

/* First series of @idx[0..n-1] not before @key (by key_order). */
static size_t lower(const struct series *const *idx, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_order(idx[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The twin of a hits series: the same key with "hits" -> "misses" in its
 * name. */
static const struct series *twin(const struct series *const *idx, size_t n, const char *key)
{
	char k2[WATCH_NAME_MAX];
	const char *h = strstr(key, "hits");
	size_t at;

	if (h == NULL || (size_t)(h - key) >= strcspn(key, "{"))
		return NULL;
	snprintf(k2, sizeof(k2), "%.*smisses%s", (int)(h - key), key, h + 4);
	at = lower(idx, n, k2);
	return at < n && strcmp(idx[at]->key, k2) == 0 ? idx[at] : NULL;
}

/* Hits and misses of the series @x[0..nh-1] (hits) and @x[nh..nh+nm-1]
 * (misses) over window @win (0: their totals; < 0: the last interval).
 * -1 when some series has not been watched that long. */
static int sum_window(const struct series *const *x, size_t nh, size_t nm, double win,
		      double *dh, double *dm)
{
	*dh = *dm = 0;
	for (size_t k = 0; k < nh + nm; k++) {
		double d, age;

		if (win == 0)
			d = (double)x[k]->last_v;
		else if (win < 0 && x[k]->samples >= 2 && x[k]->last_v >= x[k]->prev_v)
			d = (double)(x[k]->last_v - x[k]->prev_v);
		else if (win < 0 || window_increase(x[k], win, &d, &age) != 0)
			return -1;
		if (k < nh)
			*dh += d;
		else
			*dm += d;
	}
	return 0;
}

static double ratio_of(int err, double dh, double dm)
{
	return err == 0 && dh + dm > 0 ? dh / (dh + dm) : NAN;
}

/* The row of the hit ratio of @x[0..nh-1] (hits) and @x[nh..] (misses):
 * its value since their creation, its average over each window. */
static void ratio_row(const struct watch *w, struct row *r, size_t series, const char *label,
		      const char *what, const struct series *const *x, size_t nh, size_t nm)
{
	double dh, dm;
	int err;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%.*s hit ratio", (int)(sizeof(r->name) - 11), label);
	r->keylen = strlen(label) < sizeof(r->name) ? strlen(label) : 0;
	r->ratio = 1;
	r->type = SHMSTAT_COUNTER;
	err = sum_window(x, nh, nm, 0, &dh, &dm);
	fmt_ratio(r->value, sizeof(r->value), ratio_of(err, dh, dm), w->raw);
	err = sum_window(x, nh, nm, -1, &dh, &dm);
	fmt_ratio(r->last, sizeof(r->last), ratio_of(err, dh, dm), w->raw);
	for (int j = 0; j < WINDOWS; j++) {
		err = sum_window(x, nh, nm, watch_window_s[j], &dh, &dm);
		fmt_ratio(r->avg[j], sizeof(r->avg[j]), ratio_of(err, dh, dm), w->raw);
	}
	snprintf(r->help, sizeof(r->help), "hits / (hits + misses) of %.*s",
		 (int)(sizeof(r->help) - 27), what);
	r->rate_v = r->value_v = -INFINITY;     /* last when sorted by figures */
	r->series = series;
}

/* Rows of hit ratios, after the series are up to date: for each hits
 * series with a misses twin (same labels), and for each hits name whose
 * label sets have no twins, over all its label sets. */
static size_t ratio_rows(const struct watch *w, struct row *r)
{
	const struct series **idx = malloc((w->n ? w->n : 1) * sizeof(struct series *));
	size_t ns = 0, nr = 0;

	if (idx == NULL)
		return 0;
	for (size_t k = 0; k < w->n; k++)
		if (w->s[k].seen && w->s[k].samples > 0 && w->s[k].type != SHMSTAT_GAUGE)
			idx[ns++] = &w->s[k];
	qsort(idx, ns, sizeof(struct series *), by_key);
	for (size_t k = 0; k < ns;) {
		size_t len = strcspn(idx[k]->key, "{"), end = k, paired = 0;
		const char *hit = strstr(idx[k]->key, "hits");
		int hits = hit && (size_t)(hit - idx[k]->key) < len;

		while (end < ns && strcspn(idx[end]->key, "{") == len &&
		       strncmp(idx[end]->key, idx[k]->key, len) == 0)
			end++;          /* [k, end): one name's label sets */
		for (size_t j = k; hits && j < end; j++) {
			const struct series *x[2] = { idx[j], twin(idx, ns, idx[j]->key) };
			char what[2 * WATCH_NAME_MAX];

			if (x[1] == NULL)
				continue;
			snprintf(what, sizeof(what), "%s and %s", x[0]->key, x[1]->key);
			ratio_row(w, &r[nr++], (size_t)(idx[j] - w->s), idx[j]->key, what, x, 1, 1);
			paired++;
		}
		if (hits && paired < end - k) {
			char mname[WATCH_NAME_MAX], label[WATCH_NAME_MAX], what[2 * WATCH_NAME_MAX];
			const struct series **x;
			size_t m0, m1;

			snprintf(mname, sizeof(mname), "%.*smisses%.*s", (int)(hit - idx[k]->key),
				 idx[k]->key, (int)(len - (size_t)(hit - idx[k]->key) - 4), hit + 4);
			m0 = m1 = lower(idx, ns, mname);
			while (m1 < ns && strcspn(idx[m1]->key, "{") == strlen(mname) &&
			       strncmp(idx[m1]->key, mname, strlen(mname)) == 0)
				m1++;
			x = malloc((end - k + m1 - m0) * sizeof(struct series *));
			if (m1 > m0 && x) {
				memcpy(x, &idx[k], (end - k) * sizeof(struct series *));
				memcpy(x + (end - k), &idx[m0], (m1 - m0) * sizeof(struct series *));
				snprintf(label, sizeof(label), "%.*s{*}", (int)len, idx[k]->key);
				snprintf(what, sizeof(what), "every label set of %.*s and %s", (int)len,
					 idx[k]->key, mname);
				/* sorted after the name's last label set */
				ratio_row(w, &r[nr++], (size_t)(idx[end - 1] - w->s), label, what,
					  x, end - k, m1 - m0);
			}
			free(x);
		}
		k = end;
	}
	free(idx);
	return nr;
}

/* --------------------------------------------------------------- rows */

static int by_row(const void *a, const void *b, void *arg)
{
	const struct row *x = a, *y = b;
	const struct watch *w = arg;
	int c;

	if (w->sort == SORT_RATE && x->rate_v != y->rate_v)
		return x->rate_v < y->rate_v ? 1 : -1;
	if (w->sort == SORT_VALUE && x->value_v != y->value_v)
		return x->value_v < y->value_v ? 1 : -1;
	c = strcmp(w->s[x->series].key, w->s[y->series].key);
	if (c == 0 && x->series != y->series)   /* two metrics of one key */
		return x->series < y->series ? -1 : 1;
	return c ? c : x->ratio - y->ratio;
}

void watch_sort(struct watch *w, struct row *rows, size_t n)
{
	qsort_r(rows, n, sizeof(*rows), by_row, w);
}

/* "p50=.. p95=.. p99=.." of what histogram @i recorded since the last
 * snapshot (its copy kept in @se) */
static void interval_quantiles(const struct watch *w, const shmstat_snap *s, size_t i,
			       struct series *se, const char *unit, char *buf, size_t n)
{
	static const double q[] = { 0.5, 0.95, 0.99 };
	shmstat_hdata *h = NULL, *d = NULL;
	uint64_t out[3];
	char f[3][FIG_LEN];

	buf[0] = '\0';
	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) == 0 && se->prev &&
	    shmstat_hdata_sub(h, se->prev, &d) == 0 && shmstat_hdata_quantiles(d, q, 3, out) == 0) {
		for (int k = 0; k < 3; k++)
			fmt_fig_u64(f[k], sizeof(f[k]), out[k], unit, w->raw);
		snprintf(buf, n, "p50=%s p95=%s p99=%s", f[0], f[1], f[2]);
	}
	shmstat_hdata_free(d);
	shmstat_hdata_free(se->prev);
	se->prev = h;
}

/* The row of metric @m (index @i of @s), its series updated with the
 * sample taken at @t. */
static void metric_row(struct watch *w, const shmstat_snap *s, size_t i,
		       const struct shmstat_metric_info *m, struct series *se, double t,
		       struct row *r)
{
	/* a counter's figures are in its unit; a histogram counts values,
	 * a signature table hits */
	const char *unit = m->type == SHMSTAT_COUNTER ? m->unit : NULL;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", se->key);
	r->keylen = strlen(r->name);
	r->type = m->type;
	snprintf(r->unit, sizeof(r->unit), "%s", m->unit);
	text_safe(r->help, sizeof(r->help), m->help);
	r->series = (size_t)(se - w->s);
	r->rate_v = -INFINITY;
	if (m->type == SHMSTAT_GAUGE) {
		if (!m->has_value)
			snprintf(r->value, sizeof(r->value), "-");
		else if (w->raw)
			snprintf(r->value, sizeof(r->value), "%lld", (long long)m->gauge);
		else
			fmt_fig(r->value, sizeof(r->value), (double)m->gauge, m->unit, 0);
		snprintf(r->last, sizeof(r->last), "%s", r->value);
		r->value_v = m->has_value ? (double)m->gauge : -INFINITY;
		return;
	}
	if (m->type == SHMSTAT_HISTOGRAM)
		interval_quantiles(w, s, i, se, m->unit, r->detail, sizeof(r->detail));
	push(w, se, m->counter, t);
	fmt_fig_u64(r->value, sizeof(r->value), m->counter, unit, w->raw);
	r->value_v = (double)m->counter;
	if (se->nrates) {
		double last = se->rates[se->nrates - 1];

		fmt_rate(r->rate, sizeof(r->rate), last, unit, w->raw);
		r->rate_v = isnan(last) ? -1 : last;
	} else {
		snprintf(r->rate, sizeof(r->rate), "-");      /* one sample yet */
	}
	snprintf(r->last, sizeof(r->last), "%s", r->rate);
	for (int j = 0; j < WINDOWS; j++) {
		double inc, age;

		if (window_increase(se, watch_window_s[j], &inc, &age) == 0)
			fmt_rate(r->avg[j], sizeof(r->avg[j]), inc / age, unit, w->raw);
		else
			snprintf(r->avg[j], sizeof(r->avg[j]), "-");
	}
	r->nspark = se->nrates;
	memcpy(r->spark, se->rates, se->nrates * sizeof(double));
}

size_t watch_rows(struct watch *w, const shmstat_snap *s, double t, struct row **rows)
{
	size_t n = shmstat_snap_metrics(s), nr = 0, *order = metrics_sorted(s, n);
	/* a metric, and at most one ratio for each */
	struct row *r = calloc(n ? 2 * n : 1, sizeof(*r));

	*rows = r;
	if (order == NULL || r == NULL) {
		free(order);
		return 0;
	}
	forget_unseen(w);
	for (size_t k = 0; k < w->n; k++)
		w->s[k].seen = 0;
	for (size_t k = 0, ord = 0; k < n; k++) {
		struct shmstat_metric_info m;
		struct series *se;
		char key[METRIC_TEXT_MAX];

		shmstat_snap_metric(s, order[k], &m);
		if (!metric_wanted(&m, w->inc, w->ninc, w->exc, w->nexc))
			continue;
		fmt_metric(key, sizeof(key), m.name, m.labels);
		/* metrics of one key (forged) come one after the other */
		ord = nr > 0 && strcmp(key, r[nr - 1].name) == 0 ? ord + 1 : 0;
		se = find_series(w, key, (unsigned)ord, m.reg_id, m.type);
		if (se == NULL)
			continue;
		se->seen = 1;
		metric_row(w, s, order[k], &m, se, t, &r[nr++]);
	}
	nr += ratio_rows(w, r + nr);
	watch_sort(w, r, nr);
	free(order);
	return nr;
}

/* ------------------------------------------------------ for the views */

static int imax(int a, int b)
{
	return a > b ? a : b;
}

void watch_spark(char *buf, size_t n, const struct row *r, unsigned ncells, int utf8)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	unsigned from = r->nspark > ncells ? r->nspark - ncells : 0;
	double top = 0;
	size_t o = 0;

	for (unsigned i = from; i < r->nspark; i++)
		if (r->spark[i] > top)
			top = r->spark[i];
	buf[0] = '\0';
	for (unsigned i = from; i < r->nspark && o + 4 < n; i++) {
		double v = isnan(r->spark[i]) ? 0 : r->spark[i];
		int b = top > 0 ? (int)(v / top * 7.0 + 0.5) : 0;

		b = b < 0 ? 0 : b > 7 ? 7 : b;
		if (utf8)
			o += (size_t)snprintf(buf + o, n - o, "%s", bars[b]);
		else
			buf[o++] = ascii[b];
		buf[o] = '\0';
	}
}

int cp_cells(const char *s, size_t *len)
{
	const int c = text_cp_cols(s, strlen(s), len);

	/* curses in a locale of single bytes: a cell a byte */
	return MB_CUR_MAX == 1 ? (int)*len : c;
}

int cells(const char *s)
{
	int c = 0;

	for (size_t len; *s; s += len)
		c += cp_cells(s, &len);
	return c;
}

void cut_cells(char *dst, size_t n, const char *s, int width)
{
	size_t o = 0, len;
	int c = 0;

	if (width <= 0 || n == 0) {
		if (n)
			dst[0] = '\0';
		return;
	}
	if (cells(s) <= width) {
		snprintf(dst, n, "%s", s);
		return;
	}
	for (int w; *s && c + (w = cp_cells(s, &len)) <= width - 1 && o + len + 2 < n; s += len) {
		memcpy(dst + o, s, len);
		o += len;
		c += w;
	}
	dst[o++] = '~';
	dst[o] = '\0';
}

/* @s without its first code points: its last @width cells at most */
static const char *last_cells(const char *s, int width)
{
	int c = cells(s);
	size_t len;

	while (*s && c > width) {
		c -= cp_cells(s, &len);
		s += len;
	}
	return s;
}

/* name{v1,v2,...} of key @k, name{k1="v1",k2="v2"} (canonical, made
 * printable): the labels' values alone, each cut to @cap cells ('~' when
 * cut); the longest value's cells in *@longest. -1 when @k's labels do
 * not read so. */
static int compact_key(char *buf, size_t n, const char *k, int cap, int *longest)
{
	size_t o = strcspn(k, "{");
	const char *p = k + o;

	if (*p != '{' || o + 2 >= n)
		return -1;
	memcpy(buf, k, o + 1);
	o++;
	*longest = 0;
	for (p++; *p != '}';) {
		char val[METRIC_TEXT_MAX], cut[METRIC_TEXT_MAX];
		size_t v = 0;

		p += strcspn(p, "=");
		if (p[0] != '=' || p[1] != '"')
			return -1;
		for (p += 2; *p && *p != '"' && v + 2 < sizeof(val); p++) {
			if (*p == '\\' && p[1])
				val[v++] = *p++;        /* an escape: its two characters */
			val[v++] = *p;
		}
		if (*p != '"')
			return -1;
		val[v] = '\0';
		*longest = imax(*longest, cells(val));
		cut_cells(cut, sizeof(cut), val, cap);
		o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%s%s", cut, p[1] == ',' ? "," : "");
		p += p[1] == ',' ? 2 : 1;
		if (*p == '\0' || o >= n)
			return -1;
	}
	snprintf(buf + o, o < n ? n - o : 0, "}");
	return o + 1 < n ? 0 : -1;
}

/* @key cut to @width cells, told apart from others by its labels */
static void cut_key(char *buf, size_t n, const char *key, int width)
{
	size_t at = strcspn(key, "{");
	char name[WATCH_NAME_MAX], c[WATCH_NAME_MAX];
	int longest = 0, cap;

	if (cells(key) <= width) {
		snprintf(buf, n, "%s", key);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)at, key);
	/* short labels: whole, the name cut */
	if (key[at] == '{' && cells(key + at) <= width / 2) {
		cut_cells(buf, n, name, width - cells(key + at));
		snprintf(buf + strlen(buf), n - strlen(buf), "%s", key + at);
		return;
	}
	/* long ones: their values alone, the longest cut first, down to 3
	 * cells each; then the name cut if it keeps 8 */
	if (key[at] == '{' && compact_key(c, sizeof(c), key, METRIC_TEXT_MAX, &longest) == 0) {
		/* the largest cap from 3 to longest - 1 that fits (else 3):
		 * cut values only grow with their cap, so a bisection finds it
		 * (one try a cell took 5 ms a row with values of 400 cells) */
		if (longest > 3 && cells(c) > width) {
			int lo = 3, hi = longest - 1;

			while (lo < hi) {
				cap = lo + (hi - lo + 1) / 2;
				compact_key(c, sizeof(c), key, cap, &longest);
				if (cells(c) <= width)
					lo = cap;
				else
					hi = cap - 1;
			}
			compact_key(c, sizeof(c), key, lo, &longest);
		}
		if (cells(c) <= width) {
			snprintf(buf, n, "%s", c);
			return;
		}
		if (cells(c + at) <= width - 8) {
			cut_cells(buf, n, name, width - cells(c + at));
			snprintf(buf + strlen(buf), n - strlen(buf), "%s", c + at);
			return;
		}
	}
	/* else its start and end */
	if (width < 3) {
		cut_cells(buf, n, key, width);
		return;
	}
	cut_cells(buf, n, key, width / 2 + 1);          /* width / 2 cells and '~' */
	snprintf(buf + strlen(buf), n - strlen(buf), "%s", last_cells(key, width - width / 2 - 1));
}

void watch_name(char *buf, size_t n, const struct row *r, int width)
{
	/* a ratio's " hit ratio" stays whole: its key is cut */
	const char *tail = r->name + r->keylen;
	char key[WATCH_NAME_MAX];

	if (cells(r->name) <= width || cells(tail) + 4 > width) {
		cut_cells(buf, n, r->name, width);
		return;
	}
	snprintf(key, sizeof(key), "%.*s", (int)r->keylen, r->name);
	cut_key(buf, n, key, width - cells(tail));
	snprintf(buf + strlen(buf), n - strlen(buf), "%s", tail);
}

void line_init(struct line *l, int indent, int sep)
{
	l->len = 0;
	l->cells = 0;
	l->n = 0;
	l->sep = sep;
	while (indent-- > 0 && l->len + 1 < sizeof(l->buf)) {
		l->buf[l->len++] = ' ';
		l->cells++;
	}
	l->buf[l->len] = '\0';
}

void line_cell(struct line *l, const char *s, int width, int right)
{
	char cut[sizeof(l->buf)];
	int pad;

	for (int k = 0; l->n > 0 && k < l->sep && l->len + 1 < sizeof(l->buf); k++) {
		l->buf[l->len++] = ' ';
		l->cells++;
	}
	l->n++;
	cut_cells(cut, sizeof(cut), s, width);
	pad = width - cells(cut);
	for (; right && pad > 0 && l->len + 1 < sizeof(l->buf); pad--, l->cells++)
		l->buf[l->len++] = ' ';
	for (size_t i = 0; cut[i] && l->len + 1 < sizeof(l->buf); i++)
		l->buf[l->len++] = cut[i];
	l->cells += cells(cut);
	for (; pad > 0 && l->len + 1 < sizeof(l->buf); pad--, l->cells++)
		l->buf[l->len++] = ' ';
	l->buf[l->len] = '\0';
}

const char *line_end(struct line *l)
{
	while (l->len > 0 && l->buf[l->len - 1] == ' ')
		l->buf[--l->len] = '\0';
	return l->buf;
}

void watch_stamp(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, n, "-");
}

double watch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
