/*
 * shmstat_history.h - snapshots of a segment kept over time in a file,
 * and what can be computed from them: rates, ratios, quantiles and trends
 * over windows.
 *
 * A history file holds tiers of records, each tier a bounded round robin
 * of snapshots taken every `step` (for example 1 s for 10 min, 10 s for
 * 6 h, 5 min for 7 days). A record holds, for every metric of a snapshot,
 * its cumulative value: counters as counts, gauges as values, histograms
 * as their buckets (sparse), signature tables as their totals and their
 * top keys. Records are appended with one write each and carry a checksum:
 * a record torn by a crash is detected and ignored, and the file never
 * grows past the size fixed at creation.
 *
 * Writing (shmstat record) and reading (trend, show --window, check) may
 * happen at once from different processes: a reader never sees a record
 * that is not complete, and takes no lock. One process at a time may
 * write a file (shmstat_history_create() takes an exclusive flock(2) on
 * it). A handle is used by one thread at a time; frames do not depend on
 * their handle and stay valid after it is closed.
 *
 * The file format is described in docs/history.md.
 */
#ifndef SHMSTAT_HISTORY_H
#define SHMSTAT_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <shmstat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMSTAT_HISTORY_MAX_TIERS 8
#define SHMSTAT_HISTORY_MAX_TOP   1000   /* signature keys kept per record */

struct shmstat_tier {
	uint64_t step_ns;          /* one record per step */
	uint64_t span_ns;          /* kept for at least this long (when its
				    * records fit its share of the file: see
				    * "Size" in docs/history.md) */
};

struct shmstat_history_opts {
	unsigned ntiers;           /* 1 .. SHMSTAT_HISTORY_MAX_TIERS */
	struct shmstat_tier tier[SHMSTAT_HISTORY_MAX_TIERS];
	uint64_t max_bytes;        /* the file's size, all tiers (default
				    * 64 MiB; 16 KiB .. 1 TiB, rounded down
				    * to 4096); a 16th of it (at most 16
				    * MiB) holds the names of the series,
				    * the tiers share the rest in proportion
				    * to their records (span / step) */
	uint32_t top_keys;         /* signature-table keys kept per record
				    * (default 20, at most 1000) */
	unsigned mode;             /* 0600 (default) or 0640 */
};

/**
 * shmstat_history_opts_init - the defaults: tiers 1 s for 10 min, 10 s for
 * 6 h, 5 min for 7 days; 64 MiB; 20 top keys; mode 0600. Tiers go from
 * the finest to the coarsest: steps strictly increasing, spans not
 * decreasing, span at least step and at most 2^32 steps.
 */
SHMSTAT_API void shmstat_history_opts_init(struct shmstat_history_opts *o);

typedef struct shmstat_history shmstat_history;

/**
 * shmstat_history_create - open history file @path for appending,
 * creating it with @o (NULL: the defaults) if it does not exist. An
 * existing file keeps its own tiers and size (@o is then ignored). Never
 * through a symlink; refused if owned by another user. A new file is
 * made complete under a temporary name in the same directory, then
 * renamed, so that no reader ever sees it half made.
 * Return 0, SHMSTAT_EFOREIGN (not a history file), SHMSTAT_EVERSION,
 * SHMSTAT_ECORRUPT, SHMSTAT_ETRUNCATED, EINVAL (bad @o), SHMSTAT_EOWNER
 * (a link, not a regular file, owned by another user, or writable by
 * others), SHMSTAT_EBUSY (another process writes it), ENOSPC, or an
 * errno value.
 */
SHMSTAT_API int shmstat_history_create(const char *path, const struct shmstat_history_opts *o,
				       shmstat_history **out);

/**
 * shmstat_history_open - open history file @path read-only.
 * Return 0, SHMSTAT_EFOREIGN, SHMSTAT_EVERSION, SHMSTAT_ECORRUPT,
 * SHMSTAT_ETRUNCATED or an errno value.
 */
SHMSTAT_API int shmstat_history_open(const char *path, shmstat_history **out);

/** shmstat_history_close - close. NULL is allowed. */
SHMSTAT_API void shmstat_history_close(shmstat_history *h);

/** shmstat_history_tiers - the file's tiers into @out (up to @max); count. */
SHMSTAT_API unsigned shmstat_history_tiers(const shmstat_history *h, struct shmstat_tier *out,
					   unsigned max);

/**
 * shmstat_history_set_segment - the segment name stored with the records
 * appended from now on (shmstat_frame_info.segment); "" until it is set.
 * Return 0, EINVAL (a file opened read-only) or SHMSTAT_EBADNAME.
 */
SHMSTAT_API int shmstat_history_set_segment(shmstat_history *h, const char *segment);

/**
 * shmstat_history_append - record snapshot @s, taken at @now_ns
 * (CLOCK_REALTIME; passed in so tests can drive a clock), in every tier
 * whose step has passed since its last record: tier k gets a record when
 * now_ns / step_k differs from that of its last record. Returns the
 * number of tiers written in *@written (may be NULL).
 * Return 0, EINVAL (a file opened read-only, or @now_ns before the last
 * record: shmstat_history_last(), shmstat_history_restart()), ENOSPC (the snapshot does not fit in a tier at all: the tiers
 * where it fits are written, *@written counts them), ENOMEM, or an errno
 * value from the write (ENOSPC too, on a full file system: the message
 * says which; nothing of the failed record is then kept: the next append
 * writes in its place).
 */
SHMSTAT_API int shmstat_history_append(shmstat_history *h, const shmstat_snap *s,
				       uint64_t now_ns, unsigned *written);

/**
 * shmstat_history_last - the time of the last record of a file open for
 * appending into *@time_ns: an append before it is refused (EINVAL).
 * Return 0, ENOENT (no record yet, or none since
 * shmstat_history_restart()) or EINVAL (a file opened read-only).
 */
SHMSTAT_API int shmstat_history_last(const shmstat_history *h, uint64_t *time_ns);

/**
 * shmstat_history_restart - start every tier anew at the next append,
 * whatever its time: that record is written into every tier with its
 * ring's seq moved on by 2, so readers (which keep the run of consecutive
 * seqs down from the newest record) read it and what follows, and no
 * record before it. For a clock that stays behind the last record (one
 * written while the clock was ahead): records are never kept out of time
 * order. The file is not changed until that append; a writer that starts
 * on the file before it goes on from the old records.
 * Return 0 or EINVAL (a file opened read-only).
 */
SHMSTAT_API int shmstat_history_restart(shmstat_history *h);

/* ---------------------------------------------------------------- frames */

/* One record, decoded: a snapshot as it was at a time. */
typedef struct shmstat_frame shmstat_frame;

/**
 * shmstat_history_range - the records with @from_ns <= time <= @to_ns, in
 * time order, taken from the finest tier that covers each instant (a
 * coarser tier only before the finer one's oldest record). Re-reads the
 * file: records appended since the last call are seen.
 * *@out is an array of *@n frames, freed with shmstat_frames_free().
 * Records that fail their checksum (torn by a crash, being written, or
 * damaged) are left out. Return 0 (also for no frames), ENOMEM,
 * SHMSTAT_ETRUNCATED (the file shrank), or an errno value.
 */
SHMSTAT_API int shmstat_history_range(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
				      shmstat_frame ***out, size_t *n);

/**
 * shmstat_history_window_range - the frames a window [@from_ns, @to_ns]
 * needs (shmstat_window.h): those of shmstat_history_range() and, before
 * them, the last record before @from_ns when there is one and none is at
 * @from_ns (a window's increases start from it). Same returns.
 */
SHMSTAT_API int shmstat_history_window_range(shmstat_history *h, uint64_t from_ns,
					     uint64_t to_ns, shmstat_frame ***out, size_t *n);

/* Does a frame keep series @name {@labels} of @type? Nonzero: yes. */
typedef int (*shmstat_series_filter)(void *arg, const char *name, const char *labels,
				     enum shmstat_type type);

/**
 * shmstat_history_window_select - shmstat_history_window_range() whose
 * frames hold only the series @keep keeps (@keep NULL: every series):
 * the others are checked and passed over, not decoded. A frame then
 * costs about 200 bytes, plus 16 bytes per series kept and what their
 * histogram buckets in use, table keys and owners take (the 1 s records
 * of a day: about 17 MiB, and 1.4 MiB per counter kept), where a frame
 * of every series costs that for all of them. @keep is asked once per
 * series of each set of series the records use (not once per record),
 * during the call. The frames' series are numbered among those kept
 * (shmstat_frame_info.series counts them); the window figures
 * (shmstat_window.h) over frames that keep the series a query matches
 * are the same as over whole frames. Same returns.
 */
SHMSTAT_API int shmstat_history_window_select(shmstat_history *h, uint64_t from_ns,
					      uint64_t to_ns, shmstat_series_filter keep,
					      void *arg, shmstat_frame ***out, size_t *n);

/* Called by shmstat_history_each() with each frame: @f is valid during
 * the call only. Nonzero stops the walk. */
typedef int (*shmstat_frame_fn)(void *arg, const shmstat_frame *f);

/**
 * shmstat_history_each - @fn with each frame of shmstat_history_range(@h,
 * @from_ns, @to_ns), in time order, each read and decoded when the last
 * one is done with: what it holds is one record, however many the range
 * has. A record overwritten while it is read (a writer gone round its
 * ring since) is left out, the frames given before it stay given.
 * Return 0, what @fn returned when nonzero (the walk stopped there), or
 * shmstat_history_range()'s errors. @fn runs with cancellation off: the
 * history reads are no cancellation points (history.md).
 */
SHMSTAT_API int shmstat_history_each(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
				     shmstat_frame_fn fn, void *arg);

/** shmstat_frames_free - free @n frames and the array. */
SHMSTAT_API void shmstat_frames_free(shmstat_frame **f, size_t n);

struct shmstat_frame_info {
	uint64_t time_ns;          /* when the snapshot was taken */
	uint64_t generation;       /* of the segment then */
	uint64_t step_ns;          /* step of the tier it came from */
	const char *segment;       /* the segment's name */
	size_t series;
};

SHMSTAT__SHADOW_OFF /* g++ -Wshadow: named as its struct (shmstat.h) */
SHMSTAT_API void shmstat_frame_info(const shmstat_frame *f, struct shmstat_frame_info *out);
SHMSTAT__SHADOW_ON

struct shmstat_series {
	const char *name;
	const char *labels;        /* canonical, as in shmstat_metric_info */
	enum shmstat_type type;
	uint64_t reg_id;           /* a new id: a new series (reset) */
	uint64_t counter;          /* counters; histograms: count; sig: hits */
	int64_t gauge;
	int has_value;
	/* signature tables: exact totals */
	uint64_t sig_hits, sig_misses, sig_weight, sig_evictions;
	uint64_t sig_unsummarized, sig_max_error;  /* as in shmstat_sigstats */
	size_t top;                /* keys kept: shmstat_frame_sigkey() */
	size_t owners;             /* owners: shmstat_frame_sigowner() */
	/* as in shmstat_metric_info (kept once per file, not per record) */
	const char *help;
	const char *unit;
	enum shmstat_agg agg;      /* gauges */
};

/** shmstat_frame_series - series @i of @f. Strings point into @f. 0 or EINVAL. */
SHMSTAT_API int shmstat_frame_series(const shmstat_frame *f, size_t i, struct shmstat_series *out);

/**
 * shmstat_frame_find - index of series @name with canonical @labels (NULL:
 * none, as ""), or -1 (the first, if a forged record has it twice). A
 * binary search over the frame's series sorted by name and labels (kept
 * with each set of series), a few comparisons a lookup.
 */
SHMSTAT_API long shmstat_frame_find(const shmstat_frame *f, const char *name, const char *labels);

/**
 * shmstat_frame_bytes - the memory series @i of @f takes in it (its value,
 * a histogram's buckets in use, a table's keys and owners), 0 if there
 * is no series @i; what a frame of shmstat_history_window_select() that
 * keeps it costs more.
 */
SHMSTAT_API size_t shmstat_frame_bytes(const shmstat_frame *f, size_t i);

/**
 * shmstat_frame_hist - the histogram of series @i as a private object,
 * as shmstat_snap_hist() gave it for all processes when the record was
 * taken (subtract two with shmstat_hdata_sub() for an interval).
 * Return 0, EINVAL (@i is not a histogram) or ENOMEM.
 */
SHMSTAT_API int shmstat_frame_hist(const shmstat_frame *f, size_t i, shmstat_hdata **out);

/* A key as its table's view gave it (shmstat_sigentry): hits, misses and
 * weight are upper bounds, less err_hits (err_weight) lower ones. */
struct shmstat_sigkey {
	const char *key;           /* the key's first bytes, NUL-terminated */
	uint32_t key_len;          /* bytes in key (may hold NULs), <= 128 */
	uint32_t full_len;         /* the key's length */
	uint64_t hash;             /* the key's 64-bit hash: the same key in
				    * every frame */
	const char *owner;
	uint64_t hits, misses, weight;
	uint64_t err_hits, err_weight;
};

/** shmstat_frame_sigkey - top key @k (by guaranteed hits) of table series
 * @i. 0 or EINVAL. */
SHMSTAT_API int shmstat_frame_sigkey(const shmstat_frame *f, size_t i, size_t k,
				     struct shmstat_sigkey *out);

/** shmstat_frame_sigowner - owner @k of table series @i and its exact
 * totals. Strings point into @f. 0 or EINVAL. */
SHMSTAT_API int shmstat_frame_sigowner(const shmstat_frame *f, size_t i, size_t k,
				       struct shmstat_sigowner_info *out);

#ifdef __cplusplus
}
#endif

#endif
