/*
 * cmd_serve.c - shmstat serve: a Prometheus exporter over HTTP
 * (libmicrohttpd), for one or more segments.
 *
 * One polling thread answers every connection, so the scrapes run one at
 * a time: each takes a snapshot of every segment (its reader is kept open
 * between scrapes and reopened when the segment is re-created or gone),
 * renders them with prom.c into one buffer, and hands the buffer to the
 * response. A request allocates what the current segments need, nothing
 * that grows with time. A segment that cannot be read is reported as
 * shmstat_segment_up 0; the exporter keeps serving.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "shmstat.h"
#include "cmd.h"
#include "prom.h"

const char cmd_serve_usage[] =
	"usage: shmstat serve [-l|--listen HOST:PORT] [-s|--segment NAME]...\n"
	"                     [--le-per-octave N] [--top N]\n"
	"  Serve the segments NAME (default: every shmstat segment this user\n"
	"  can read, looked up at each scrape) over HTTP on HOST:PORT (default\n"
	"  127.0.0.1:9464; port 0: any free port, printed at start). GET\n"
	"  /metrics answers in Prometheus text 0.0.4, or OpenMetrics 1.0 when\n"
	"  the Accept header asks for application/openmetrics-text; each\n"
	"  series is labelled segment=\"NAME\", shmstat_segment_up says which\n"
	"  segments could be read. Histograms have N le bounds per power of two\n"
	"  (default 1, up to 64); signature tables their top N keys (default\n"
	"  10). GET /healthz answers ok. Runs in the foreground until SIGTERM\n"
	"  or SIGINT (exit 0).\n";

#define MAX_SEGMENTS 256
#define HEADER_LIMIT (16 * 1024)   /* request headers past this: 431 */

struct seg {
	char name[256];
	shmstat_reader *r;
	int up;                    /* last scrape: 1 read, 0 not, -1 never tried */
};

static struct {
	struct seg seg[MAX_SEGMENTS];
	size_t nseg;
	int discover;              /* no --segment: look in /dev/shm */
	struct prom_opts po;
	unsigned long scrapes;
} srv;

/* Segments as they are now: the named ones, or what /dev/shm holds. */
static void discover(void)
{
	DIR *d;
	struct dirent *e;
	struct seg keep[MAX_SEGMENTS];
	size_t n = 0;

	if (!srv.discover)
		return;
	d = opendir("/dev/shm");
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < MAX_SEGMENTS) {
		const char *name = e->d_name + 8;
		size_t k;

		if (strncmp(e->d_name, "shmstat.", 8) != 0 || shmstat_valid_name(name) != 0)
			continue;
		{
			char path[300];

			snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
			if (access(path, R_OK) != 0)
				continue;
		}
		for (k = 0; k < srv.nseg; k++)
			if (strcmp(srv.seg[k].name, name) == 0)
				break;
		if (k < srv.nseg) {
			keep[n++] = srv.seg[k];
			srv.seg[k].r = NULL;        /* moved */
		} else {
			memset(&keep[n], 0, sizeof(keep[n]));
			snprintf(keep[n].name, sizeof(keep[n].name), "%s", name);
			keep[n++].up = -1;
		}
	}
	closedir(d);
	for (size_t k = 0; k < srv.nseg; k++)
		shmstat_reader_close(srv.seg[k].r);   /* gone since */
	memcpy(srv.seg, keep, n * sizeof(keep[0]));
	srv.nseg = n;
}

/* A snapshot of segment @g, reopening its reader when needed; NULL (and
 * a message when it changes) when it cannot be read. */
static shmstat_snap *snap_of(struct seg *g)
{
	shmstat_snap *s = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (g->r == NULL && shmstat_reader_open(g->name, &g->r) != 0) {
			g->r = NULL;
			break;
		}
		if (shmstat_snapshot(g->r, &s) == 0)
			break;
		s = NULL;
		shmstat_reader_close(g->r);    /* re-created, truncated: again */
		g->r = NULL;
	}
	if (g->up != (s != NULL)) {     /* changed, or the first scrape (-1) */
		if (s)
			fprintf(stderr, "shmstat: segment '%s' is up\n", g->name);
		else
			warnf("segment '%s' is down: %s", g->name, shmstat_last_error());
	}
	g->up = s != NULL;
	return s;
}

static int by_seg(const void *a, const void *b)
{
	return strcmp(((const struct seg *)a)->name, ((const struct seg *)b)->name);
}

/* The exposition of every segment into *@buf; 0 or ENOMEM. */
static int scrape(int om, char **buf, size_t *len)
{
	struct prom_src src[MAX_SEGMENTS];
	struct prom_opts o = srv.po;
	size_t nseg;
	FILE *f;
	int err;

	discover();
	nseg = srv.nseg;
	qsort(srv.seg, nseg, sizeof(srv.seg[0]), by_seg);
	for (size_t k = 0; k < nseg; k++)
		src[k] = (struct prom_src){ srv.seg[k].name, snap_of(&srv.seg[k]), NULL, 0 };
	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (f == NULL) {
		err = ENOMEM;
	} else {
		o.om = om;
		err = prom_render(f, src, nseg, &o);
		if (fclose(f) != 0)
			err = ENOMEM;
	}
	for (size_t k = 0; k < nseg; k++)
		shmstat_snap_free((shmstat_snap *)src[k].snap);
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	srv.scrapes++;
	return err;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								  MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	const char *accept;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *buf;
	size_t len;
	int om;

	(void)cls;
	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_size = 0;       /* a body, if any, is not read */
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n");
	}
	if (*state == NULL) {           /* the headers: wait for the end */
		*state = (void *)1;
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0)
		return reply(c, MHD_HTTP_OK, text, "ok\n");
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, text,
			     "shmstat exporter: metrics at /metrics, health at /healthz\n");
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, text, "not found: try /metrics\n");
	accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = accept && strstr(accept, "application/openmetrics-text") != NULL;
	if (scrape(om, &buf, &len) != 0)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "out of memory\n");
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				   : "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
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

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "segment", required_argument, NULL, 's' },
		{ "le-per-octave", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:9464";
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	sigset_t set;
	int ch, sig;

	memset(&srv, 0, sizeof(srv));
	srv.po.le_per_octave = 1;
	srv.po.top = 10;
	srv.po.segment_label = 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:s:", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (ch) {
		case 'l': listen = optarg; break;
		case 's':
			if (shmstat_valid_name(optarg) != 0)
				return usage_error(cmd_serve_usage, "%s", shmstat_last_error());
			if (srv.nseg == MAX_SEGMENTS)
				return usage_error(cmd_serve_usage, "more than %d segments",
						   MAX_SEGMENTS);
			snprintf(srv.seg[srv.nseg].name, sizeof(srv.seg[0].name), "%s", optarg);
			srv.seg[srv.nseg++].up = -1;
			break;
		case 'o':
			v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > PROM_MAX_LE_PER_OCTAVE ||
			    (v & (v - 1)))
				return usage_error(cmd_serve_usage,
						   "le-per-octave '%s' is not a power of two from 1 to %u",
						   optarg, PROM_MAX_LE_PER_OCTAVE);
			srv.po.le_per_octave = (unsigned)v;
			break;
		case 't':
			v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v > PROM_MAX_TOP)
				return usage_error(cmd_serve_usage, "top '%s' is not 0 to %u", optarg,
						   PROM_MAX_TOP);
			srv.po.top = (unsigned)v;
			break;
		case ':':
			return usage_error(cmd_serve_usage, "option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error(cmd_serve_usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error(cmd_serve_usage, "unexpected argument '%s'", argv[optind]);
	srv.discover = srv.nseg == 0;
	if (parse_listen(listen, &ss, &sslen) != 0)
		return usage_error(cmd_serve_usage, "listen address '%s' is not HOST:PORT", listen);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the signals are waited for here, never delivered to MHD's thread */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);    /* cannot fail for SIGPIPE */
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_LIMIT * 2,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			     MHD_OPTION_END);
	if (d == NULL)
		return die(EXIT_ERR, "cannot listen on %s: %s", listen, strerror(errno));
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
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
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	for (size_t k = 0; k < srv.nseg; k++)
		shmstat_reader_close(srv.seg[k].r);
	fprintf(stderr, "shmstat: stopped after %lu scrapes\n", srv.scrapes);
	return EXIT_OK;
}
