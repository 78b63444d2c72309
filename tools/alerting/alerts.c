/*
 * alerts.c - rule levels, the alert state machine and its state file
 * (alerts.h).
 *
 * The state file (schema shmstat.alerts/1):
 *   {"format": "shmstat.alerts/1",
 *    "alerts": [{"rule": "hit-ratio", "phase": "cleared", "state": "OK",
 *                "bad_level": "WARNING", "worst": "CRITICAL",
 *                "bad_since": 0, "active_since": T, "cleared_at": T,
 *                "quiet_since": T, "last_ns": T, "fired": 2}, ...]}
 * Times are integers, nanoseconds since the epoch, 0 for "not set".
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "outpath.h"

#define STATE_FORMAT "shmstat.alerts/1"
#define STATE_MAX_BYTES (64u << 20)

/* "PATH: message" or "PATH:LINE: message" into @err; -1. */
__attribute__((format(printf, 5, 6)))
static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	va_list ap;
	int o;

	if (err == NULL || errlen == 0)
		return -1;
	o = line > 0 ? snprintf(err, errlen, "%s:%d: ", path, line) :
		       snprintf(err, errlen, "%s: ", path);
	if (o < 0 || (size_t)o >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + o, errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------------------------------------------------------- health */

static const char *const health_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
static const char *const phase_names[] = { "pending", "firing", "cleared" };

const char *health_name(enum health h)
{
	return (unsigned)h < 4 ? health_names[h] : "?";
}

const char *alert_phase_name(enum alert_phase p)
{
	return (unsigned)p < 3 ? phase_names[p] : "?";
}

/* Rank for health_overall(): OK < UNKNOWN < WARNING < CRITICAL. */
static int rank(enum health h)
{
	switch (h) {
	case HEALTH_OK: return 0;
	case HEALTH_UNKNOWN: return 1;
	case HEALTH_WARNING: return 2;
	case HEALTH_CRITICAL: return 3;
	}
	return 1;
}

enum health health_overall(const enum health *h, size_t n)
{
	enum health w = HEALTH_OK;

	for (size_t i = 0; i < n; i++)
		if (rank(h[i]) > rank(w))
			w = h[i];
	return w;
}

/* ------------------------------------------------------------ evaluation */

/* @x bad against @thr in the direction of @op? @pct: a baseline's
 * change, whose thresholds are changes in the bad direction (a drop of
 * 20% is a change of -20) */
static int is_bad(enum rule_op op, int pct, double x, double thr)
{
	if (pct && (op == RULE_LT || op == RULE_LE))
		thr = -thr;
	switch (op) {
	case RULE_GT: return x > thr;
	case RULE_GE: return x >= thr;
	case RULE_LT: return x < thr;
	case RULE_LE: return x <= thr;
	}
	return 0;
}

static double pct_change(double v, double base)
{
	if (base == 0)
		return v == 0 ? 0 : v > 0 ? INFINITY : -INFINITY;
	return 100 * (v - base) / fabs(base);
}

int rule_uses_fallback(const struct rule *r, const struct rule_value *v)
{
	return r->has_baseline && r->has_fallback && v->has_value && !isnan(v->value) &&
	       !(v->has_baseline && isfinite(v->baseline));
}

int baseline_history(const struct rule *r, uint64_t now_ns, uint64_t first_ns, uint64_t *have_ns)
{
	uint64_t end = now_ns > r->window_ns ? now_ns - r->window_ns : 0;
	uint64_t from = end > r->baseline_window_ns ? end - r->baseline_window_ns : 0;

	if (first_ns == 0)
		first_ns = end;
	if (first_ns < from)
		first_ns = from;
	*have_ns = end > first_ns ? end - first_ns : 0;
	return *have_ns >= r->baseline_min_ns && (*have_ns > 0 || r->baseline_min_ns == 0);
}

enum health rule_level(const struct rule *r, const struct rule_value *v, double *shown,
		       const char **why)
{
	enum health h = HEALTH_UNKNOWN;
	const char *w = NULL;
	double x = NAN;
	int fb = rule_uses_fallback(r, v);

	if (!v->has_value || isnan(v->value)) {
		w = v->why ? v->why : "no value";
		goto out;
	}
	x = v->value;
	if (v->samples < r->min_samples) {
		w = "fewer samples than min_samples";
		goto out;
	}
	if (fb) {
		h = HEALTH_OK;
		if (r->has_fb_critical && is_bad(r->op, 0, x, r->fb_critical))
			h = HEALTH_CRITICAL;
		else if (r->has_fb_warning && is_bad(r->op, 0, x, r->fb_warning))
			h = HEALTH_WARNING;
		goto out;
	}
	if (r->has_baseline) {
		if (!v->has_baseline || !isfinite(v->baseline)) {
			w = v->why ? v->why : "no baseline";
			x = NAN;
			goto out;
		}
		x = pct_change(v->value, v->baseline);
	}
	h = HEALTH_OK;
	if (r->has_critical && is_bad(r->op, r->has_baseline, x, r->critical))
		h = HEALTH_CRITICAL;
	else if (r->has_warning && is_bad(r->op, r->has_baseline, x, r->warning))
		h = HEALTH_WARNING;
out:
	if (shown)
		*shown = x;
	if (why)
		*why = w;
	return h;
}

/* ---------------------------------------------------------------- alerts */

static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

/* The clock went back by @d since @a's last step (stepped by NTP, a
 * virtual machine resumed): no time passed between the two steps, so the
 * times the durations count from (`for`, the quiet time of `expire`) go
 * back by as much. Left in the future, they held a pending alert for as
 * long as the step (a day back: a `for: 5m` alert pending for a day and
 * 5 minutes) while the clock caught up with them. */
static void went_back(struct alert *a, uint64_t d)
{
	if (a->bad_since)
		a->bad_since = a->bad_since > d ? a->bad_since - d : 1;
	if (a->quiet_since)
		a->quiet_since = a->quiet_since > d ? a->quiet_since - d : 1;
}

static struct alert *find(const struct alert_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->a[i].rule, name) == 0)
			return &t->a[i];
	return NULL;
}

const struct alert *alert_find(const struct alert_table *t, const char *name)
{
	return find(t, name);
}

/* A new alert for @name at the end of @t (zeroed but for the name). */
static struct alert *add(struct alert_table *t, const char *name)
{
	struct alert *a;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct alert *na = realloc(t->a, cap * sizeof(*na));

		if (na == NULL)
			return NULL;
		t->a = na;
		t->cap = cap;
	}
	a = &t->a[t->n];
	memset(a, 0, sizeof(*a));
	a->rule = strdup(name);
	if (a->rule == NULL)
		return NULL;
	a->state = HEALTH_OK;
	a->worst = HEALTH_OK;
	t->n++;
	return a;
}

/* Forget alert @a of @t; the order of the others is kept. */
static void drop(struct alert_table *t, struct alert *a)
{
	size_t i = (size_t)(a - t->a);

	free(a->rule);
	memmove(&t->a[i], &t->a[i + 1], (t->n - i - 1) * sizeof(*a));
	t->n--;
}

static enum health worse(enum health a, enum health b)
{
	return rank(b) > rank(a) ? b : a;
}

int alert_step(struct alert_table *t, const struct rule *r, enum health level, uint64_t now_ns,
	       uint64_t expire_ns, struct alert_step_out *out)
{
	int bad = level == HEALTH_WARNING || level == HEALTH_CRITICAL;
	struct alert *a;
	unsigned ev = 0;

	memset(out, 0, sizeof(*out));
	if (now_ns == 0 || r == NULL || r->name == NULL || (unsigned)level > HEALTH_UNKNOWN)
		return EINVAL;
	a = find(t, r->name);
	if (a && now_ns < a->last_ns)
		went_back(a, a->last_ns - now_ns);
	if (a && a->phase == ALERT_CLEARED && since(now_ns, a->quiet_since) >= expire_ns) {
		drop(t, a);
		a = NULL;
		ev |= ALERT_EV_EXPIRED;
	}
	if (a == NULL) {
		if (!bad) {
			out->health = level;
			out->events = ev;
			return 0;
		}
		if ((a = add(t, r->name)) == NULL)
			return ENOMEM;
		a->phase = ALERT_PENDING;
		a->bad_since = now_ns;
		a->bad_level = level;
		ev |= ALERT_EV_PENDING;
	} else {
		switch (a->phase) {
		case ALERT_PENDING:
			if (bad) {
				a->bad_level = level;
				break;
			}
			ev |= ALERT_EV_RESET;
			if (a->active_since == 0) {
				/* never fired: no trace */
				drop(t, a);
				out->health = level;
				out->events = ev;
				return 0;
			}
			a->phase = ALERT_CLEARED;
			a->bad_since = 0;
			a->quiet_since = now_ns;
			break;
		case ALERT_FIRING:
			if (bad) {
				if (level != a->bad_level)
					ev |= ALERT_EV_LEVEL;
				a->bad_level = level;
				a->worst = worse(a->worst, level);
			} else if (level == HEALTH_OK) {
				a->phase = ALERT_CLEARED;
				a->cleared_at = now_ns;
				a->quiet_since = now_ns;
				a->bad_since = 0;
				ev |= ALERT_EV_CLEARED;
			}
			/* UNKNOWN: no evidence; it keeps firing */
			break;
		case ALERT_CLEARED:
			if (bad) {
				a->phase = ALERT_PENDING;
				a->bad_since = now_ns;
				a->bad_level = level;
				a->quiet_since = 0;
				ev |= ALERT_EV_PENDING;
			}
			break;
		}
	}
	if (a->phase == ALERT_PENDING && since(now_ns, a->bad_since) >= r->for_ns) {
		a->phase = ALERT_FIRING;
		if (a->active_since == 0)
			a->active_since = now_ns;
		a->cleared_at = 0;
		a->quiet_since = 0;
		a->fired++;
		a->worst = worse(a->worst, a->bad_level);
		ev = (ev & ~(unsigned)ALERT_EV_PENDING) | ALERT_EV_FIRED;
	}
	a->last_ns = now_ns;
	a->state = a->phase == ALERT_PENDING ? HEALTH_OK : level;
	out->health = a->state;
	out->events = ev;
	out->alert = a;
	return 0;
}

/* One pass, the order of the alerts kept: drop() for each would move
 * the rest of the table each time (a state of 100000 alerts took
 * 10^5 moves of up to 10^5 alerts: over a minute, past check's -t) */
size_t alerts_prune(struct alert_table *t, const struct ruleset *rs)
{
	size_t kept = 0, n = t->n;

	for (size_t i = 0; i < n; i++) {
		if (rules_find(rs, t->a[i].rule) == NULL) {
			free(t->a[i].rule);
			continue;
		}
		if (kept != i)
			t->a[kept] = t->a[i];
		kept++;
	}
	t->n = kept;
	return n - kept;
}

void alerts_free(struct alert_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->a[i].rule);
	free(t->a);
	free(t->rules);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ state file */

struct loader {
	const char *path;
	char *err;
	size_t errlen;
	size_t idx;                 /* 1-based, for messages */
	const char *rule;
};

__attribute__((format(printf, 2, 3)))
static int bad_alert(struct loader *l, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->rule)
		return fail(l->err, l->errlen, l->path, 0, "corrupt alert state: alert %zu ('%.64s'): %s",
			    l->idx, l->rule, msg);
	return fail(l->err, l->errlen, l->path, 0, "corrupt alert state: alert %zu: %s", l->idx,
		    msg);
}

static int get_time(struct loader *l, json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (j == NULL)
		return bad_alert(l, "no '%s'", key);
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return bad_alert(l, "'%s' is not an integer >= 0", key);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int get_name(struct loader *l, json_t *o, const char *key, const char *const *names,
		    int n, int *v)
{
	json_t *j = json_object_get(o, key);
	const char *s;

	if (j == NULL)
		return bad_alert(l, "no '%s'", key);
	if (!json_is_string(j))
		return bad_alert(l, "'%s' is not a string", key);
	s = json_string_value(j);
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0) {
			*v = i;
			return 0;
		}
	return bad_alert(l, "'%s' is not one of %s, %s, %s%s%s: '%.32s'", key, names[0], names[1],
			 names[2], n > 3 ? ", " : "", n > 3 ? names[3] : "", s);
}

static int load_alert(struct loader *l, json_t *o, struct alert_table *t)
{
	static const char *const keys[] = {
		"rule", "phase", "state", "bad_level", "worst", "bad_since", "active_since",
		"cleared_at", "quiet_since", "last_ns", "fired",
	};
	struct alert x = { 0 }, *a;
	const char *key;
	json_t *j, *v;
	int phase = 0, state = 0, bad_level = 0, worst = 0;
	uint64_t fired = 0;

	l->rule = NULL;
	if (!json_is_object(o))
		return bad_alert(l, "not a JSON object");
	j = json_object_get(o, "rule");
	if (j == NULL || !json_is_string(j))
		return bad_alert(l, "no 'rule' string");
	if (!rule_name_valid(json_string_value(j)))
		return bad_alert(l, "'rule' is not a valid rule name: '%.64s'", json_string_value(j));
	l->rule = json_string_value(j);
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[i], key) != 0; i++)
			;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return bad_alert(l, "unknown key '%.32s'", key);
	}
	if (get_name(l, o, "phase", phase_names, 3, &phase) ||
	    get_name(l, o, "state", health_names, 4, &state) ||
	    get_name(l, o, "bad_level", health_names, 4, &bad_level) ||
	    get_name(l, o, "worst", health_names, 4, &worst) ||
	    get_time(l, o, "bad_since", &x.bad_since) ||
	    get_time(l, o, "active_since", &x.active_since) ||
	    get_time(l, o, "cleared_at", &x.cleared_at) ||
	    get_time(l, o, "quiet_since", &x.quiet_since) ||
	    get_time(l, o, "last_ns", &x.last_ns) || get_time(l, o, "fired", &fired))
		return -1;
	x.phase = (enum alert_phase)phase;
	x.state = (enum health)state;
	x.bad_level = (enum health)bad_level;
	x.worst = (enum health)worst;
	/* the invariants alert_step() keeps */
	if (fired > UINT32_MAX)
		return bad_alert(l, "'fired' is too large");
	x.fired = (uint32_t)fired;
	if (x.bad_level != HEALTH_WARNING && x.bad_level != HEALTH_CRITICAL)
		return bad_alert(l, "'bad_level' must be WARNING or CRITICAL");
	if (x.worst == HEALTH_UNKNOWN || (x.worst == HEALTH_OK) != (x.fired == 0))
		return bad_alert(l, "'worst' does not match 'fired'");
	if (x.last_ns == 0)
		return bad_alert(l, "'last_ns' is 0");
	switch (x.phase) {
	case ALERT_PENDING:
		if (x.bad_since == 0 || (x.active_since == 0) != (x.fired == 0))
			return bad_alert(l, "pending without 'bad_since', or 'active_since' and 'fired' disagree");
		break;
	case ALERT_FIRING:
		if (x.bad_since == 0 || x.active_since == 0 || x.fired == 0 || x.cleared_at != 0)
			return bad_alert(l, "firing needs 'bad_since', 'active_since', 'fired' > 0 and no 'cleared_at'");
		break;
	case ALERT_CLEARED:
		if (x.active_since == 0 || x.fired == 0 || x.cleared_at == 0 || x.quiet_since == 0)
			return bad_alert(l, "cleared needs 'active_since', 'cleared_at', 'quiet_since' and 'fired' > 0");
		break;
	}
	if ((a = add(t, l->rule)) == NULL)
		return fail(l->err, l->errlen, l->path, 0, "out of memory reading the alert state");
	x.rule = a->rule;
	*a = x;
	return 0;
}

/* The message for a state path out_resolve() refused as going through a
 * link another user may have planted; -1. */
static int planted_dir(const char *path, const struct out_path *op, char *err, size_t errlen)
{
	return fail(err, errlen, path, 0,
		    "alert state goes through a symbolic link of uid %u in a shared directory; refusing it",
		    op->uid);
}

/*
 * Open the state file @path for reading, as history files are opened
 * (libshm/history.c): not through a symbolic link, never blocking (a FIFO,
 * a device), and only a regular file of this user's with one link and a
 * mode of 0600 or 0640 (a subset: no write for the group, nothing for
 * others). Anything else may have been planted by another user of the
 * directory and is refused, never read. Its directory resolved as
 * alerts_save() resolves it (out_resolve(): a directory on the way that
 * another user may have planted as a link is refused) and the file
 * opened in the directory that was checked, by its descriptor. The open
 * fd, -ENOENT when there is no file (nor a directory on the way), or -1
 * with @err set.
 */
static int state_open(const char *path, char *err, size_t errlen)
{
	struct out_path op;
	struct stat st;
	int fd, e;

	if (out_resolve(path, -1, &op) != 0) {
		e = errno;
		if (op.planted)
			return planted_dir(path, &op, err, errlen);
		if (e == ENOENT)
			return -ENOENT;
		return fail(err, errlen, path, 0, "cannot open alert state: %s", strerror(e));
	}
	fd = openat(op.dir, op.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	e = errno;
	close(op.dir);
	if (fd < 0) {
		if (e == ENOENT)
			return -ENOENT;
		if (e == ELOOP)
			return fail(err, errlen, path, 0,
				    "alert state is a symbolic link; refusing it");
		return fail(err, errlen, path, 0, "cannot open alert state: %s", strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		return fail(err, errlen, path, 0, "cannot stat alert state: %s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, path, 0, "alert state is not a regular file; refusing it");
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return fail(err, errlen, path, 0,
			    "alert state is owned by uid %u, not by this user (uid %u); refusing it",
			    (unsigned)st.st_uid, (unsigned)geteuid());
	}
	if (st.st_nlink != 1) {
		close(fd);
		return fail(err, errlen, path, 0, "alert state has %lu hard links; refusing it",
			    (unsigned long)st.st_nlink);
	}
	if ((st.st_mode & 07777 & ~(mode_t)0640) != 0) {
		close(fd);
		return fail(err, errlen, path, 0,
			    "alert state has mode %04o, not 0600 or 0640; refusing it",
			    (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > (off_t)STATE_MAX_BYTES) {
		close(fd);
		return fail(err, errlen, path, 0, "alert state is larger than %u bytes",
			    STATE_MAX_BYTES);
	}
	return fd;
}

struct named {
	const char *rule;
	size_t i;
};

static int by_rule(const void *x, const void *y)
{
	const struct named *a = x, *b = y;
	int c = strcmp(a->rule, b->rule);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* A second alert for a rule in the loaded @t: the first in file order
 * named (as the loader names it), -1; else 0. Sorted by name, not each
 * alert looked up among those before it (10^5 alerts were 5 * 10^9
 * comparisons, past check's -t). */
static int second_alert(struct loader *l, const struct alert_table *t)
{
	struct named *s;
	size_t first = SIZE_MAX;

	if (t->n < 2)
		return 0;
	s = malloc(t->n * sizeof(*s));
	if (s == NULL)
		return fail(l->err, l->errlen, l->path, 0, "out of memory reading the alert state");
	for (size_t i = 0; i < t->n; i++)
		s[i] = (struct named){ t->a[i].rule, i };
	qsort(s, t->n, sizeof(*s), by_rule);
	/* the second of each name (sorted by name, then file order) */
	for (size_t i = 1; i < t->n; i++) {
		if (strcmp(s[i].rule, s[i - 1].rule) != 0)
			continue;
		if (i >= 2 && strcmp(s[i - 2].rule, s[i].rule) == 0)
			continue;       /* a third or later */
		if (s[i].i < first)
			first = s[i].i;
	}
	free(s);
	if (first == SIZE_MAX)
		return 0;
	l->idx = first + 1;
	l->rule = t->a[first].rule;
	return bad_alert(l, "a second alert for the same rule");
}

int alerts_load(const char *path, struct alert_table *t, char *err, size_t errlen)
{
	struct loader l = { .path = path, .err = err, .errlen = errlen };
	json_error_t je;
	json_t *root, *list, *fmt;
	const char *key;
	json_t *v;
	FILE *f;
	int fd, rc = -1;

	memset(t, 0, sizeof(*t));
	if (err && errlen)
		err[0] = '\0';
	fd = state_open(path, err, errlen);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return fail(err, errlen, path, 0, "out of memory reading the alert state");
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	(void)fclose(f);
	if (root == NULL)
		return fail(err, errlen, path, je.line > 0 ? je.line : 0,
			    "corrupt alert state: not JSON: %s", je.text);
	if (!json_is_object(root)) {
		fail(err, errlen, path, 0, "corrupt alert state: not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "format") != 0 && strcmp(key, "alerts") != 0 &&
		    strcmp(key, "rules") != 0) {
			fail(err, errlen, path, 0, "corrupt alert state: unknown key '%.32s'", key);
			goto out;
		}
	}
	fmt = json_object_get(root, "format");
	if (fmt == NULL || !json_is_string(fmt) || strcmp(json_string_value(fmt), STATE_FORMAT) != 0) {
		fail(err, errlen, path, 0, "not an alert state file: 'format' is not \"%s\"",
		     STATE_FORMAT);
		goto out;
	}
	fmt = json_object_get(root, "rules");
	if (fmt && (!json_is_string(fmt) || json_string_length(fmt) == 0 ||
		    json_string_length(fmt) > PATH_MAX ||
		    strlen(json_string_value(fmt)) != json_string_length(fmt))) {
		fail(err, errlen, path, 0, "corrupt alert state: 'rules' is not a file name");
		goto out;
	}
	if (fmt && (t->rules = strdup(json_string_value(fmt))) == NULL) {
		fail(err, errlen, path, 0, "out of memory reading the alert state");
		goto out;
	}
	list = json_object_get(root, "alerts");
	if (list == NULL || !json_is_array(list)) {
		fail(err, errlen, path, 0, "corrupt alert state: no 'alerts' list");
		goto out;
	}
	if (json_array_size(list) > ALERTS_MAX) {
		fail(err, errlen, path, 0, "corrupt alert state: more than %d alerts", ALERTS_MAX);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		l.idx = i + 1;
		if (load_alert(&l, json_array_get(list, i), t) != 0)
			goto out;
	}
	if (second_alert(&l, t) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		alerts_free(t);
	return rc;
}

static json_t *alert_json(const struct alert *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "rule", a->rule, "phase", alert_phase_name(a->phase),
			 "state", health_name(a->state), "bad_level", health_name(a->bad_level),
			 "worst", health_name(a->worst),
			 "bad_since", (json_int_t)a->bad_since,
			 "active_since", (json_int_t)a->active_since,
			 "cleared_at", (json_int_t)a->cleared_at,
			 "quiet_since", (json_int_t)a->quiet_since,
			 "last_ns", (json_int_t)a->last_ns, "fired", (json_int_t)a->fired);
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * alerts_save() (alerts.h). The directory of @path is resolved once
 * (out_resolve(), as state_open() resolves it) and everything after
 * acts on it by its descriptor: the temporary file ".BASE.XXXXXX"
 * created there, the mode of the file it replaces looked at there, the
 * rename there, that directory fsync'ed. A directory of the path swapped
 * for a link once it was checked changes nothing.
 */
int alerts_save(const char *path, const struct alert_table *t, char *err, size_t errlen)
{
	json_t *root, *list, *rules;
	char *text = NULL, pre[NAME_MAX + 2], tmp[NAME_MAX + 16];
	struct out_path op = { .dir = -1 };
	struct stat st;
	int fd = -1, dfd, rc = -1, e;

	root = json_object();
	list = json_array();
	/* a rules file name that is not UTF-8 is not said (JSON cannot) */
	rules = t->rules ? json_string(t->rules) : NULL;
	if (root == NULL || list == NULL || json_object_set_new(root, "format",
								json_string(STATE_FORMAT)) ||
	    (rules && json_object_set_new(root, "rules", rules)) ||
	    json_object_set_new(root, "alerts", list)) {
		json_decref(root);
		return fail(err, errlen, path, 0, "out of memory writing the alert state");
	}
	for (size_t i = 0; i < t->n; i++) {
		if (t->a[i].last_ns > (uint64_t)INT64_MAX || t->a[i].bad_since > (uint64_t)INT64_MAX ||
		    t->a[i].active_since > (uint64_t)INT64_MAX ||
		    t->a[i].cleared_at > (uint64_t)INT64_MAX ||
		    t->a[i].quiet_since > (uint64_t)INT64_MAX) {
			json_decref(root);
			return fail(err, errlen, path, 0, "alert '%s': a time past 2262", t->a[i].rule);
		}
		if (json_array_append_new(list, alert_json(&t->a[i])) != 0) {
			json_decref(root);
			return fail(err, errlen, path, 0, "out of memory writing the alert state");
		}
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL) {
		fail(err, errlen, path, 0, "out of memory writing the alert state");
		goto out;
	}
	if (out_resolve(path, -1, &op) != 0) {
		if (op.planted)
			planted_dir(path, &op, err, errlen);
		else
			fail(err, errlen, path, 0, "cannot create a temporary file next to it: %s",
			     strerror(errno));
		goto out;
	}
	/* the temporary file: ".BASE.XXXXXX" in the directory checked */
	snprintf(pre, sizeof(pre), ".%s", op.name);
	fd = out_tmpfile(op.dir, pre, tmp, sizeof(tmp));
	if (fd < 0) {
		fail(err, errlen, path, 0, "cannot create a temporary file next to it: %s",
		     strerror(errno));
		goto out;
	}
	/* created 0600; 0640 kept from a file of ours that had it */
	if (fstatat(op.dir, op.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 07777) == 0640 && fchmod(fd, 0640) != 0)
		goto werr;
	if (write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 ||
	    fsync(fd) != 0)
		goto werr;
	if (close(fd) != 0) {
		fd = -1;
		goto werr;
	}
	if (renameat(op.dir, tmp, op.dir, op.name) != 0) {
		fail(err, errlen, path, 0, "cannot rename %s over it: %s", tmp, strerror(errno));
		unlinkat(op.dir, tmp, 0);
		goto out;
	}
	/* make the rename durable: the directory opened anew from its O_PATH
	 * descriptor (which fsync refuses), "." of it, no name looked up */
	dfd = openat(op.dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
	goto out;
werr:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(op.dir, tmp, 0);
	fail(err, errlen, path, 0, "cannot write alert state: %s", strerror(e));
out:
	if (op.dir >= 0)
		close(op.dir);
	free(text);
	return rc;
}
