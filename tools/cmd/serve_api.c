/*
 * serve_api.c - serve's JSON API over HTTP, version 1 (docs/shmstat.md,
 * "The JSON API"):
 *
 *   GET /api/v1/segments   the segments served and the history files
 *   GET /api/v1/show       show --json of one segment
 *   GET /api/v1/top        top --json of one segment
 *   GET /api/v1/range      show --history FILE --range --json
 *   GET /api/v1/window     show --history FILE --window --json
 *
 * Each answer is the command's JSON, the same bytes for the same
 * snapshot, built whole before it is sent (application/json): at most
 * --max-bytes of it (more is refused: 400), and at most MAX_ANSWERS
 * answers under way, built and not yet sent (then 503). A bad
 * request is 400, an unknown segment, history or path 404, a segment that
 * cannot be read 503; the body is then {"error":"..."}. The query comes
 * from the network: every parameter is checked before use, and only the
 * segments and history files serve was given are read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "cli.h"
#include "cmd.h"
#include "export.h"
#include "serve.h"
#include "show_hist.h"
#include "timearg.h"

#define MAX_GLOBS 32               /* include= and exclude= each */
#define MAX_TOP 100000u
#define MAX_ANSWERS 4              /* answers under way (built, not sent) */

static const char json_type[] = "application/json";

/* An answer: its bytes, at most @max (--max-bytes) of them; built by a
 * stream (answer_open()) that refuses more (@over), then sent from
 * memory. While MHD holds it (a client that reads slowly or never), it
 * counts in @answers: at most MAX_ANSWERS are under way, the others get
 * 503, so that what the API holds is bounded by MAX_ANSWERS x
 * --max-bytes. */
struct body {
	char *buf;
	size_t len, cap;
	uint64_t max;
	int over;                  /* a write past @max was refused */
};

static unsigned answers;           /* bodies MHD holds */

static ssize_t body_write(void *cls, const char *p, size_t n)
{
	struct body *b = cls;

	if (b->over || n > b->max - b->len) {
		b->over = 1;
		errno = EFBIG;
		return -1;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *buf;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = (size_t)b->max;
		buf = realloc(b->buf, cap);
		if (buf == NULL) {
			errno = ENOMEM;
			return -1;
		}
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return (ssize_t)n;
}

/* A stream into a new body *@out of at most --max-bytes; NULL: out of
 * memory. */
static FILE *answer_open(struct body **out)
{
	static const cookie_io_functions_t io = { .write = body_write };
	struct body *b = calloc(1, sizeof(*b));
	FILE *f;

	*out = b;
	if (b == NULL)
		return NULL;
	b->max = serve_max_bytes();
	f = fopencookie(b, "w", io);
	if (f == NULL) {
		free(b);
		*out = NULL;
	}
	return f;
}

static void body_drop(struct body *b)
{
	if (b)
		free(b->buf);
	free(b);
}

static void body_free(void *cls)
{
	body_drop(cls);
	answers--;
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct body *b = cls;
	size_t n;

	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
	memcpy(buf, b->buf + pos, n);
	return (ssize_t)n;
}

/* Body @b with @status; MHD frees it when it is sent (or the connection
 * is gone). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, struct body *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_callback(b->len, (size_t)32 * 1024, body_read, b, body_free);
	if (r == NULL) {
		body_drop(b);
		return MHD_NO;
	}
	answers++;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, json_type);
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		mhd.add_response_header(r, "Retry-After", "1");
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* {"error":"MESSAGE"} with @status */
static enum MHD_Result api_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result api_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[512];
	struct body *b;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = answer_open(&b);
	if (f == NULL)
		return MHD_NO;
	b->max = UINT64_MAX;       /* an error is small: always sent */
	fputs("{\"error\":", f);
	json_put(f, msg);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		body_drop(b);
		return MHD_NO;
	}
	return send_json(c, status, b);
}

struct present {
	const char *key;
	int found;
};

static enum MHD_Result present(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct present *p = cls;

	(void)kind;
	(void)value;
	p->found |= strcmp(key, p->key) == 0;
	return p->found ? MHD_NO : MHD_YES;
}

/* Parameter @key: NULL when the query has none, "" when it has @key
 * without '=' (libmicrohttpd's NULL value: "?n" was no n, where "?n=" is
 * n '', refused) */
static const char *arg(struct MHD_Connection *c, const char *key)
{
	const char *v = mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	struct present p = { key, 0 };

	if (v == NULL)
		mhd.get_connection_values(c, MHD_GET_ARGUMENT_KIND, present, &p);
	return v ? v : p.found ? "" : NULL;
}

/* include= and exclude= values, in order */
struct globs {
	char *inc[MAX_GLOBS], *exc[MAX_GLOBS];
	size_t ninc, nexc;
	int over, bad;
	const char *key, *value;   /* the first refused: named in the answer */
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct globs *g = cls;
	int inc = strcmp(key, "include") == 0;

	(void)kind;
	if (!inc && strcmp(key, "exclude") != 0)
		return MHD_YES;
	if (value == NULL || !glob_valid(value)) {
		if (!g->bad && !g->over)
			g->key = key, g->value = value ? value : "";
		g->bad = 1;
		return MHD_YES;
	}
	if ((inc ? g->ninc : g->nexc) == MAX_GLOBS) {
		if (!g->bad && !g->over)
			g->key = key;
		g->over = 1;
		return MHD_YES;
	}
	if (inc)
		g->inc[g->ninc++] = (char *)value;
	else
		g->exc[g->nexc++] = (char *)value;
	return MHD_YES;
}

static int globs_of(struct MHD_Connection *c, struct globs *g)
{
	memset(g, 0, sizeof(*g));
	mhd.get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, g);
	return g->bad || g->over ? -1 : 0;
}

/* 400 naming the glob refused, as show -I says it, or the parameter
 * given too often (it was "a glob is not valid, or more than 32") */
static enum MHD_Result globs_error(struct MHD_Connection *c, const struct globs *g)
{
	if (g->value)
		return api_error(c, MHD_HTTP_BAD_REQUEST, "%s: glob '%s' is not valid", g->key,
				 g->value);
	return api_error(c, MHD_HTTP_BAD_REQUEST, "more than %d '%s' parameters", MAX_GLOBS,
			 g->key);
}

/* The segment= of the request, snapshotted: its index; -1 after an
 * error answer (queued in *@ret). */
static long segment_of(struct MHD_Connection *c, shmstat_snap **s, enum MHD_Result *ret)
{
	const char *name = arg(c, "segment");
	long k;

	*s = NULL;
	if (name == NULL || !name[0]) {
		*ret = api_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'segment' is missing");
		return -1;
	}
	serve_refresh();
	k = serve_find(name);
	if (k < 0) {
		*ret = api_error(c, MHD_HTTP_NOT_FOUND, "segment '%s' is not served", name);
		return -1;
	}
	*s = serve_snapshot((size_t)k);
	if (*s == NULL) {
		*ret = api_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "segment '%s' cannot be read: %s",
				 name, serve_snapshot_error((size_t)k));
		return -1;
	}
	return k;
}

/* Close @f (answer_open()'s stream of @b), then send what it holds
 * (200); 400 when it would be over --max-bytes, 500 when out of memory. */
static enum MHD_Result answer(struct MHD_Connection *c, FILE *f, struct body *b)
{
	if (fclose(f) != 0 || b->over) {
		int over = b->over;
		uint64_t max = b->max;

		body_drop(b);
		if (over)
			return api_error(c, MHD_HTTP_BAD_REQUEST,
					 "the answer would be over %llu bytes (--max-bytes): ask for "
					 "fewer series, a shorter range or window",
					 (unsigned long long)max);
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "out of memory writing the answer");
	}
	return send_json(c, MHD_HTTP_OK, b);
}

static enum MHD_Result api_segments(struct MHD_Connection *c)
{
	size_t n = serve_refresh();
	struct body *b;
	FILE *f = answer_open(&b);

	if (f == NULL)
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "out of memory opening the answer");
	fputs("{\"schema\":\"shmstat.segments/1\",\"segments\":[", f);
	for (size_t k = 0; k < n; k++) {
		shmstat_snap *s = serve_snapshot(k);

		fputs(k ? ",{\"name\":" : "{\"name\":", f);
		json_put(f, serve_segment(k));
		if (s) {
			struct shmstat_seg_info in;

			shmstat_snap_info(s, &in);
			fprintf(f, ",\"up\":true,\"metrics\":%u,\"writers_alive\":%u,"
				"\"writers_dead\":%u,\"size\":%llu,\"created_ns\":%llu}",
				in.metrics, in.writers_alive, in.writers_dead,
				(unsigned long long)in.size, (unsigned long long)in.created_ns);
			shmstat_snap_free(s);
		} else {
			fputs(",\"up\":false}", f);
		}
	}
	fputs("],\"histories\":[", f);
	for (size_t k = 0; k < serve_histories(); k++) {
		fputs(k ? "," : "", f);
		json_put(f, serve_history_name(k));
	}
	fputs("]}\n", f);
	return answer(c, f, b);
}

static enum MHD_Result api_show(struct MHD_Connection *c)
{
	struct globs g;
	shmstat_snap *s;
	enum MHD_Result ret;
	size_t n, *order, kept = 0;
	struct export_rates er = { NULL, 0 };
	struct body *b = NULL;
	FILE *f;
	long k;

	if (globs_of(c, &g) != 0)
		return globs_error(c, &g);
	k = segment_of(c, &s, &ret);
	if (k < 0)
		return ret;
	n = shmstat_snap_metrics(s);
	order = metrics_sorted(s, n);
	f = order ? answer_open(&b) : NULL;
	if (f == NULL) {
		const char *what = order ? "opening the answer" : "sorting the metrics";

		free(order);
		shmstat_snap_free(s);
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory %s", what);
	}
	/* what show -I/-X keeps, in show's order */
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, order[i], &m);
		if (metric_wanted(&m, g.inc, g.ninc, g.exc, g.nexc))
			order[kept++] = order[i];
	}
	/* rates since creation (er.rate NULL), as show's */
	if (export_snapshot(f, EXPORT_JSON, serve_segment((size_t)k), s, order, kept, 0, &er) !=
	    EXIT_OK && !b->over) {
		(void)fclose(f);
		body_drop(b);
		free(order);
		shmstat_snap_free(s);
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the snapshot");
	}
	free(order);
	shmstat_snap_free(s);
	return answer(c, f, b);
}

static enum MHD_Result api_top(struct MHD_Connection *c)
{
	const char *table = arg(c, "table"), *owner = arg(c, "owner"), *by_s = arg(c, "by");
	const char *n_s = arg(c, "n"), *hv_s = arg(c, "high_value");
	enum shmstat_sig_order by = SHMSTAT_BY_HITS;
	uint64_t n = 20, hv = SIG_HIGH_VALUE;
	enum MHD_Result ret;
	shmstat_snap *s;
	struct body *b;
	FILE *f;
	long k;
	int found, seen;

	if (n_s && (parse_whole(n_s, MAX_TOP, &n) != 0 || n == 0))
		return api_error(c, MHD_HTTP_BAD_REQUEST, "n '%s' is not a number from 1 to %u",
				 n_s, MAX_TOP);
	if (by_s && top_order_parse(by_s, &by) != 0)
		return api_error(c, MHD_HTTP_BAD_REQUEST,
				 "by '%s' is unknown (hits, weight, recent or upper)", by_s);
	if (hv_s && parse_whole(hv_s, UINT64_MAX, &hv) != 0)
		return api_error(c, MHD_HTTP_BAD_REQUEST, "high_value '%s' is not a number", hv_s);
	k = segment_of(c, &s, &ret);
	if (k < 0)
		return ret;
	f = answer_open(&b);
	if (f == NULL) {
		shmstat_snap_free(s);
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "out of memory opening the answer");
	}
	/* table= and owner= empty are what top's '' are: a table named ''
	 * (none: 404), the keys without an owner; not "any" */
	found = top_json(f, s, serve_segment((size_t)k), table, by, owner, (size_t)n, hv, &seen);
	shmstat_snap_free(s);
	if (found < 0) {
		(void)fclose(f);
		body_drop(b);
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "out of memory ranking the keys");
	}
	if (!found || !seen) {    /* as top, which exits 1 saying so */
		(void)fclose(f);
		body_drop(b);
		if (!found && table)
			return api_error(c, MHD_HTTP_NOT_FOUND,
					 "segment '%s' has no signature table '%s'",
					 serve_segment((size_t)k), table);
		if (!found)
			return api_error(c, MHD_HTTP_NOT_FOUND, "segment '%s' has no signature table",
					 serve_segment((size_t)k));
		if (table)
			return api_error(c, MHD_HTTP_NOT_FOUND,
					 "signature table '%s' of segment '%s' has no owner '%s'",
					 table, serve_segment((size_t)k), owner);
		return api_error(c, MHD_HTTP_NOT_FOUND,
				 "no signature table of segment '%s' has owner '%s'",
				 serve_segment((size_t)k), owner);
	}
	return answer(c, f, b);
}

/* /api/v1/range and /api/v1/window: show --history FILE --json */
static enum MHD_Result api_history(struct MHD_Connection *c, int window)
{
	const char *h = arg(c, "history");
	struct show_hist o = { 0 };
	struct globs g;
	uint64_t now = realtime_ns(), t;
	char why[600];
	struct body *b;
	size_t k;
	FILE *f;
	int rc;

	if (globs_of(c, &g) != 0)
		return globs_error(c, &g);
	if (h == NULL || !h[0])
		return api_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'history' is missing");
	for (k = 0; k < serve_histories(); k++)
		if (strcmp(serve_history_name(k), h) == 0)
			break;
	if (k == serve_histories())
		return api_error(c, MHD_HTTP_NOT_FOUND, "history '%s' is not served", h);
	o.path = serve_history_path(k);
	o.json = 1;
	o.inc = g.inc;
	o.exc = g.exc;
	o.ninc = g.ninc;
	o.nexc = g.nexc;
	if (window) {
		const char *w = arg(c, "window");

		o.at = arg(c, "at");
		if (w == NULL || parse_duration(w, &o.window) != 0 || o.window == 0)
			return api_error(c, MHD_HTTP_BAD_REQUEST, "window '%s' is not " DURATION_RANGE,
					 w ? w : "");
		if (o.at && parse_instant(o.at, now, &t) != 0)
			return api_error(c, MHD_HTTP_BAD_REQUEST, "at '%s' is not an instant", o.at);
	} else {
		o.range_from = arg(c, "start");
		o.range_to = arg(c, "end");
		if (o.range_from == NULL || parse_instant(o.range_from, now, &t) != 0)
			return api_error(c, MHD_HTTP_BAD_REQUEST, "start '%s' is not an instant",
					 o.range_from ? o.range_from : "");
		if (o.range_to == NULL || parse_instant(o.range_to, now, &t) != 0)
			return api_error(c, MHD_HTTP_BAD_REQUEST, "end '%s' is not an instant",
					 o.range_to ? o.range_to : "");
	}
	f = answer_open(&b);
	if (f == NULL)
		return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "out of memory opening the answer");
	o.out = f;
	say_into(why, sizeof(why));
	rc = show_history(&o);
	say_into(NULL, 0);
	if (rc != EXIT_OK && !b->over) {
		char *at = strstr(why, o.path);

		(void)fclose(f);
		body_drop(b);
		/* the client knows the file by its name, not by its path */
		if (at) {
			size_t pl = strlen(o.path), hl = strlen(h);

			if (hl <= pl) {
				memcpy(at, h, hl);
				memmove(at + hl, at + pl, strlen(at + pl) + 1);
			}
		}
		/* a usage error of show --history is a bad parameter (a range
		 * that ends before it starts, a window before 1970); no record
		 * in the window is an answer too, not a failure */
		return api_error(c, rc == EXIT_USAGE ? MHD_HTTP_BAD_REQUEST
				 : strncmp(why, "no records", 10) == 0 ? MHD_HTTP_NOT_FOUND
								      : MHD_HTTP_SERVICE_UNAVAILABLE,
				 "history '%s': %s", h, why);
	}
	return answer(c, f, b);
}

/* The parameters of a path: a name not among @names (a typo such as
 * exlude= was ignored, and the whole segment sent), or one of them but
 * include and exclude given twice (only the first was read), is the
 * first fault, named in @why */
struct params {
	const char *path;
	const char *const *names;
	unsigned seen;
	char why[256];
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct params *p = cls;
	unsigned i;

	(void)kind;
	(void)value;
	for (i = 0; p->names[i] && strcmp(p->names[i], key) != 0; i++)
		;
	if (p->names[i] == NULL) {
		int n = snprintf(p->why, sizeof(p->why), "parameter '%.64s' is unknown: /api/v1/%s takes %s",
				 key, p->path, p->names[0] ? p->names[0] : "none");

		for (unsigned j = 1; p->names[0] && p->names[j] && n > 0 && (size_t)n < sizeof(p->why); j++)
			n += snprintf(p->why + n, sizeof(p->why) - (size_t)n, ", %s", p->names[j]);
	} else if (strcmp(key, "include") != 0 && strcmp(key, "exclude") != 0 &&
		 (p->seen & 1u << i))
		snprintf(p->why, sizeof(p->why), "parameter '%s' is given twice", key);
	p->seen |= 1u << i;
	return p->why[0] ? MHD_NO : MHD_YES;
}

/* 0 when every parameter of the request is one of @names, once; else
 * -1, the 400 answer queued in *@ret */
static int params_ok(struct MHD_Connection *c, const char *path, const char *const *names,
		     enum MHD_Result *ret)
{
	struct params p = { path, names, 0, "" };

	mhd.get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_param, &p);
	if (!p.why[0])
		return 0;
	*ret = api_error(c, MHD_HTTP_BAD_REQUEST, "%s", p.why);
	return -1;
}

enum MHD_Result api_handle(struct MHD_Connection *c, const char *url)
{
	static const char *const paths[] = { "segments", "show", "top", "range", "window" };
	static const char *const params[][7] = {
		{ NULL },
		{ "segment", "include", "exclude", NULL },
		{ "segment", "table", "n", "by", "owner", "high_value", NULL },
		{ "history", "start", "end", "include", "exclude", NULL },
		{ "history", "window", "at", "include", "exclude", NULL },
	};
	enum MHD_Result ret;
	size_t k = 0;

	if (answers >= MAX_ANSWERS)
		return api_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "too many answers under way, try again");
	while (k < 5 && (strncmp(url, "/api/v1/", 8) != 0 || strcmp(url + 8, paths[k]) != 0))
		k++;
	if (k == 5)
		return api_error(c, MHD_HTTP_NOT_FOUND,
				 "no such path: /api/v1/segments, show, top, range or window");
	if (params_ok(c, paths[k], params[k], &ret) != 0)
		return ret;
	switch (k) {
	case 0:
		return api_segments(c);
	case 1:
		return api_show(c);
	case 2:
		return api_top(c);
	default:
		return api_history(c, k == 4);
	}
}

int serve_histories_check(void)
{
	for (size_t k = 0; k < serve_histories(); k++) {
		shmstat_history *h;
		int err = shmstat_history_open(serve_history_path(k), &h);

		/* a typo is an error at the start, as for trend; a file
		 * caught being rewritten is answered 503 until it is whole */
		if (err && err != SHMSTAT_ECORRUPT && err != SHMSTAT_ETRUNCATED)
			return die(EXIT_ERR, "%s", shmstat_last_error());
		shmstat_history_close(err ? NULL : h);
	}
	return EXIT_OK;
}
