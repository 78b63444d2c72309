/*
 * test_serve.c - `shmstat serve` against hostile neighbours (issue 17):
 * the exporter runs as a child (the tool built normally, its path is
 * argv[1]), the attacks come from this process or from a child running
 * as nobody (65534; those cases are skipped when not root).
 *
 *  - 300 empty files shmstat.* of nobody and 300 of our own uid in
 *    /dev/shm: a real segment is still served (junk never takes one of
 *    the 256 slots), the refused names are counted;
 *  - a segment of nobody's is not served by default, is with --uid;
 *  - more segments than the 256 slots: those of serve's own uid are
 *    served first, the names left out counted;
 *  - clients that send GET /metrics on a big segment and never read:
 *    /healthz still answers, serve's peak RSS stays under the bound
 *    docs/security.md states, and a real scrape works once they are cut;
 *  - 64 connections dribbling header bytes: /healthz still answers; one
 *    such connection is closed by --timeout however it dribbles;
 *  - --max-series and --max-bytes cut a response and say so with
 *    shmstat_scrape_truncated{segment=...} 1;
 *  - a GET with a body gets an answer (400); request headers over 16
 *    KiB get 431;
 *  - clients that ask /api/v1/show for a big answer and never read: 4
 *    answers under way, the others 503; an answer over --max-bytes is
 *    400.
 *
 * Timeouts here only detect a hang (an answer that never comes), they
 * measure nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ut_common.h"

#define HANG_MS 5000               /* an answer later than this: a hang */
#define CONN_SLACK 8               /* serve: connections kept for new clients */

static const char *tool;
static pid_t live_serve;           /* stopped at teardown if a test failed */

/* --------------------------------------------------------------- serve */

struct serve {
	pid_t pid;
	int port;
	char err[64];              /* its stderr, a file */
};

/* Start `shmstat serve -l 127.0.0.1:0 ARGS...` (NULL-terminated); wait
 * for the port it prints. */
static void serve_start(struct serve *sv, ...)
{
	const char *argv[32] = { tool, "serve", "-l", "127.0.0.1:0" };
	int argc = 4, fd;
	va_list ap;

	va_start(ap, sv);
	while ((argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	snprintf(sv->err, sizeof(sv->err), "/tmp/test_serve.%d.err", (int)getpid());
	fd = open(sv->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	sv->pid = fork();
	assert_true(sv->pid >= 0);
	if (sv->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		if (null >= 0)
			dup2(null, 1);
		execv(tool, (char **)argv);
		_exit(127);
	}
	close(fd);
	live_serve = sv->pid;
	sv->port = 0;
	for (int i = 0; i < 1000 && sv->port == 0; i++) {
		char buf[4096] = "", *p;
		FILE *f = fopen(sv->err, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		struct timespec ms10 = { 0, 10000000L };

		if (f)
			(void)fclose(f);
		buf[n] = '\0';
		p = strstr(buf, "127.0.0.1:");
		if (p && strstr(p, "/metrics"))
			sv->port = (int)strtol(p + 10, NULL, 10);
		else
			nanosleep(&ms10, NULL);    /* polling for the start line */
		if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid)
			fail_msg("serve exited: %s", buf);
	}
	assert_true(sv->port > 0);
}

static void serve_stop(struct serve *sv)
{
	int st;

	kill(sv->pid, SIGTERM);
	live_serve = 0;
	assert_int_equal(waitpid(sv->pid, &st, 0), sv->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(sv->err);
}

/* serve's peak resident set in KiB (VmHWM) */
static long serve_hwm(const struct serve *sv)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)sv->pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	(void)fclose(f);
	return kb;
}

/* The test's serve, if a failure left it running, then ut_teardown. */
static int sv_teardown(void **state)
{
	if (live_serve > 0) {
		kill(live_serve, SIGKILL);
		waitpid(live_serve, NULL, 0);
		live_serve = 0;
	}
	return ut_teardown(state);
}

/* ---------------------------------------------------------------- HTTP */

/* A connection to serve; @rcvbuf: its receive buffer (0: the default) */
static int tcp_buf(int port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int tcp(int port)
{
	return tcp_buf(port, 0);
}

/* Send @req (HTTP/1.0: the answer ends at EOF), read the whole answer
 * with no wait longer than @ms: malloc'd, NUL-terminated; NULL on a
 * hang or a connection closed without an answer. */
static char *http(int port, const char *req, size_t reqlen, int ms)
{
	int fd = tcp(port);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	assert_non_null(buf);
	assert_int_equal(send(fd, req, reqlen, MSG_NOSIGNAL), (ssize_t)reqlen);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, ms) != 1)
			goto none;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno != ECONNRESET)
			goto none;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		free(buf);
		return NULL;
	}
	return buf;
none:
	close(fd);
	free(buf);
	return NULL;
}

static char *get(int port, const char *path)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	return http(port, req, strlen(req), HANG_MS);
}

static int status_of(const char *answer)
{
	return answer && strncmp(answer, "HTTP/1.", 7) == 0 ? (int)strtol(answer + 9, NULL, 10) : 0;
}

static void healthz_ok(int port)
{
	char *a = get(port, "/healthz");

	if (a == NULL)
		fail_msg("/healthz did not answer within %d ms", HANG_MS);
	assert_int_equal(status_of(a), 200);
	assert_non_null(a ? strstr(a, "\r\n\r\nok\n") : NULL);
	free(a);
}

/* the value of sample line @series (exactly, then a space) in @a; -1 if none */
static long long sample(const char *a, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = a; (p = strstr(p, series)) != NULL; p += n)
		if ((p == a || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

/* ------------------------------------------------------------ segments */

/* Segment @name with @ncounters counters c_0000_total ... and
 * @nhists default histograms h_0000 ..., one stripe; detached. */
static void make_segment(const char *name, unsigned ncounters, unsigned nhists)
{
	struct shmstat_opts o;
	shmstat_seg *seg;

	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_threads = 1;
	o.max_metrics = ncounters + nhists + 16;
	o.max_values = ncounters + nhists * 2350 + 64;
	o.max_stacks = 0;
	o.max_modules = 16;
	o.sig_bytes = 0;
	o.mode = 0640;
	if (shmstat_open(name, &o, &seg) != 0)
		fail_msg("%s", shmstat_last_error());
	for (unsigned k = 0; k < ncounters; k++) {
		char n[32];
		struct shmstat_metric_def d = { .name = n, .help = "test" };
		shmstat_counter *c;

		snprintf(n, sizeof(n), "c_%04u_total", k);
		assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
		shmstat_counter_add(c, k + 1);
	}
	for (unsigned k = 0; k < nhists; k++) {
		char n[32];
		struct shmstat_metric_def d = { .name = n, .help = "test" };
		shmstat_hist *h;

		snprintf(n, sizeof(n), "h_%04u", k);
		assert_int_equal(shmstat_hist_register(seg, &d, NULL, &h), 0);
		shmstat_hist_record(h, 1000 + k);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

static int root_or_skip(void)
{
	if (geteuid() == 0)
		return 1;
	print_message("skipped: needs root to act as another user (nobody)\n");
	skip();
	return 0;
}

/* Run @fn(@arg) in a child as nobody; its exit status must be 0. */
static void as_nobody(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (ut_become_nobody() != 0)
			_exit(2);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* --------------------------------------------------------------- tests */

#define NJUNK 300

static char junk_tag[64];

static int make_junk(void *arg)
{
	const char *who = arg;

	for (int k = 0; k < NJUNK; k++) {
		char path[300];
		int fd;

		snprintf(path, sizeof(path), "/dev/shm/shmstat.%s-%s-%d", junk_tag, who, k);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return 1;
		close(fd);
	}
	return 0;
}

static void remove_junk(const char *who)
{
	for (int k = 0; k < NJUNK; k++) {
		char path[300];

		snprintf(path, sizeof(path), "/dev/shm/shmstat.%s-%s-%d", junk_tag, who, k);
		unlink(path);
	}
}

/* 600 junk names cannot push a real segment out of the 256 slots. */
static void test_junk_flood(void **state)
{
	const char *real = ut_name("real");
	char up[300];
	struct serve sv;
	char *a;

	(void)state;
	if (!root_or_skip())
		return;
	make_segment(real, 3, 0);        /* first: last in tmpfs' readdir */
	snprintf(junk_tag, sizeof(junk_tag), "ut-junk-%d", (int)getpid());
	as_nobody(make_junk, "nobody");
	assert_int_equal(make_junk("own"), 0);
	serve_start(&sv, NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(status_of(a), 200);
	snprintf(up, sizeof(up), "shmstat_segment_up{segment=\"%s\"}", real);
	assert_int_equal(sample(a, up), 1);
	assert_null(strstr(a, junk_tag));               /* no junk in slots */
	assert_true(sample(a, "shmstat_serve_refused_segments{reason=\"owner\"}") >= NJUNK);
	assert_true(sample(a, "shmstat_serve_refused_segments{reason=\"invalid\"}") >= NJUNK);
	free(a);
	serve_stop(&sv);
}

static int junk_teardown(void **state)
{
	remove_junk("nobody");
	remove_junk("own");
	return sv_teardown(state);
}

static int make_squat(void *arg)
{
	make_segment(arg, 2, 0);
	return 0;
}

/* A segment of another uid is served only when --uid names it. */
static void test_squatted_segment(void **state)
{
	const char *squat = ut_name("squat");
	char up[300];
	struct serve sv;
	char *a;

	(void)state;
	if (!root_or_skip())
		return;
	as_nobody(make_squat, (void *)squat);
	snprintf(up, sizeof(up), "shmstat_segment_up{segment=\"%s\"}", squat);

	serve_start(&sv, NULL);                         /* every segment */
	a = get(sv.port, "/metrics");
	assert_int_equal(status_of(a), 200);
	assert_null(strstr(a, squat));
	assert_true(sample(a, "shmstat_serve_refused_segments{reason=\"owner\"}") >= 1);
	free(a);
	serve_stop(&sv);

	serve_start(&sv, "-s", squat, NULL);            /* named */
	a = get(sv.port, "/metrics");
	assert_int_equal(sample(a, up), 0);
	assert_int_equal(sample(a, "shmstat_serve_refused_segments{reason=\"owner\"}"), 1);
	free(a);
	serve_stop(&sv);

	serve_start(&sv, "--uid", "65534", NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(sample(a, up), 1);
	free(a);
	serve_stop(&sv);
}

#define NOWN 260

static void slot_name(char *buf, size_t n, int k)
{
	snprintf(buf, n, "ut-slot-%d-%d", (int)getpid(), k);
}

/* A minimal segment: one counter. */
static void make_tiny(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg;

	shmstat_opts_init(&o);
	o.max_procs = 1;
	o.max_threads = 1;
	o.max_metrics = 1;
	o.max_values = 1;
	o.max_stacks = 0;
	o.max_modules = 1;
	o.sig_bytes = 0;
	if (shmstat_open(name, &o, &seg) != 0)
		fail_msg("%s", shmstat_last_error());
	assert_int_equal(shmstat_close(seg), 0);
}

static int make_tiny_child(void *arg)
{
	make_tiny(arg);
	return 0;
}

static int slots_teardown(void **state)
{
	for (int k = 0; k < NOWN; k++) {
		char name[64], path[300];

		slot_name(name, sizeof(name), k);
		ut_path(name, path, sizeof(path));
		unlink(path);
	}
	return sv_teardown(state);
}

/* More segments than the 256 slots: serve's own uid first, then --uid's. */
static void test_slots_prefer_own(void **state)
{
	const char *theirs = ut_name("theirs");
	char up[300];
	struct serve sv;
	long long served = 0;
	char *a, *p;

	(void)state;
	if (!root_or_skip())
		return;
	for (int k = 0; k < NOWN; k++) {
		char name[64];

		slot_name(name, sizeof(name), k);
		make_tiny(name);
	}
	as_nobody(make_tiny_child, (void *)theirs);     /* last: first in readdir */
	serve_start(&sv, "--uid", "65534", NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(status_of(a), 200);
	snprintf(up, sizeof(up), "shmstat_segment_up{segment=\"%s\"}", theirs);
	assert_int_equal(sample(a, up), -1);            /* not slotted */
	for (p = a; (p = strstr(p, "\nshmstat_segment_up{")) != NULL; p++)
		served++;
	assert_int_equal(served, 256);
	assert_true(sample(a, "shmstat_serve_refused_segments{reason=\"limit\"}") >= NOWN + 1 - 256);
	free(a);
	serve_stop(&sv);
}

/* The bound docs/security.md states for serve's peak RSS: a base, and
 * for each of the 4 responses under way a copy of the segments served
 * and a little per metric. */
#define RSS_BASE_KB (24L * 1024)
#define RSS_PER_METRIC_B 512

/* Clients that ask for a 200 MB response and never read it. */
static void test_never_reading_clients(void **state)
{
	const char *big = ut_name("big");
	enum { NATTACK = 8, NHIST = 1024 };
	int fd[NATTACK];
	struct serve sv;
	struct stat st;
	char path[300], want[64];
	long hwm, bound;
	char *a;

	(void)state;
	make_segment(big, 0, NHIST);
	ut_path(big, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	serve_start(&sv, "-s", big, "--le-per-octave", "64", "--max-series", "1000000000",
		    "--max-bytes", "1099511627776", NULL);
	for (int k = 0; k < NATTACK; k++) {
		static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
		struct pollfd p;

		fd[k] = tcp_buf(sv.port, 4096);
		assert_int_equal(send(fd[k], req, sizeof(req) - 1, MSG_NOSIGNAL),
				 (ssize_t)sizeof(req) - 1);
		/* serve took the request: its answer has begun */
		p = (struct pollfd){ fd[k], POLLIN, 0 };
		assert_int_equal(poll(&p, 1, 60000), 1);
	}
	for (int i = 0; i < 3; i++)
		healthz_ok(sv.port);
	hwm = serve_hwm(&sv);
	bound = RSS_BASE_KB + 4L * ((long)st.st_size + (long)NHIST * RSS_PER_METRIC_B) / 1024;
	print_message("serve VmHWM %ld KiB with %d clients not reading (bound %ld KiB, "
		      "segment %ld KiB)\n", hwm, NATTACK, bound, (long)st.st_size / 1024);
	assert_true(hwm > 0 && hwm < bound);
	for (int k = 0; k < NATTACK; k++)
		close(fd[k]);
	/* a real scrape, once serve has seen them go (503 until then) */
	snprintf(want, sizeof(want), "h_%04u_count{segment=\"%s\"}", NHIST - 1, big);
	for (int i = 0;; i++) {
		a = get(sv.port, "/metrics");
		if (status_of(a) != 503 || i == 1000)
			break;
		free(a);
	}
	assert_int_equal(status_of(a), 200);
	assert_int_equal(sample(a, want), 1);
	free(a);
	serve_stop(&sv);
}

struct dribble {
	int *fd;
	int n;
	volatile int stop;
	int ms;
};

static void *dribbler(void *arg)
{
	struct dribble *d = arg;

	while (!d->stop) {
		struct timespec t = { d->ms / 1000, (d->ms % 1000) * 1000000L };

		for (int k = 0; k < d->n; k++)
			if (d->fd[k] >= 0)
				(void)send(d->fd[k], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		nanosleep(&t, NULL);    /* the attacker's pace, not a wait */
	}
	return NULL;
}

/* 64 connections sending a header byte a second: /healthz answers. */
static void test_slowloris(void **state)
{
	enum { NSLOW = 64 };
	int fd[NSLOW];
	struct dribble d = { fd, NSLOW, 0, 1000 };
	pthread_t th;
	struct serve sv;

	(void)state;
	serve_start(&sv, "-s", "none-such", NULL);
	for (int k = 0; k < NSLOW; k++) {
		static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

		fd[k] = tcp(sv.port);
		(void)send(fd[k], head, sizeof(head) - 1, MSG_NOSIGNAL);
	}
	assert_int_equal(pthread_create(&th, NULL, dribbler, &d), 0);
	for (int i = 0; i < 3; i++)
		healthz_ok(sv.port);
	d.stop = 1;
	pthread_join(th, NULL);
	for (int k = 0; k < NSLOW; k++)
		close(fd[k]);
	serve_stop(&sv);
}

/* 64 connections with whole headers of a GET whose body they dribble
 * (each seen by serve's handler: it asked for the body, 100 Continue):
 * they are still sending their requests, so /healthz still answers.
 * --timeout is long: only making room can let /healthz in. */
static void test_body_dribble(void **state)
{
	enum { NSLOW = 64 };
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
				   "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n";
	int fd[NSLOW];
	struct dribble d = { fd, NSLOW, 0, 1000 };
	pthread_t th;
	struct serve sv;

	(void)state;
	serve_start(&sv, "-s", "none-such", "--timeout", "3600", NULL);
	for (int k = 0; k < NSLOW; k++) {
		struct pollfd p;
		char got[64] = "";

		fd[k] = tcp(sv.port);
		assert_int_equal(send(fd[k], head, sizeof(head) - 1, MSG_NOSIGNAL),
				 (ssize_t)sizeof(head) - 1);
		/* the handler has seen the headers once 100 Continue comes;
		 * past 64 connections there is no slot, and no answer */
		p = (struct pollfd){ fd[k], POLLIN, 0 };
		if (poll(&p, 1, HANG_MS) == 1)
			(void)recv(fd[k], got, sizeof(got) - 1, 0);
		if (k < NSLOW - CONN_SLACK)
			assert_non_null(strstr(got, "100 Continue"));
	}
	assert_int_equal(pthread_create(&th, NULL, dribbler, &d), 0);
	for (int i = 0; i < 3; i++)
		healthz_ok(sv.port);
	d.stop = 1;
	pthread_join(th, NULL);
	for (int k = 0; k < NSLOW; k++)
		close(fd[k]);
	serve_stop(&sv);
}

/* --timeout is the whole time a request has, however it dribbles. */
static void test_total_deadline(void **state)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	int fd;
	struct dribble d = { &fd, 1, 0, 300 };
	struct pollfd p;
	pthread_t th;
	struct serve sv;
	char c;

	(void)state;
	serve_start(&sv, "-s", "none-such", "--timeout", "2", NULL);
	fd = tcp(sv.port);
	assert_int_equal(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(head) - 1);
	assert_int_equal(pthread_create(&th, NULL, dribbler, &d), 0);
	/* closed by serve: well before the idle timeout restarted by
	 * every byte would ever end it */
	p = (struct pollfd){ fd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 15000), 1);
	assert_true(recv(fd, &c, 1, 0) <= 0);
	d.stop = 1;
	pthread_join(th, NULL);
	close(fd);
	serve_stop(&sv);
}

/* --max-series and --max-bytes cut, and say so. */
static void test_truncated(void **state)
{
	const char *seg = ut_name("cut");
	char trunc[300], last[300];
	struct serve sv;
	size_t n = 0, bytes = 0;
	char *a, *p;

	(void)state;
	make_segment(seg, 50, 2);
	snprintf(trunc, sizeof(trunc), "shmstat_scrape_truncated{segment=\"%s\"}", seg);
	snprintf(last, sizeof(last), "c_0049_total{segment=\"%s\"}", seg);

	serve_start(&sv, "-s", seg, NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(sample(a, trunc), 0);
	assert_int_equal(sample(a, last), 50);
	free(a);
	serve_stop(&sv);

	serve_start(&sv, "-s", seg, "--max-series", "10", NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(status_of(a), 200);
	for (p = a; (p = strstr(p, "\n")) != NULL; p++)
		if ((p[1] == 'c' || p[1] == 'h') && p[2] == '_')
			n++;
	assert_int_equal(n, 10);                 /* 10 counters; the histograms whole or not */
	assert_int_equal(sample(a, trunc), 1);
	free(a);
	serve_stop(&sv);

	serve_start(&sv, "-s", seg, "--max-bytes", "1000", NULL);
	a = get(sv.port, "/metrics");
	assert_int_equal(status_of(a), 200);
	p = strstr(a, "\r\n\r\n");
	assert_non_null(p);
	for (p += 4; *p; p++) {
		char *e = strchr(p, '\n');

		if (e == NULL)
			break;
		if (strncmp(p, "shmstat_", 8) != 0 && strncmp(p, "# HELP shmstat_", 15) != 0 &&
		    strncmp(p, "# TYPE shmstat_", 15) != 0 && strncmp(p, "0\r\n", 3) != 0)
			bytes += (size_t)(e - p) + 1;
		p = e;
	}
	assert_true(bytes > 0 && bytes <= 1000);
	assert_int_equal(sample(a, trunc), 1);
	free(a);
	serve_stop(&sv);
}

/* Segment @name with @n counters whose help is as long as it may be
 * (79 bytes): a big /api/v1/show; detached. */
static void make_wordy_segment(const char *name, unsigned n)
{
	static const char help[] = "a counter with a help text as long as a help text may be, "
				   "to make big answers!!";
	struct shmstat_opts o;
	shmstat_seg *seg;

	assert_int_equal(sizeof(help) - 1, 79);
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_threads = 1;
	o.max_metrics = n + 16;
	o.max_values = n + 64;
	o.max_stacks = 0;
	o.max_modules = 16;
	o.sig_bytes = 0;
	if (shmstat_open(name, &o, &seg) != 0)
		fail_msg("%s", shmstat_last_error());
	for (unsigned k = 0; k < n; k++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm, .help = help };
		shmstat_counter *c;

		snprintf(nm, sizeof(nm), "c_%06u_total", k);
		assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* The JSON API's answers are built whole: at most 4 are under way (the
 * others 503) while their clients do not read, and none is over
 * --max-bytes (400 naming it). */
static void test_api_bounded(void **state)
{
	const char *big = ut_name("api");
	enum { NATTACK = 6, ANSWERS = 4 };
	long wmem = 4 << 20;
	unsigned n;
	int fd[NATTACK];
	struct serve sv;
	char q[400], *a;
	FILE *f;

	(void)state;
	/* each answer more than twice what the kernel buffers for a client
	 * that does not read (serve's send buffer at its largest), so that
	 * it stays under way: about 220 bytes a counter */
	f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	if (f) {
		long lo, def;

		if (fscanf(f, "%ld %ld %ld", &lo, &def, &wmem) != 3)
			wmem = 4 << 20;
		(void)fclose(f);
	}
	n = (unsigned)((2 * wmem + (1 << 20)) / 200);
	make_wordy_segment(big, n);
	snprintf(q, sizeof(q), "GET /api/v1/show?segment=%s HTTP/1.1\r\nHost: x\r\n\r\n", big);
	serve_start(&sv, "-s", big, NULL);
	for (int k = 0; k < NATTACK; k++) {
		char line[16] = "";
		struct pollfd p;

		fd[k] = tcp_buf(sv.port, 4096);
		assert_int_equal(send(fd[k], q, strlen(q), MSG_NOSIGNAL), (ssize_t)strlen(q));
		p = (struct pollfd){ fd[k], POLLIN, 0 };
		assert_int_equal(poll(&p, 1, 60000), 1);
		assert_int_equal(recv(fd[k], line, sizeof(line) - 1, 0), (ssize_t)sizeof(line) - 1);
		print_message("client %d: %s\n", k, line);
		assert_int_equal(status_of(line), k < ANSWERS ? 200 : 503);
	}
	healthz_ok(sv.port);
	a = get(sv.port, "/metrics");                  /* scrapes have their own */
	assert_int_equal(status_of(a), 200);
	free(a);
	for (int k = 0; k < NATTACK; k++)
		close(fd[k]);
	snprintf(q, sizeof(q), "/api/v1/show?segment=%s", big);
	for (int i = 0;; i++) {                        /* once serve has seen them go */
		a = get(sv.port, q);
		if (status_of(a) != 503 || i == 1000)
			break;
		free(a);
	}
	assert_int_equal(status_of(a), 200);
	assert_non_null(strstr(a, "\"c_000000_total\""));
	free(a);
	serve_stop(&sv);

	serve_start(&sv, "-s", big, "--max-bytes", "100000", NULL);
	a = get(sv.port, q);
	assert_int_equal(status_of(a), 400);
	assert_non_null(strstr(a, "{\"error\":\"the answer would be over 100000 bytes (--max-bytes)"));
	free(a);
	a = get(sv.port, "/api/v1/segments");
	assert_int_equal(status_of(a), 200);
	free(a);
	serve_stop(&sv);
}

/* A GET with a body is answered; headers past 16 KiB get 431. */
static void test_bad_requests(void **state)
{
	static const char body[] = "GET /healthz HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello";
	static const char chunked[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	struct serve sv;
	char *req = malloc(20000), *a;

	(void)state;
	assert_non_null(req);
	serve_start(&sv, "-s", "none-such", NULL);
	a = http(sv.port, body, sizeof(body) - 1, HANG_MS);
	assert_int_equal(status_of(a), 400);
	free(a);
	a = http(sv.port, chunked, sizeof(chunked) - 1, HANG_MS);
	assert_int_equal(status_of(a), 400);
	free(a);
	for (int size = 8 * 1024; size <= 17 * 1024; size += 9 * 1024) {
		int n = snprintf(req, 20000, "GET /healthz HTTP/1.0\r\nX-Big: ");

		memset(req + n, 'a', (size_t)size);
		memcpy(req + n + size, "\r\n\r\n", 5);
		a = http(sv.port, req, strlen(req), HANG_MS);
		assert_int_equal(status_of(a), size > 16 * 1024 ? 431 : 200);
		free(a);
	}
	healthz_ok(sv.port);
	free(req);
	serve_stop(&sv);
}

/* ------------------------------------------------------------- figures */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The slowest of 20 GET /healthz, in ms. */
static double healthz_worst(int port)
{
	double worst = 0;

	for (int i = 0; i < 20; i++) {
		double t0 = now_ms(), dt;

		healthz_ok(port);
		dt = now_ms() - t0;
		worst = dt > worst ? dt : worst;
	}
	return worst;
}

static int make_sparse(void *arg)
{
	const char *name = arg;
	char path[300], buf[65536];
	int in, out;
	ssize_t n;

	/* a real segment's first 64 KiB, then a hole to 8 GiB */
	make_segment(name, 1, 0);
	ut_path(name, path, sizeof(path));
	in = open(path, O_RDONLY);
	n = in >= 0 ? read(in, buf, sizeof(buf)) : -1;
	if (in < 0 || n <= 0 || unlink(path) != 0)
		return 1;
	close(in);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (out < 0 || write(out, buf, (size_t)n) != n || ftruncate(out, 8LL << 30) != 0)
		return 1;
	close(out);
	return 0;
}

/* `test_serve SHMSTAT measure`: serve's peak RSS and slowest /healthz
 * under clients that never read and under a sparse segment of another
 * user (docs/security.md quotes the figures). */
static void measure(void **state)
{
	const char *big = ut_name("big"), *sparse = ut_name("sparse");
	struct serve sv;
	struct stat st;
	char path[300];

	(void)state;
	make_segment(big, 0, 1024);
	ut_path(big, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	printf("segment of 1024 histograms: %lld KiB\n", (long long)st.st_size / 1024);
	for (int n = 0; n <= 16; n = n ? n * 2 : 1) {
		int fd[16];

		serve_start(&sv, "-s", big, "--le-per-octave", "64", "--max-series", "1000000000",
			    "--max-bytes", "1099511627776", NULL);
		for (int k = 0; k < n; k++) {
			static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
			struct pollfd p;

			fd[k] = tcp_buf(sv.port, 4096);
			assert_int_equal(send(fd[k], req, sizeof(req) - 1, MSG_NOSIGNAL),
					 (ssize_t)sizeof(req) - 1);
			p = (struct pollfd){ fd[k], POLLIN, 0 };
			assert_int_equal(poll(&p, 1, 60000), 1);
		}
		printf("%2d clients not reading /metrics: VmHWM %ld KiB, slowest of 20 /healthz "
		       "%.2f ms\n", n, serve_hwm(&sv), healthz_worst(sv.port));
		for (int k = 0; k < n; k++)
			close(fd[k]);
		serve_stop(&sv);
	}
	if (geteuid() != 0)
		return;
	as_nobody(make_sparse, (void *)sparse);
	for (int uid = 0; uid < 2; uid++) {
		char *a;

		if (uid)
			serve_start(&sv, "-s", sparse, "--uid", "65534", NULL);
		else
			serve_start(&sv, "-s", sparse, NULL);
		for (int i = 0; i < 5; i++) {
			a = get(sv.port, "/metrics");
			assert_int_equal(status_of(a), 200);
			free(a);
		}
		printf("a sparse 8 GiB segment of nobody's, %s: VmHWM %ld KiB, slowest of 20 "
		       "/healthz %.2f ms\n", uid ? "served (--uid 65534)" : "default", serve_hwm(&sv),
		       healthz_worst(sv.port));
		serve_stop(&sv);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_junk_flood, ut_setup, junk_teardown),
		cmocka_unit_test_setup_teardown(test_squatted_segment, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_slots_prefer_own, ut_setup, slots_teardown),
		cmocka_unit_test_setup_teardown(test_never_reading_clients, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_slowloris, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_body_dribble, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_total_deadline, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_truncated, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, ut_setup, sv_teardown),
		cmocka_unit_test_setup_teardown(test_api_bounded, ut_setup, sv_teardown),
	};

	const struct CMUnitTest figures[] = {
		cmocka_unit_test_setup_teardown(measure, ut_setup, sv_teardown),
	};

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "measure") != 0)) {
		fprintf(stderr, "usage: test_serve PATH-OF-shmstat [measure]\n");
		return 2;
	}
	tool = argv[1];
	(void)signal(SIGPIPE, SIG_IGN);
	if (argc == 3)
		return cmocka_run_group_tests(figures, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
