/*
 * serve.c - shmstat serve: a Prometheus exporter over HTTP
 * (libmicrohttpd), for one or more segments.
 *
 * One polling thread answers every connection, so the scrapes are taken
 * one at a time: each takes a snapshot of every segment (its reader is
 * kept open between scrapes and reopened when the segment is re-created
 * or gone) and streams them, rendered by prom.c a piece at a time, as the
 * client reads (a client that does not read holds its snapshots, not the
 * text). A segment that cannot be read is reported as shmstat_segment_up
 * 0; the exporter keeps serving.
 *
 * What others control is bounded (docs/security.md): only segments of
 * this uid or of the uids --uid names are served, names that are not
 * such segments never take one of the MAX_SEGMENTS slots (they are
 * counted in shmstat_serve_refused_segments), a response has at most
 * --max-series sample lines a segment and --max-bytes in all, at most
 * MAX_INFLIGHT responses are under way, and a connection has --timeout
 * seconds from its accept (or its previous request's end) to the end of
 * its response, whatever it sends; when the connections come near
 * MAX_CONNS, the oldest one whose request (headers, or a body after
 * them) is not complete yet is closed, so a new client always has a slot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "prom.h"
#include "timearg.h"
#include "serve.h"

const char cmd_serve_usage[] =
	"usage: shmstat serve [-l|--listen HOST:PORT] [-s|--segment NAME]...\n"
	"                     [--uid UID[,UID]...] [--le-per-octave N] [--top N]\n"
	"                     [--max-series N] [--max-bytes N] [--timeout SEC]\n"
	"                     [-H|--history FILE]...\n"
	"  Serve the segments NAME (default: every shmstat segment this user\n"
	"  can read, looked up at each scrape) over HTTP on HOST:PORT (default\n"
	"  127.0.0.1:9464; port 0: any free port, printed at start). Only\n"
	"  segments owned by this user or by a UID listed are served. GET\n"
	"  /metrics answers in Prometheus text 0.0.4, or OpenMetrics 1.0 when\n"
	"  the Accept header prefers application/openmetrics-text (a higher\n"
	"  q than text/plain's); each\n"
	"  series is labelled segment=\"NAME\", shmstat_segment_up says which\n"
	"  segments could be read. Histograms have N le bounds per power of two\n"
	"  (default 1, up to 64); signature tables their top N keys (default\n"
	"  10). A response has at most N sample lines a segment (default\n"
	"  100000) and N bytes of them (default 64 MiB; the exporter's own\n"
	"  families follow), shmstat_scrape_truncated says which segments were\n"
	"  cut; a connection has SEC seconds a request\n"
	"  (default 30). GET /healthz answers ok. A JSON API answers GET\n"
	"  /api/v1/segments, /api/v1/show?segment=NAME[&include=GLOB]...\n"
	"  [&exclude=GLOB]... (show --json), /api/v1/top?segment=NAME[&table=T]\n"
	"  [&n=N][&by=hits|weight|recent|upper][&owner=O][&high_value=H]\n"
	"  (top --json), and for each history FILE (known by its file name H)\n"
	"  /api/v1/range?history=H&start=I&end=I and /api/v1/window?history=H\n"
	"  &window=D[&at=I] (show --history --json), include/exclude as for\n"
	"  show.\n"
	"  Runs in the foreground until SIGTERM or SIGINT (exit 0).\n";

#define MAX_SEGMENTS 256
#define MAX_UIDS 16
#define MAX_HISTORIES 16
#define MAX_CONNS 64               /* connections at once */
#define CONN_RESERVE 8             /* kept for new clients */
#define MAX_INFLIGHT 4             /* /metrics responses under way */
#define HEADER_LIMIT (16 * 1024)   /* MHD's memory a connection: request
				    * line and headers past it get 431 */
#define DEFAULT_MAX_SERIES 100000
#define DEFAULT_MAX_BYTES (64u << 20)

enum { REF_OWNER, REF_INVALID, REF_LIMIT, NREF };
static const char *const ref_name[NREF] = { "owner", "invalid", "limit" };

struct seg {
	char name[256];
	shmstat_reader *r;
	int up;                    /* last scrape: 1 read, 0 not, -1 never tried */
	int shown_up;              /* the last /metrics said up 1 */
	char why[400];             /* why the last snapshot failed */
};

/* A connection: when its current request started (accept, or the end of
 * the previous one), whether its request is in (headers and body). */
struct conn {
	int used;
	int fd;
	int headers;               /* the request is in, body and all */
	int closing;               /* shut down by us */
	struct timespec start;
};

static struct {
	struct seg seg[MAX_SEGMENTS];
	size_t nseg;
	int discover;              /* no --segment: look in /dev/shm */
	struct prom_opts po;
	uid_t uid[MAX_UIDS + 1];   /* served owners: ours first */
	size_t nuid;
	unsigned timeout;
	unsigned long scrapes;
	unsigned long refused[NREF];   /* at the last scrape */
	unsigned inflight;
	pthread_mutex_t lock;      /* conn[]: MHD's thread and the sweeper */
	struct conn conn[MAX_CONNS];
	const char *hist[MAX_HISTORIES];   /* --history: paths */
	size_t nhist;
} srv;

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* --------------------------------------------------------------- owners */

/* A reader that accepts the owners served (the library's default is our
 * own uid and root; --uid adds the others). */
static int serve_open(const char *name, shmstat_reader **r)
{
	struct shmstat_reader_opts o;

	shmstat_reader_opts_init(&o);
	for (size_t k = 1; k < srv.nuid && o.nowners < SHMSTAT_READER_MAX_OWNERS; k++)
		o.owners[o.nowners++] = srv.uid[k];
	return shmstat_reader_open_opts(name, &o, r);
}

static int uid_served(uid_t u)
{
	for (size_t k = 0; k < srv.nuid; k++)
		if (srv.uid[k] == u)
			return 1;
	return 0;
}

/* Whether /dev/shm/shmstat.NAME may be served: -1 (and @why said) when
 * it is not a regular file (REF_INVALID) or is owned by a uid not served
 * (REF_OWNER), else 0; *@owner its uid. The link itself is looked at. */
static int seg_check(int dfd, const char *name, uid_t *owner, int *why, char *msg, size_t n)
{
	char file[300];
	struct stat st;

	snprintf(file, sizeof(file), "shmstat.%s", name);
	if (fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		*why = REF_INVALID;
		snprintf(msg, n, "/dev/shm/%s: %s", file, strerror(errno));
		return -1;
	}
	*owner = st.st_uid;
	if (!S_ISREG(st.st_mode)) {
		*why = REF_INVALID;
		snprintf(msg, n, "/dev/shm/%s is not a regular file", file);
		return -1;
	}
	if (!uid_served(st.st_uid)) {
		*why = REF_OWNER;
		snprintf(msg, n, "/dev/shm/%s is owned by uid %u, not served (see --uid)", file,
			 (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ discovery */

static struct seg *find_seg(const char *name)
{
	for (size_t k = 0; k < srv.nseg; k++)
		if (strcmp(srv.seg[k].name, name) == 0)
			return &srv.seg[k];
	return NULL;
}

/* Slot @name in keep[*n] (its reader moved from srv.seg if it was served
 * already, or opened now): 0, or -1 when it does not open as a segment. */
static int slot(struct seg *keep, size_t *n, const char *name)
{
	struct seg *old = find_seg(name);
	shmstat_reader *r = NULL;

	if (old) {
		keep[(*n)++] = *old;
		old->r = NULL;                  /* moved */
		old->name[0] = '\0';
		return 0;
	}
	if (serve_open(name, &r) != 0)
		return -1;                      /* junk never takes a slot */
	memset(&keep[*n], 0, sizeof(keep[*n]));
	snprintf(keep[*n].name, sizeof(keep[*n].name), "%s", name);
	keep[*n].r = r;
	keep[(*n)++].up = -1;
	return 0;
}

/* Segments as they are now, when no --segment was given: what /dev/shm
 * holds, ours first, then those of the other uids served. */
static void discover(void)
{
	static struct seg keep[MAX_SEGMENTS];
	static char later[MAX_SEGMENTS][256];
	size_t n = 0, nlater = 0;
	DIR *d;
	struct dirent *e;

	if (!srv.discover)
		return;
	memset(srv.refused, 0, sizeof(srv.refused));
	d = opendir("/dev/shm");
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name + 8;
		char msg[400];
		uid_t owner;
		int why;

		if (strncmp(e->d_name, "shmstat.", 8) != 0)
			continue;
		if (shmstat_valid_name(name) != 0) {
			srv.refused[REF_INVALID]++;
			continue;
		}
		if (seg_check(dirfd(d), name, &owner, &why, msg, sizeof(msg)) != 0) {
			srv.refused[why]++;
			continue;
		}
		if (owner != srv.uid[0] && find_seg(name) == NULL) {
			if (nlater < MAX_SEGMENTS)
				snprintf(later[nlater++], sizeof(later[0]), "%s", name);
			else
				srv.refused[REF_LIMIT]++;
			continue;
		}
		if (n == MAX_SEGMENTS)
			srv.refused[REF_LIMIT]++;
		else if (slot(keep, &n, name) != 0)
			srv.refused[REF_INVALID]++;
	}
	closedir(d);
	for (size_t k = 0; k < nlater; k++) {
		if (n == MAX_SEGMENTS)
			srv.refused[REF_LIMIT]++;
		else if (slot(keep, &n, later[k]) != 0)
			srv.refused[REF_INVALID]++;
	}
	/* gone since: one the last scrape showed up is down at the next (up
	 * 0, said on stderr) as with -s, then forgotten (it was never 0) */
	for (size_t k = 0; k < srv.nseg; k++)
		if (srv.seg[k].name[0] && srv.seg[k].shown_up && n < MAX_SEGMENTS)
			keep[n++] = srv.seg[k];
		else
			shmstat_reader_close(srv.seg[k].r);
	memcpy(srv.seg, keep, n * sizeof(keep[0]));
	srv.nseg = n;
}

/* A snapshot of segment @g, reopening its reader when needed; NULL (and
 * a message when it changes) when it cannot be read. */
static shmstat_snap *snap_of(struct seg *g)
{
	shmstat_snap *s = NULL;
	char why[400] = "";

	for (int attempt = 0; attempt < 2; attempt++) {
		if (g->r == NULL) {
			int dfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ref = REF_INVALID;
			uid_t owner;
			int bad;

			if (dfd < 0)
				snprintf(why, sizeof(why), "/dev/shm: %s", strerror(errno));
			bad = dfd < 0 || seg_check(dfd, g->name, &owner, &ref, why, sizeof(why));
			if (dfd >= 0)
				close(dfd);
			if (bad) {
				if (!srv.discover && ref == REF_OWNER)
					srv.refused[REF_OWNER]++;
				break;
			}
			if (serve_open(g->name, &g->r) != 0) {
				g->r = NULL;
				break;
			}
		}
		if (shmstat_snapshot(g->r, &s) == 0) {
			struct shmstat_seg_info in;

			/* the name removed since the reader opened it: what the
			 * reader still maps is no longer the segment (down) */
			shmstat_snap_info(s, &in);
			if (!in.removed)
				break;
			shmstat_snap_free(s);
			snprintf(why, sizeof(why), "segment '%s' was removed", g->name);
			s = NULL;
			shmstat_reader_close(g->r);
			g->r = NULL;
			continue;
		}
		s = NULL;
		shmstat_reader_close(g->r);    /* re-created, truncated: again */
		g->r = NULL;
	}
	if (s == NULL)
		snprintf(g->why, sizeof(g->why), "%s", why[0] ? why : shmstat_last_error());
	if (g->up != (s != NULL)) {     /* changed, or the first scrape (-1) */
		if (s)
			fprintf(stderr, "shmstat: segment '%s' is up\n", g->name);
		else
			warnf("segment '%s' is down: %s", g->name, g->why);
	}
	g->up = s != NULL;
	return s;
}

static int by_seg(const void *a, const void *b)
{
	return strcmp(((const struct seg *)a)->name, ((const struct seg *)b)->name);
}

/* ------------------------------------------------------------- scrapes */

/* One response under way: the snapshots it renders from, as it is read. */
struct scrape {
	struct prom_src src[MAX_SEGMENTS];
	char name[MAX_SEGMENTS][256];
	size_t nseg;
	struct prom_iter *pi;
	char tail[512];
};

static void scrape_free(void *cls)
{
	struct scrape *sc = cls;

	for (size_t k = 0; k < sc->nseg; k++)
		shmstat_snap_free((shmstat_snap *)sc->src[k].snap);
	prom_iter_free(sc->pi);
	free(sc);
	srv.inflight--;
}

static ssize_t scrape_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct scrape *sc = cls;
	size_t n = prom_iter_read(sc->pi, buf, max);

	(void)pos;
	if (n > 0)
		return (ssize_t)n;
	return prom_iter_error(sc->pi) ? MHD_CONTENT_READER_END_WITH_ERROR
				       : MHD_CONTENT_READER_END_OF_STREAM;
}

/* -------------------------------------------------- for serve_api.c */

size_t serve_refresh(void)
{
	discover();
	qsort(srv.seg, srv.nseg, sizeof(srv.seg[0]), by_seg);
	return srv.nseg;
}

const char *serve_segment(size_t k)
{
	return srv.seg[k].name;
}

long serve_find(const char *name)
{
	for (size_t k = 0; k < srv.nseg; k++)
		if (strcmp(srv.seg[k].name, name) == 0)
			return (long)k;
	return -1;
}

shmstat_snap *serve_snapshot(size_t k)
{
	return snap_of(&srv.seg[k]);
}

const char *serve_snapshot_error(size_t k)
{
	return srv.seg[k].why;
}

uint64_t serve_max_bytes(void)
{
	return srv.po.max_bytes;
}

size_t serve_histories(void)
{
	return srv.nhist;
}

const char *serve_history_path(size_t k)
{
	return srv.hist[k];
}

const char *serve_history_name(size_t k)
{
	const char *b = strrchr(srv.hist[k], '/');

	return b ? b + 1 : srv.hist[k];
}

/* A scrape of every segment, ready to stream; NULL: out of memory. */
static struct scrape *scrape(int om)
{
	static const char type[] = "# TYPE shmstat_serve_refused_segments gauge\n";
	struct scrape *sc = calloc(1, sizeof(*sc));
	struct prom_opts o = srv.po;
	size_t k;
	int len;

	o.started_ns = mono_ns();
	if (sc == NULL)
		return NULL;
	if (!srv.discover)
		memset(srv.refused, 0, sizeof(srv.refused));
	discover();
	qsort(srv.seg, srv.nseg, sizeof(srv.seg[0]), by_seg);
	for (k = 0; k < srv.nseg; k++) {
		memcpy(sc->name[k], srv.seg[k].name, sizeof(sc->name[k]));
		sc->src[k] = (struct prom_src){ sc->name[k], snap_of(&srv.seg[k]), NULL, 0 };
		srv.seg[k].shown_up = sc->src[k].snap != NULL;
	}
	sc->nseg = srv.nseg;
	/* TYPE before HELP in OpenMetrics, as prom.c's families have them */
	len = snprintf(sc->tail, sizeof(sc->tail), "%s# HELP shmstat_serve_refused_segments segments "
		       "not served at this scrape: owner (of a uid not served, see --uid), invalid "
		       "(not a shmstat segment), limit (past %d)\n%s", om ? type : "", MAX_SEGMENTS,
		       om ? "" : type);
	for (int r = 0; r < NREF && len > 0 && (size_t)len < sizeof(sc->tail); r++)
		len += snprintf(sc->tail + len, sizeof(sc->tail) - (size_t)len,
				"shmstat_serve_refused_segments{reason=\"%s\"} %lu\n", ref_name[r],
				srv.refused[r]);
	o.om = om;
	o.tail = sc->tail;
	srv.scrapes++;
	srv.inflight++;
	if (prom_iter_new(sc->src, sc->nseg, &o, &sc->pi) != 0) {
		scrape_free(sc);
		return NULL;
	}
	return sc;
}

/* ---------------------------------------------------------- connections */

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Close connection @k now (MHD sees its end at once); under srv.lock. */
static void cut(struct conn *k)
{
	if (!k->closing)
		shutdown(k->fd, SHUT_RDWR);
	k->closing = 1;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **ctx,
			enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	pthread_mutex_lock(&srv.lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn *oldest = NULL;
		size_t used = 0;

		*ctx = NULL;
		for (size_t k = 0; k < MAX_CONNS; k++) {
			struct conn *x = &srv.conn[k];

			if (!x->used) {
				if (*ctx == NULL && ci) {
					*x = (struct conn){ .used = 1, .fd = ci->connect_fd };
					clock_gettime(CLOCK_MONOTONIC, &x->start);
					*ctx = x;
				}
				continue;
			}
			used++;
			if (!x->headers && !x->closing &&
			    (oldest == NULL || since(&x->start) > since(&oldest->start)))
				oldest = x;
		}
		/* near the limit: the slowest request to come in goes */
		if (used + 1 > MAX_CONNS - CONN_RESERVE && oldest)
			cut(oldest);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *ctx) {
		((struct conn *)*ctx)->used = 0;   /* before MHD closes the fd */
		*ctx = NULL;
	}
	pthread_mutex_unlock(&srv.lock);
}

/* A request done: the connection's next one has a deadline of its own. */
static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn *k = conn_of(c);

	(void)cls;
	(void)state;
	(void)toe;
	if (k == NULL)
		return;
	pthread_mutex_lock(&srv.lock);
	k->headers = 0;
	clock_gettime(CLOCK_MONOTONIC, &k->start);
	pthread_mutex_unlock(&srv.lock);
}

/* Every connection past its deadline is closed (from the main thread,
 * every second). */
static void sweep(void)
{
	pthread_mutex_lock(&srv.lock);
	for (size_t k = 0; k < MAX_CONNS; k++)
		if (srv.conn[k].used && since(&srv.conn[k].start) > srv.timeout)
			cut(&srv.conn[k]);
	pthread_mutex_unlock(&srv.lock);
}

/* ------------------------------------------------------------- requests */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *text)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(strlen(text), (void *)text,
								  MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		mhd.add_response_header(r, "Retry-After", "1");
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* ------------------------------------------------- content negotiation */

/* @p (@n bytes) without the blanks around it */
static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* How media range @r (@n bytes) matches @type ("type/subtype"): 3 as
 * itself, 2 as type/'*', 1 as '*'/'*', 0 not; case-insensitive */
static int range_match(const char *r, size_t n, const char *type)
{
	size_t tl = strcspn(type, "/") + 1;

	if (n == strlen(type) && strncasecmp(r, type, n) == 0)
		return 3;
	if (n == tl + 1 && strncasecmp(r, type, tl) == 0 && r[tl] == '*')
		return 2;
	return n == 3 && memcmp(r, "*/*", 3) == 0;
}

/* The q of a range's parameters @p (@n bytes: ";a=b;q=0.5"), in
 * thousandths: 1000 without one, -1 when it is not a qvalue (RFC 9110
 * 12.4.2: 0, 1, or either with up to three decimals, at most 1) */
static int range_q(const char *p, size_t n)
{
	while (n > 0) {
		size_t k = 1 + strcspn(p + 1, ";"), vn;
		const char *v = p + 1;
		int q, scale = 1000;

		k = k < n ? k : n;
		vn = k - 1;
		p += k, n -= k;
		trim(&v, &vn);
		if (vn < 2 || (v[0] != 'q' && v[0] != 'Q') || v[1] != '=')
			continue;
		v += 2, vn -= 2;
		if (vn == 0 || vn > 5 || (v[0] != '0' && v[0] != '1') ||
		    (vn > 1 && v[1] != '.'))
			return -1;
		q = (v[0] - '0') * 1000;
		for (size_t i = 2; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			q += (v[i] - '0') * (scale /= 10);
		}
		return q <= 1000 ? q : -1;
	}
	return 1000;
}

/* The q of @type in Accept header @a, in thousandths: that of the most
 * specific ranges matching it (the highest of them), -1 when none does;
 * a range with a malformed q is left out. */
static int accept_q(const char *a, const char *type)
{
	int spec = 0, q = -1;

	for (;;) {
		size_t n = strcspn(a, ","), mn = strcspn(a, ";,"), ml = mn;
		const char *m = a;
		int s, rq;

		trim(&m, &ml);
		s = range_match(m, ml, type);
		rq = range_q(a + mn, n - mn);
		if (s && rq >= 0 && (s > spec || (s == spec && rq > q))) {
			spec = s;
			q = rq;
		}
		if (a[n] == '\0')
			return q;
		a += n + 1;
	}
}

/* OpenMetrics when header Accept (NULL: none) prefers it to the text
 * format 0.0.4 (a higher q); the text format otherwise, on a tie too */
static int wants_openmetrics(const char *accept)
{
	int om;

	if (accept == NULL)
		return 0;
	om = accept_q(accept, "application/openmetrics-text");
	return om > 0 && om > accept_q(accept, "text/plain");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	static const char text[] = "text/plain; charset=utf-8", json[] = "application/json";
	const char *accept;
	struct MHD_Response *r;
	struct scrape *sc;
	enum MHD_Result ret;
	int om, api;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {           /* the headers: wait for the end */
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_size != 0) {        /* a body: skipped, then answered */
		*upload_size = 0;
		*state = (void *)2;
		return MHD_YES;
	}
	{
		/* the request is in, body and all: from now on the connection
		 * is not one still sending its request (a body dribbled after
		 * whole headers can be closed to make room, as slow headers) */
		struct conn *k = conn_of(c);

		if (k) {
			pthread_mutex_lock(&srv.lock);
			k->headers = 1;
			pthread_mutex_unlock(&srv.lock);
		}
	}
	/* under /api/ every error is {"error":"..."}, these two too */
	api = strncmp(url, "/api/", 5) == 0;
	if (*state == (void *)2 && (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
				    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0))
		return api ? reply(c, MHD_HTTP_BAD_REQUEST, json,
				   "{\"error\":\"a GET request has no body\"}\n")
			   : reply(c, MHD_HTTP_BAD_REQUEST, text, "a GET request has no body\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return api ? reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, json,
				   "{\"error\":\"method not allowed: GET or HEAD\"}\n")
			   : reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n");
	if (strcmp(url, "/healthz") == 0)
		return reply(c, MHD_HTTP_OK, text, "ok\n");
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, text,
			     "shmstat exporter: metrics at /metrics, health at /healthz, "
			     "JSON at /api/v1/segments, /api/v1/show, /api/v1/top, /api/v1/range, "
			     "/api/v1/window\n");
	if (api)
		return api_handle(c, url);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, text, "not found: try /metrics\n");
	if (srv.inflight >= MAX_INFLIGHT)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, text,
			     "too many scrapes under way, try again\n");
	accept = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = wants_openmetrics(accept);
	sc = scrape(om);
	if (sc == NULL)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
			     "out of memory making the scrape of every segment\n");
	r = mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)32 * 1024, scrape_read, sc,
					      scrape_free);
	if (r == NULL) {
		scrape_free(sc);
		return MHD_NO;
	}
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				   : "text/plain; version=0.0.4; charset=utf-8");
	/* HEAD: libmicrohttpd 0.9.75 ends a chunked answer to it with a last
	 * chunk, which a keep-alive client reads as its next answer's start;
	 * in HTTP/1.0's way it is not chunked (and ends the connection) */
	if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		mhd.set_response_options(r, MHD_RF_HTTP_VERSION_1_0_ONLY, MHD_RO_END);
	ret = mhd.queue_response(c, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

/* "HOST:PORT" or "[V6]:PORT" into @ss; 0 or -1 */
static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon, *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV },
			*res = NULL;
	size_t hl;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hl = (size_t)(end - arg - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, arg + 1, hl);
		host[hl] = '\0';
		port = end + 2;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL || colon == arg)
			return -1;
		hl = (size_t)(colon - arg);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, arg, hl);
		host[hl] = '\0';
		port = colon + 1;
	}
	{
		char *e;
		long p = strtol(port, &e, 10);

		if (*port == '\0' || *e || p < 0 || p > 65535)
			return -1;
	}
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* "UID[,UID]..." added to srv.uid; 0 or -1 */
static int parse_uids(const char *arg)
{
	const char *p = arg;

	for (;;) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || (unsigned long)(uid_t)v != v || (uid_t)v == (uid_t)-1 ||
		    (*end && *end != ','))
			return -1;
		if (!uid_served((uid_t)v)) {
			if (srv.nuid > MAX_UIDS)
				return -1;
			srv.uid[srv.nuid++] = (uid_t)v;
		}
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* parse_whole(), from 1 */
static int parse_count(const char *arg, uint64_t max, uint64_t *out)
{
	return parse_whole(arg, max, out) != 0 || *out < 1 ? -1 : 0;
}

int cmd_serve(int argc, char **argv)
{
	static const char shortopts[] = ":l:s:H:";
	char bad[64];
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "segment", required_argument, NULL, 's' },
		{ "uid", required_argument, NULL, 'u' },
		{ "le-per-octave", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 't' },
		{ "max-series", required_argument, NULL, 'S' },
		{ "max-bytes", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "history", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:9464";
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	sigset_t set;
	int ch;

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	srv.po.le_per_octave = 1;
	srv.po.top = 10;
	srv.po.segment_label = 1;
	srv.po.max_series = DEFAULT_MAX_SERIES;
	srv.po.max_bytes = DEFAULT_MAX_BYTES;
	srv.timeout = 30;
	srv.uid[srv.nuid++] = geteuid();
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		uint64_t n;

		switch (ch) {
		case 'l': listen = optarg; break;
		case 's':
			if (shmstat_valid_name(optarg) != 0)
				return usage_error(cmd_serve_usage, "%s", shmstat_last_error());
			if (srv.nseg == MAX_SEGMENTS)
				return usage_error(cmd_serve_usage, "more than %d segments",
						   MAX_SEGMENTS);
			/* twice: every series of it twice in a scrape */
			for (size_t k = 0; k < srv.nseg; k++)
				if (strcmp(srv.seg[k].name, optarg) == 0)
					return usage_error(cmd_serve_usage,
							   "segment '%s' is named twice", optarg);
			snprintf(srv.seg[srv.nseg].name, sizeof(srv.seg[0].name), "%s", optarg);
			srv.seg[srv.nseg++].up = -1;
			break;
		case 'u':
			if (parse_uids(optarg) != 0)
				return usage_error(cmd_serve_usage,
						   "uid list '%s' is not UID[,UID]... (at most %d)",
						   optarg, MAX_UIDS);
			break;
		case 'o':
			if (parse_count(optarg, PROM_MAX_LE_PER_OCTAVE, &n) != 0 || (n & (n - 1)))
				return usage_error(cmd_serve_usage,
						   "le-per-octave '%s' is not a power of two from 1 to %u",
						   optarg, PROM_MAX_LE_PER_OCTAVE);
			srv.po.le_per_octave = (unsigned)n;
			break;
		case 't':
			if (parse_whole(optarg, PROM_MAX_TOP, &n) != 0)
				return usage_error(cmd_serve_usage, "top '%s' is not 0 to %u", optarg,
						   PROM_MAX_TOP);
			srv.po.top = (unsigned)n;
			break;
		case 'S':
			if (parse_count(optarg, 1000000000ull, &n) != 0)
				return usage_error(cmd_serve_usage,
						   "max-series '%s' is not 1 to 1000000000", optarg);
			srv.po.max_series = (size_t)n;
			break;
		case 'B':
			if (parse_count(optarg, 1ull << 40, &n) != 0)
				return usage_error(cmd_serve_usage,
						   "max-bytes '%s' is not 1 to 2^40", optarg);
			srv.po.max_bytes = n;
			break;
		case 'T':
			if (parse_count(optarg, 86400, &n) != 0)
				return usage_error(cmd_serve_usage,
						   "timeout '%s' is not 1 to 86400 seconds", optarg);
			srv.timeout = (unsigned)n;
			break;
		case 'H':
			if (srv.nhist == MAX_HISTORIES)
				return usage_error(cmd_serve_usage, "more than %d history files",
						   MAX_HISTORIES);
			srv.hist[srv.nhist++] = optarg;
			for (size_t k = 0; k + 1 < srv.nhist; k++)
				if (strcmp(serve_history_name(k), serve_history_name(srv.nhist - 1)) == 0)
					return usage_error(cmd_serve_usage,
							   "two history files named '%s'",
							   serve_history_name(k));
			break;
		case ':':
			return usage_error(cmd_serve_usage, "option '%s' needs a value",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_serve_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (optind != argc)
		return usage_error(cmd_serve_usage, "unexpected argument '%s'", argv[optind]);
	srv.discover = srv.nseg == 0;
	if (serve_histories_check() != EXIT_OK)
		return EXIT_ERR;
	if (parse_listen(listen, &ss, &sslen) != 0)
		return usage_error(cmd_serve_usage, "listen address '%s' is not HOST:PORT", listen);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		char why[256];

		if (mhd_load(why, sizeof(why)) != 0)
			return die(EXIT_ERR, "%s", why);
	}
	/* the signals are waited for here, never delivered to MHD's thread */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);    /* cannot fail for SIGPIPE */
	d = mhd.start_daemon(flags, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_LIMIT,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			     MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_UNESCAPE_CALLBACK, mhd_unescape, NULL,
			     MHD_OPTION_END);
	if (d == NULL)
		return die(EXIT_ERR, "cannot listen on %s: %s", listen, strerror(errno));
	info = mhd.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	{
		char host[256] = "", *colon;

		snprintf(host, sizeof(host), "%s", listen);
		colon = strrchr(host, ':');
		if (colon)
			*colon = '\0';
		fprintf(stderr, "shmstat: serving %s on http://%s:%u/metrics\n",
			srv.discover ? "every readable segment" : "the segments named", host,
			info ? (unsigned)info->port : 0u);
	}
	for (;;) {                      /* the deadlines, every second */
		struct timespec sec = { 1, 0 };

		if (sigtimedwait(&set, NULL, &sec) >= 0)
			break;
		sweep();
	}
	mhd.stop_daemon(d);
	for (size_t k = 0; k < srv.nseg; k++)
		shmstat_reader_close(srv.seg[k].r);
	fprintf(stderr, "shmstat: stopped after %lu scrapes\n", srv.scrapes);
	return EXIT_OK;
}
