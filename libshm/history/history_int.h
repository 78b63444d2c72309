/*
 * history_int.h - what the files of the history code share (history.c,
 * dict.c, io.c, writer.c, frames.c, ownidx.c, setidx.c, window.c): the byte
 * buffers and cursors of the record and dictionary payloads (inline:
 * they run once per value), the dictionary in memory, the handle, and
 * the functions one file calls in another. The bytes on disk are in
 * history.h.
 */
#ifndef SHMSTAT_HISTORY_INT_H
#define SHMSTAT_HISTORY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "history.h"
#include "util.h"

/* -------------------------------------------------------- byte buffers */

struct buf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};

/* Empty @b for the next thing built in it; an allocation that failed
 * before does not make it fail again. */
static inline void buf_reset(struct buf *b)
{
	b->n = 0;
	b->oom = 0;
}

static inline void buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (b->oom || b->cap - b->n >= more)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->n < more) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static inline void put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (b->oom)
		return;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static inline void put_u8(struct buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put_bytes(b, &c, 1);
}

static inline void put_v(struct buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;

	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(b, t, n);
}

static inline void put_f64(struct buf *b, uint64_t v)
{
	put_bytes(b, &v, 8);
}

static inline void put_str(struct buf *b, const void *s, size_t n)
{
	put_v(b, n);
	put_bytes(b, s, n);
}

static inline uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); /* all ones when v < 0 */
}

static inline int64_t unzz(uint64_t u)
{
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static inline uint64_t round8(uint64_t n)
{
	return (n + 7) & ~UINT64_C(7);
}

/* ------------------------------------------------------------- cursors */

/* Reading untrusted bytes: every getter checks what is left, and a
 * failure sticks (bad), so a decoder checks once per item. */
struct cur {
	const unsigned char *p, *end;
	int bad;
};

static inline uint64_t get_v(struct cur *c)
{
	uint64_t x = 0;

	for (unsigned sh = 0; sh < 64; sh += 7) {
		unsigned b;

		if (c->p >= c->end)
			break;
		b = *c->p++;
		if (sh == 63 && b > 1)
			break;
		x |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return x;
	}
	c->bad = 1;
	c->p = c->end;
	return 0;
}

static inline unsigned get_u8(struct cur *c)
{
	if (c->p >= c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}

static inline uint64_t get_f64(struct cur *c)
{
	uint64_t v;

	if ((size_t)(c->end - c->p) < 8) {
		c->bad = 1;
		c->p = c->end;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

/* A string of at most @max bytes; with @nul_ok 0, without NUL bytes. */
static inline const unsigned char *get_str(struct cur *c, size_t max, int nul_ok, size_t *len)
{
	uint64_t n = get_v(c);
	const unsigned char *s = c->p;

	*len = 0;
	if (c->bad || n > max || n > (uint64_t)(c->end - c->p) ||
	    (!nul_ok && n && memchr(s, 0, (size_t)n))) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	c->p += n;
	*len = (size_t)n;
	return s;
}

static inline size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

/* Nothing but fewer than 8 zero bytes left (the padding to 8). */
static inline int at_end(const struct cur *c)
{
	if (c->bad || left(c) >= 8)
		return 0;
	for (const unsigned char *p = c->p; p < c->end; p++)
		if (*p)
			return 0;
	return 1;
}

/* --------------------------------------------------------- dictionary */

/* A series: what does not change from record to record. */
struct hdesc {
	enum shmstat_type type;
	enum shmstat_agg agg;
	unsigned bits;
	uint32_t nb;               /* histogram buckets */
	uint64_t lowest, highest;
	const char *name, *labels, *help, *unit;
};

/* The series of a snapshot, in its order, with their registration ids. */
struct hschema {
	size_t n;
	const struct hdesc **d;
	uint64_t *reg;
	size_t nhist, nsig;
	/* the series by name, labels, index (shmstat__hf_schema_index()):
	 * shmstat_frame_find() in a few comparisons, not one per series */
	uint32_t *byname;
};
/* Fill @sc->byname (room for @sc->n entries) once @sc is complete. */
SHMSTAT_HIDDEN void shmstat__hf_schema_index(struct hschema *sc);
/* The first series of @sc named @name with labels @labels, or -1. */
SHMSTAT_HIDDEN long shmstat__hf_schema_find(const struct hschema *sc, const char *name,
					    const char *labels);

/* A dictionary entry; kind 0: valid checksum, contents not understood
 * (never referred to). */
struct hent {
	unsigned kind;
	uint64_t hash;             /* XXH3-64 of the payload */
	uint32_t plen;
	const unsigned char *payload;
	struct hdesc d;            /* kind series */
	struct hschema s;          /* kind schema */
};

struct hdict {
	unsigned refs;
	size_t n, cap;
	struct hent **e;
	uint64_t end;              /* bytes in use: the next entry goes here */
};

static inline size_t al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

SHMSTAT_HIDDEN struct hdict *shmstat__hf_dict_new(void);
SHMSTAT_HIDDEN struct hdict *shmstat__hf_dict_ref(struct hdict *d);
SHMSTAT_HIDDEN void shmstat__hf_dict_unref(struct hdict *d);
/* Copy @n bytes of @s and a NUL to *@at, advanced past them. */
SHMSTAT_HIDDEN char *shmstat__hf_copy_str(char **at, const unsigned char *s, size_t n);
/*
 * A schema payload after its kind byte: series that are entries of @dict
 * below @limit, or (with @inl_ok) inline series payloads. With @sc NULL,
 * only checks and counts: *@n series, *@ninl inline ones needing
 * *@strb bytes of strings. Otherwise fills @sc (arrays allocated by the
 * caller for *@n series), the inline ones into @inl, strings at *@strs.
 */
SHMSTAT_HIDDEN int shmstat__hf_parse_schema(struct cur *c, const struct hdict *dict,
					    size_t limit, int inl_ok, struct hschema *sc,
					    struct hdesc *inl, char **strs, size_t *n,
					    size_t *ninl, size_t *strb);
/* Entry @index of @dict from its payload (copied); NULL: out of memory.
 * A payload that does not parse gives an entry of kind 0. */
SHMSTAT_HIDDEN struct hent *shmstat__hf_ent_new(const struct hdict *dict, size_t index,
						const unsigned char *p, uint32_t plen);
SHMSTAT_HIDDEN int shmstat__hf_dict_push(struct hdict *d, struct hent *e);

/* ------------------------------------------------------ the handle */

struct wtier {
	uint64_t pos;              /* where the next record goes */
	uint64_t seq;              /* its seq */
	uint64_t bucket;           /* time / step of the last record */
	int has_last;
};

/* u64 -> u32, open addressing; several values may share a key (hashes
 * of different payloads), the caller tells them apart. */
struct hmap {
	uint64_t *k;
	uint32_t *v;               /* value + 1; 0: empty */
	size_t cap, n;
};

struct shmstat_history {
	int fd;
	int writable;
	char *path;
	struct shmstat_hf_hdr hdr;
	struct hdict *dict;
	/* writer */
	struct wtier wt[SHMSTAT_HISTORY_MAX_TIERS];
	uint64_t last_ns;
	int has_last;
	char segment[SHMSTAT_HF_SEG_MAX + 1];
	struct hmap dmap;          /* series payload hash -> entry */
	struct hmap smap;          /* schema payload hash -> entry */
	struct hmap rmap;          /* reg_id -> series entry, for generation rgen */
	uint64_t rgen;
	uint32_t *cur_d;           /* this snapshot: entry or UINT32_MAX (inline) */
	uint64_t *cur_reg;
	size_t *cur_inl;           /* inline: offset of its payload in inl */
	size_t cur_cap;
	uint32_t *last_d;          /* the last schema written */
	uint64_t *last_reg;
	size_t last_n, last_cap;
	uint32_t last_schema;      /* its entry, UINT32_MAX: none */
	struct buf pay, tmp, inl, rec;
	size_t pay_own;            /* of pay: its bytes but the schema's and
				    * the inline series' (the record's own) */
	size_t pay_ninl;           /* series inline in pay */
	uint64_t *cnt;             /* a histogram's bucket counts */
	size_t cntcap;
};

SHMSTAT_HIDDEN int shmstat__hf_hmap_put(struct hmap *m, uint64_t key, uint32_t val);
/* The values stored under @key, one per call: start with *@it = 0;
 * UINT32_MAX when there are no more. */
SHMSTAT_HIDDEN uint32_t shmstat__hf_hmap_next(const struct hmap *m, uint64_t key, size_t *it);
SHMSTAT_HIDDEN void shmstat__hf_hmap_clear(struct hmap *m);

/* ----------------------------------------------------------- file I/O */

/* Write @n bytes at @off of @fd, again after EINTR and short writes: 0 or
 * an errno. */
SHMSTAT_HIDDEN int shmstat__hf_pwrite_full(int fd, const void *p, size_t n, uint64_t off);
/* Report read error @err (SHMSTAT_ETRUNCATED, ENOMEM or an errno) of @h
 * while @what; returns @err. */
SHMSTAT_HIDDEN int shmstat__hf_io_fail(const struct shmstat_history *h, int err,
				       const char *what);
/* Read the entries appended since the last call (the dictionary ends at
 * the first entry that is not valid). */
SHMSTAT_HIDDEN int shmstat__hf_dict_refresh(struct shmstat_history *h);

/* A record found in a ring: where, its seq and time, its length. */
struct rref {
	uint64_t off, seq, time;
	uint32_t len;
};

/*
 * The records of ring @k a reader keeps, oldest first: valid ones (magic,
 * length, checksum) forming the run of consecutive seqs down from the
 * highest, their times not going up as the seqs go down.
 */
SHMSTAT_HIDDEN int shmstat__hf_scan_ring(struct shmstat_history *h, unsigned k,
					 struct rref **out, size_t *nout);

/* The records of @r[0..n-1] (oldest first) a range [@from, @to] takes
 * (time < @limit; with @before, also the last record before @from):
 * [*@lo, *@hi). */
SHMSTAT_HIDDEN void shmstat__hf_span(const struct rref *r, size_t n, uint64_t from, uint64_t to,
				     uint64_t limit, int before, size_t *lo, size_t *hi);

/* The set of series of frame @f: frames that give the same pointer have
 * the same series, in the same order (a schema of the dictionary they
 * share); valid while @f is. For shmstat_window(), which matches a query
 * once per set of series, not once per frame. */
SHMSTAT_HIDDEN const void *shmstat__frame_schema(const shmstat_frame *f);

/* The series of a frame's set by name and labels (setidx.c), for a
 * query of a window to find the series that may answer it in a few
 * comparisons, not one per series of the frame: built once per set,
 * valid while a frame of that set is. */
struct shmstat__setref {
	const char *name, *labels;
	size_t i;                  /* the series' index in its frames */
};
struct shmstat__setidx {
	const void *sc;            /* the set indexed (NULL: none) */
	struct shmstat__setref *r; /* by name, labels, index */
	size_t n, cap;
};
/* Index the set of @f into @x, unless @x holds it: 0 or ENOMEM (@x then
 * holds none). */
SHMSTAT_HIDDEN int shmstat__setidx_build(struct shmstat__setidx *x, const shmstat_frame *f);
/* The indices of the series named @name with labels @labels (NULL: any
 * labels), in increasing order, into *@buf (*@cap entries, grown as
 * needed): how many, or -1 (no memory). */
SHMSTAT_HIDDEN long shmstat__setidx_find(const struct shmstat__setidx *x, const char *name,
					 const char *labels, size_t **buf, size_t *cap);
SHMSTAT_HIDDEN void shmstat__setidx_free(struct shmstat__setidx *x);

/* A consumer of frames in time order: @f is its own (shmstat__frame_free());
 * @f NULL: the frames given so far are not to be used (a record was
 * overwritten while read), start again. 0 or an errno (ENOMEM). */
typedef int (*shmstat__frame_sink)(void *arg, shmstat_frame *f);
/* The frames of shmstat_history_window_select(@h, @from_ns, @to_ns, @keep,
 * @arg) (@before 0: of shmstat_history_range(), with the series @keep
 * keeps) given to @sink one at a time, oldest first, each decoded when the
 * last is given: what a window costs does not grow with its records.
 * (A record overwritten while read drops the frames before it, of every
 * tier.) Same returns, or what @sink returned. */
SHMSTAT_HIDDEN int shmstat__history_stream(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
					   int before, shmstat_series_filter keep, void *arg,
					   shmstat__frame_sink sink, void *sarg);
SHMSTAT_HIDDEN void shmstat__frame_free(shmstat_frame *f);

/* ------------------------------------------------- a table's owners */

/* An owner of a table in a frame, and its exact totals. */
struct fown {
	const char *name;
	uint64_t hits, misses, weight;
};

/* The index of a table's @no owners by name (ownidx.c), built once per
 * frame: shmstat__hf_oix_size(@no) entries (0 when @no is 0), at most
 * half of them used. */
SHMSTAT_HIDDEN size_t shmstat__hf_oix_size(uint64_t no);
/* Owners @o[0 .. @no) into index @ix (of shmstat__hf_oix_size(@no)
 * entries): a name once, at the first owner that has it. Its size. */
SHMSTAT_HIDDEN size_t shmstat__hf_oix_build(const struct fown *o, size_t no, uint16_t *ix);
/* The first of the owners @o indexed in @ix (@nx entries) named @name,
 * or -1: a few names compared, not every owner's. */
SHMSTAT_HIDDEN long shmstat__hf_oix_find(const struct fown *o, const uint16_t *ix, size_t nx,
					 const char *name);
/* The first owner of table series @i of @f named @name (its k for
 * shmstat_frame_sigowner()), or -1 (none, or @i is not a table). */
SHMSTAT_HIDDEN long shmstat__frame_owner_find(const shmstat_frame *f, size_t i, const char *name);

/* Histogram series @i of @f into @out, as its non-zero buckets (the
 * arrays grown as needed, kept for the next call): 0, EINVAL (no such
 * histogram) or ENOMEM. */
struct shmstat__hsparse;
SHMSTAT_HIDDEN int shmstat__frame_hsparse(const shmstat_frame *f, size_t i,
					  struct shmstat__hsparse *out);

#endif
