/*
 * util.c - error texts, the per-thread detail message, hashing and clocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "layout.h"
#include "util.h"
#include "version.h"

/*
 * The thread's last error message: on the heap, made at the thread's
 * first failure and freed at its exit, not a thread-local array. The
 * library has initial-exec thread-locals (the stripes' table, the
 * profiler's marks), so dlopen() must place its whole TLS block in the
 * static TLS that glibc keeps spare, which is small: with the message's
 * 512 bytes in it, the block was 0x6b0 bytes and 0x6b8 did not load
 * (test_dlclose: "cannot allocate memory in static TLS block");
 * tests/checks/tls_size.sh keeps it small.
 */
#define ERROR_LEN 512
static __thread char *last_error;
static pthread_key_t error_key;
static pthread_once_t error_once = PTHREAD_ONCE_INIT;
static int error_key_ok;

/* At the thread's exit: a failure in a destructor that runs after this
 * one makes the message again (and this runs again, as POSIX allows) */
static void error_free(void *p)
{
	free(p);
	last_error = NULL;
}

static void error_key_make(void)
{
	error_key_ok = pthread_key_create(&error_key, error_free) == 0;
}

int (shmstat__fail)(int err, const char *fmt, ...)
{
	char tmp[ERROR_LEN];
	va_list ap;

	/* format apart: the arguments may include shmstat_last_error() */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (last_error == NULL) {
		(void)pthread_once(&error_once, error_key_make);
		if (!error_key_ok)
			return err;
		last_error = malloc(ERROR_LEN);
		if (last_error == NULL)
			return err;
		if (pthread_setspecific(error_key, last_error) != 0) {
			free(last_error);
			last_error = NULL;
			return err;
		}
	}
	memcpy(last_error, tmp, sizeof(tmp));
	return err;
}

void shmstat__clear_error(void)
{
	if (last_error)
		last_error[0] = '\0';
}

const char *shmstat_last_error(void)
{
	return last_error ? last_error : "";
}

const char *shmstat_version(void)
{
	return SHMSTAT_RELEASE;
}

void shmstat_format_version(unsigned *major, unsigned *minor)
{
	if (major)
		*major = SHMSTAT_FORMAT_MAJOR;
	if (minor)
		*minor = SHMSTAT_FORMAT_MINOR;
}

const char *shmstat_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case SHMSTAT_EBADNAME: return "invalid name";
	case SHMSTAT_EFOREIGN: return "not a shmstat segment";
	case SHMSTAT_EVERSION: return "unsupported segment format version";
	case SHMSTAT_ECORRUPT: return "corrupted segment";
	case SHMSTAT_ETRUNCATED: return "truncated segment";
	case SHMSTAT_EFULL: return "segment full";
	case SHMSTAT_ETYPE: return "metric exists with another type";
	case SHMSTAT_ERECREATED: return "segment was re-created";
	case SHMSTAT_EBUSY: return "segment busy, try again";
	case SHMSTAT_EOWNER: return "segment owned by another user or not a plain file";
	default: break;
	}
	if (err > 0 && err < 1000) {
		static __thread char buf[128];
		/* GNU strerror_r returns the string */
		const char *s = strerror_r(err, buf, sizeof(buf));
		return s;
	}
	return "unknown error";
}

uint64_t shmstat__hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

ssize_t shmstat__pread_full(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

uint64_t shmstat__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void shmstat__advise_huge(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	/* as offsets from @p: no integer becomes a pointer */
	const uintptr_t a = ((uintptr_t)p + huge - 1) / huge * huge - (uintptr_t)p;
	const uintptr_t b = ((uintptr_t)p + n) / huge * huge - (uintptr_t)p;

	if (p != NULL && b > a && b <= n)
		madvise((char *)p + a, b - a, MADV_HUGEPAGE);
}

void shmstat__advise_huge_in(void *p, size_t n, void *lo, void *hi)
{
	const uintptr_t huge = (uintptr_t)2 << 20, l = (uintptr_t)lo, h = (uintptr_t)hi;
	const uintptr_t skew = l % huge;       /* @lo's place in its huge page */
	uintptr_t a, e;

	if (p == NULL || n < ((size_t)1 << 20) || (uintptr_t)p < l || (uintptr_t)p + n > h)
		return;
	/* as offsets from @lo (no integer becomes a pointer), rounded out
	 * to huge pages, then cut to [@lo, @hi) */
	a = ((uintptr_t)p - l + skew) / huge * huge;
	e = ((uintptr_t)p - l + n + skew + huge - 1) / huge * huge;
	a = a > skew ? a - skew : (4096 - l % 4096) % 4096;    /* madvise: whole pages */
	e = e - skew < h - l ? e - skew : h - l;
	if (a < e)
		madvise((char *)lo + a, e - a, MADV_HUGEPAGE);
}

#define HUGE_BYTES ((size_t)2 << 20)
#define ARRAY_HUGE ((size_t)1 << 20)      /* from here on, huge pages */

/* whole huge pages; 0 if too large */
static size_t array_len(size_t n)
{
	return n > SIZE_MAX - 2 * HUGE_BYTES ? 0 : (n + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
}

void *shmstat__map_array(size_t n)
{
	const size_t len = array_len(n);
	unsigned char *raw;
	size_t head;

	if (n < ARRAY_HUGE)
		return calloc(1, n ? n : 1);
	if (len == 0)
		return NULL;
	/* a huge page more, its unaligned ends given back (kernels since
	 * 6.7 align such lengths themselves: then nothing to give back) */
	raw = mmap(NULL, len + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	head = (HUGE_BYTES - (uintptr_t)raw % HUGE_BYTES) % HUGE_BYTES;
	munmap(raw + head + len, HUGE_BYTES - head);
	if (head)
		munmap(raw, head);
	shmstat__advise_huge(raw + head, len);
	/* the head alone was given back, not what follows it */
	/* cppcheck-suppress deallocret */
	return raw + head;
}

void *shmstat__regrow_array(void *p, size_t had, size_t want)
{
	void *q;

	if (had < ARRAY_HUGE && want < ARRAY_HUGE)
		return realloc(p, want ? want : 1);     /* the heap's, as before */
	q = want < ARRAY_HUGE ? malloc(want ? want : 1) : shmstat__map_array(want);
	if (q == NULL)
		return NULL;
	if (p != NULL)
		memcpy(q, p, had < want ? had : want);
	shmstat__unmap_array(p, had);
	return q;
}

void shmstat__unmap_array(void *p, size_t n)
{
	if (n < ARRAY_HUGE)
		free(p);
	else if (p != NULL)
		munmap(p, array_len(n));
}

const char *shmstat_type_name(enum shmstat_type t)
{
	switch (t) {
	case SHMSTAT_COUNTER: return "counter";
	case SHMSTAT_GAUGE: return "gauge";
	case SHMSTAT_HISTOGRAM: return "histogram";
	case SHMSTAT_SIGTABLE: return "sigtable";
	}
	return "unknown";
}

static const char *const agg_names[] = {
	"sum", "max", "min", "last", "livesum", "livemax", "livemin", "livelast",
};

const char *shmstat_agg_name(enum shmstat_agg a)
{
	if ((unsigned)a < sizeof(agg_names) / sizeof(agg_names[0]))
		return agg_names[a];
	return "unknown";
}

int shmstat_agg_parse(const char *s, enum shmstat_agg *out)
{
	if (s == NULL || out == NULL)
		return EINVAL;
	for (unsigned i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++) {
		if (strcmp(s, agg_names[i]) == 0) {
			*out = (enum shmstat_agg)i;
			return 0;
		}
	}
	return EINVAL;
}

/* ------------------------------------------------ names, labels, text */

size_t shmstat__utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; min = 0x10000; }
	else return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool shmstat__metric_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= SHMSTAT_NAME_CAP - 1 ||
		    !(c == ':' || (i == 0 ? shmstat__name_start(c) : shmstat__name_char(c))))
			return false;
	}
	return i > 0;
}

bool shmstat__label_name_ok(const char *s, size_t n)
{
	if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(i == 0 ? shmstat__name_start((unsigned char)s[i])
			     : shmstat__name_char((unsigned char)s[i])))
			return false;
	return true;
}

bool shmstat__canon_labels_ok(const char *s)
{
	const char *prev = NULL;
	size_t prev_n = 0;

	for (unsigned pairs = 0; *s; pairs++) {
		const char *k;
		size_t kn;

		if (pairs == SHMSTAT_MAX_LABELS)
			return false;
		if (pairs > 0 && *s++ != ',')
			return false;
		k = s;
		while (shmstat__name_char((unsigned char)*s))
			s++;
		kn = (size_t)(s - k);
		if (!shmstat__label_name_ok(k, kn) || s[0] != '=' || s[1] != '"')
			return false;
		if (prev) {
			int c = memcmp(prev, k, prev_n < kn ? prev_n : kn);

			if (c > 0 || (c == 0 && prev_n >= kn))
				return false;   /* not sorted, or given twice */
		}
		prev = k;
		prev_n = kn;
		s += 2;
		while (*s != '"') {
			size_t l;

			if (*s == '\\') {
				if (s[1] != '\\' && s[1] != '"' && s[1] != 'n')
					return false;
				s += 2;
				continue;
			}
			if (*s == '\n' || *s == '\0')
				return false;
			l = shmstat__utf8_len((const unsigned char *)s);
			if (l == 0)
				return false;
			s += l;
		}
		s++;
	}
	return true;
}

bool shmstat__help_ok(const char *s)
{
	while (*s) {
		size_t l = shmstat__utf8_len((const unsigned char *)s);

		if (l == 0 || *s == '\n')
			return false;
		s += l;
	}
	return true;
}

bool shmstat__unit_ok(const char *s)
{
	for (; *s; s++)
		if (!shmstat__name_char((unsigned char)*s))
			return false;
	return true;
}

bool shmstat__desc_text_ok(const struct shmstat_desc *d)
{
	return shmstat__metric_name_ok(d->name) && shmstat__canon_labels_ok(d->labels) &&
	       shmstat__help_ok(d->help) && shmstat__unit_ok(d->unit);
}
