/*
 * cli.c - what the commands share (cli.h): messages and usage errors,
 * opening a segment with this run's reader options, the option getopt
 * refused, metric filters and order, human forms, JSON strings, output
 * files opened where their path was checked (out_resolve(): outpath.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "bigmem.h"
#include "cli.h"
#include "namesort.h"
#include "numfmt.h"
#include "textsafe.h"
#include "units.h"

struct shmstat_reader_opts reader_opts;
int stdout_error_said;

/* "shmstat: " and the message on stderr, its control characters escaped:
 * messages quote segment names, labels, paths and library errors, which
 * other users choose. */
static void say(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *captured;             /* say_into(): messages go there */
static size_t captured_n;

void say_into(char *buf, size_t n)
{
	captured = buf;
	captured_n = n;
	if (buf && n)
		buf[0] = '\0';
}

static void say(const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (captured) {
		snprintf(captured, captured_n, "%s", msg);   /* the last one */
		return;
	}
	fputs("shmstat: ", stderr);
	put_safe(stderr, msg, TS_KEEP_NL);
	fputc('\n', stderr);
}

int die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return code;
}

void warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int want_help(int argc, char **argv, const char *usage, int h_number)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (h_number && strcmp(argv[i], "-h") == 0 && i + 1 < argc && argv[i + 1][0] &&
		    strspn(argv[i + 1], "0123456789") == strlen(argv[i + 1])) {
			i++;            /* -h N: the command's option */
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	}
	return 0;
}

int open_reader(const char *name, shmstat_reader **r)
{
	return shmstat_reader_open_opts(name, &reader_opts, r);
}

const char *refused_option(char *buf, size_t n, char **argv, const char *shortopts,
			   const struct option *longopts)
{
	const char *prev = optind > 0 ? argv[optind - 1] : "";

	/* a long option: unknown (optopt 0), or refused for its value
	 * (optopt its val) */
	if (strncmp(prev, "--", 2) == 0 && prev[2]) {
		size_t len = strcspn(prev, "=");
		int named = optopt == 0;

		for (const struct option *o = longopts; !named && o && o->name; o++)
			named = o->val == optopt && strncmp(o->name, prev + 2, len - 2) == 0;
		if (named) {
			snprintf(buf, n, "%.*s", (int)len, prev);
			return buf;
		}
	}
	/* a short one, perhaps in a cluster (optind not past it yet) */
	(void)shortopts;
	if (optopt > ' ' && optopt < 0x7f)
		snprintf(buf, n, "-%c", optopt);
	else
		snprintf(buf, n, "%s", prev);
	return buf;
}

int open_snapshot(const char *name, shmstat_reader **r, shmstat_snap **s)
{
	struct name_filter all = { NULL, 0, NULL, 0 };

	return open_snapshot_subset(name, &all, r, s);
}

int parse_whole(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

int name_wanted(const char *name, const char *labels, void *filter)
{
	const struct name_filter *f = filter;
	/* the whole escaped form, as -I and -X are documented to match: cut
	 * at 511 bytes, a label of 200 ESC (\x1b each) was not matched by
	 * '*}', nor dropped by '*\x1b"}' */
	char full[METRIC_TEXT_MAX];

	fmt_metric(full, sizeof(full), name, labels);
	for (size_t k = 0; k < f->nexc; k++)
		if (fnmatch(f->exc[k], name, 0) == 0 || fnmatch(f->exc[k], full, 0) == 0)
			return 0;
	if (f->ninc == 0)
		return 1;
	for (size_t k = 0; k < f->ninc; k++)
		if (fnmatch(f->inc[k], name, 0) == 0 || fnmatch(f->inc[k], full, 0) == 0)
			return 1;
	return 0;
}

int metric_wanted(const struct shmstat_metric_info *m, char **inc, size_t ninc, char **exc,
		  size_t nexc)
{
	struct name_filter f = { inc, ninc, exc, nexc };

	return name_wanted(m->name, m->labels, &f);
}

int open_snapshot_subset(const char *name, struct name_filter *f, shmstat_reader **r,
			 shmstat_snap **s)
{
	struct shmstat_reader_opts o = reader_opts;

	if (f->ninc != 0 || f->nexc != 0) {
		o.want = name_wanted;
		o.want_arg = f;
	}
	if (shmstat_reader_open_opts(name, &o, r) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	if (shmstat_snapshot(*r, s) != 0) {
		die(EXIT_ERR, "%s", shmstat_last_error());
		shmstat_reader_close(*r);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

/* Metric indices in name, labels order; NULL when out of memory. */
size_t *metrics_sorted(const shmstat_snap *s, size_t n)
{
	/* the names, then the labels */
	const size_t k = n ? n : 1, bytes = 2 * k * sizeof(const char *);
	const char **name = big_alloc(bytes), **labels = name ? name + k : NULL;
	size_t *o = malloc(k * sizeof(*o));

	if (name != NULL && o != NULL) {
		for (size_t i = 0; i < n; i++) {
			struct shmstat_metric_info m;

			shmstat_snap_metric(s, i, &m);
			name[i] = m.name;
			labels[i] = m.labels;
		}
		if (name_sort(o, n, name, labels) != 0) {
			free(o);
			o = NULL;
		}
	} else {
		free(o);
		o = NULL;
	}
	big_free(name, bytes);
	return o;
}

int glob_valid(const char *g)
{
	int open = 0;

	if (!g[0])
		return 0;
	for (; *g; g++) {
		if (*g == '\\' && g[1])
			g++;
		else if (*g == '[')
			open = 1;
		else if (*g == ']')
			open = 0;
	}
	return !open;
}

void fmt_sigkey(char *buf, size_t n, const char *key, uint32_t len, uint32_t full_len,
		uint64_t hash)
{
	size_t o = 0;

	if (len == 0 && full_len != 0) {
		snprintf(buf, n, "(hash %016llx)", (unsigned long long)hash);
		return;
	}
	for (uint32_t i = 0; i < len && o + 5 < n; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
	}
	/* two keys cut at the same bytes differ by their hash */
	if (full_len > len && o + 4 < n)
		o += (size_t)snprintf(buf + o, n - o, "... (hash %016llx)", (unsigned long long)hash);
	buf[o < n ? o : n - 1] = '\0';
}

void fmt_time(char *buf, size_t n, unsigned long long ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (ns == 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, n, "-");
		return;
	}
	if (strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, n, "-");
}

void fmt_hvalue(char *buf, size_t n, unsigned long long v, const char *unit)
{
	/* NULL: --raw, exact */
	fmt_fig_u64(buf, n, v, unit ? unit : "", unit == NULL);
}

size_t hsum_digits(char *buf, const shmstat_hdata *h, int *exact)
{
	uint64_t wraps, sum;
	const int e = shmstat_hdata_sum(h, &wraps, &sum) == 0;
	size_t k;

	if (exact)
		*exact = e;
	k = num_u128(buf, wraps, sum);
	buf[k] = '\0';
	return k;
}

void hsum_put(FILE *f, const shmstat_hdata *h, int seconds)
{
	char d[HSUM_LEN + 10];
	size_t n = hsum_digits(d, h, NULL), k;

	if (!seconds) {
		fputs(d, f);
		return;
	}
	if (n < 10) {
		/* at least one digit before the point */
		memmove(d + 10 - n, d, n + 1);
		memset(d, '0', 10 - n);
		n = 10;
	}
	(void)fwrite(d, 1, n - 9, f);
	for (k = n; k > n - 9 && d[k - 1] == '0'; k--)
		;
	if (k > n - 9) {
		fputc('.', f);
		(void)fwrite(d + n - 9, 1, k - (n - 9), f);
	}
}

void fmt_hsum(char *buf, size_t n, const shmstat_hdata *h, const char *unit)
{
	uint64_t wraps, sum;
	const int est = shmstat_hdata_sum(h, &wraps, &sum) != 0;

	if (est && n > 1) {
		*buf++ = '~';
		n--;
	}
	if (wraps == 0) {
		fmt_hvalue(buf, n, sum, unit);
	} else if (unit == NULL) {
		char d[HSUM_LEN];

		d[num_u128(d, wraps, sum)] = '\0';
		snprintf(buf, n, "%s", d);
	} else {
		fmt_fig(buf, n, (double)wraps * 0x1p64 + (double)sum, unit, 0);
	}
}

void fmt_metric(char *buf, size_t n, const char *name, const char *labels)
{
	char tmp[512];
	size_t k = 0;

	/* name{labels}, cut at 511 bytes as snprintf would */
	for (const char *p = name; *p && k + 1 < sizeof(tmp); p++)
		tmp[k++] = *p;
	if (labels[0]) {
		if (k + 1 < sizeof(tmp))
			tmp[k++] = '{';
		for (const char *p = labels; *p && k + 1 < sizeof(tmp); p++)
			tmp[k++] = *p;
		if (k + 1 < sizeof(tmp))
			tmp[k++] = '}';
	}
	tmp[k] = '\0';
	text_safe(buf, n, tmp);
}

/* A byte a JSON string holds as it is: printable ASCII but " and \ */
static inline bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void json_put_bytes(FILE *f, const char *s, size_t n, int bytes)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc_unlocked('"', f);
	for (size_t i = 0, l; s && i < n && (bytes || s[i]); i += l) {
		unsigned char c = u[i];
		uint32_t cp;

		l = 1;
		if (json_plain(c)) {
			/* a run of them, written at once */
			while (i + l < n && json_plain(u[i + l]))
				l++;
			(void)fwrite_unlocked(u + i, 1, l, f);
		} else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
			fprintf(f, "\\u%04x", c);
		else if ((l = utf8_seq(u + i, n - i, &cp)) == 0) {
			fputs("\\ufffd", f);  /* not UTF-8: the replacement character */
			l = 1;
		} else if (cp <= 0x9f)
			fprintf(f, "\\u%04x", (unsigned)cp);  /* C1 controls */
		else
			(void)fwrite_unlocked(u + i, 1, l, f);
	}
	fputc_unlocked('"', f);
}

void json_put(FILE *f, const char *s)
{
	json_put_bytes(f, s, s ? strlen(s) : 0, 0);
}

FILE *open_out_file(const char *path, char *why, size_t n)
{
	struct out_path op;
	struct stat st;
	FILE *f;
	int fd, err;

	/* a link this user could have made is followed (/dev/stdout, a
	 * process substitution's /dev/fd/N, one's own); one planted in a
	 * shared directory is not, wherever on the path, the name too; the
	 * name opened O_NOFOLLOW: a link planted since is refused (ELOOP) */
	fd = out_resolve(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, &op);
	if (fd < 0) {
		err = errno;
		if (err == ENXIO && op.dir >= 0 && fstatat(op.dir, op.name, &st, 0) == 0 &&
		    S_ISFIFO(st.st_mode))
			snprintf(why, n, "it is a fifo with no reader");
		else
			out_why(&op, err, why, n);
		if (op.dir >= 0)
			close(op.dir);
		errno = err;
		return NULL;
	}
	close(op.dir);
	if (fstat(fd, &st) != 0) {
		err = errno;
		snprintf(why, n, "%s", strerror(err));
		goto fail;
	}
	err = EPERM;
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(why, n, "it is owned by uid %u, not by this user (uid %u) or root; refusing it",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink != 1) {
		snprintf(why, n, "it has %lu hard links; refusing it", (unsigned long)st.st_nlink);
		goto fail;
	}
	/* blocking writes from here on (a FIFO that has a reader, a tty) */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0) || (f = fdopen(fd, "w")) == NULL) {
		err = errno;
		snprintf(why, n, "%s", strerror(err));
		goto fail;
	}
	return f;
fail:
	close(fd);
	errno = err;
	return NULL;
}
