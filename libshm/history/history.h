/*
 * history.h - the bytes of a history file (shmstat_history.h).
 *
 * A history file is a regular file of fixed size (the max_bytes of its
 * creation, rounded down to 4096), allocated in full when it is created
 * (posix_fallocate: a full disk fails create, not a later append). It
 * holds no pointers, only offsets from byte 0. Integers are in the byte
 * order of the machine that wrote them; the endianness probe lets a
 * reader refuse anything else.
 *
 *   0        4096            dict_off+dict_len
 *   +--------+---------------+-----------+-----------+-- ... --+
 *   | header | dictionary    | ring 0    | ring 1    |         |
 *   +--------+---------------+-----------+-----------+-- ... --+
 *
 * header, 4096 bytes, written once (the file appears under its name only
 * when it is complete: it is made under a temporary name and renamed
 * with RENAME_NOREPLACE). Bytes 0..335 are covered by hdr_sum:
 *
 *     0  magic[8]      "SHMHIST\0"
 *     8  major u16     format major: a reader refuses any other
 *    10  minor u16     format minor: additions only
 *    12  hdr_size u32  4096
 *    16  endian u64    0x0102030405060708
 *    24  total_size    size of the file, equals st_size
 *    32  created_ns    CLOCK_REALTIME at creation
 *    40  seed          64 random bits: seeds every checksum below
 *    48  creator_uid   effective uid of the creator
 *    52  flags         SHMSTAT_HF_F_GROUP_READ: created 0640
 *    56  ntiers        1 .. SHMSTAT_HISTORY_MAX_TIERS
 *    60  top_keys      signature-table keys kept per record
 *    64  dict_off u64  the dictionary: offset and length
 *    72  dict_len u64
 *    80  tier[8]       {step_ns, span_ns, ring_off, ring_len}, 32 B each;
 *                      steps strictly increasing, spans not decreasing
 *   336  hdr_sum       XXH3-64 (seed 0) of bytes 0..335
 *   344  zero          up to byte 4095
 *
 * Dictionary: entries appended one after the other from dict_off, never
 * moved nor rewritten once complete; it ends at the first entry that is
 * not valid. Each entry is written with one pwrite(2):
 *
 *     0  magic u32     SHMSTAT_HF_ENT_MAGIC
 *     4  len u32       whole entry, a multiple of 8, at least 32
 *     8  sum u64       shmstat__hf_sum(entry, len, seed, SHMSTAT_HF_AREA_DICT)
 *    16  index u64     0, 1, 2, ...: its rank in the dictionary
 *    24  payload       then zero bytes up to len
 *
 * and its payload is one of (varint: unsigned LEB128, at most 10 bytes;
 * str: varint length then the bytes, no NUL):
 *
 *   series     u8 1, u8 type, u8 agg, [histogram: varint bits,
 *              varint lowest, varint highest], str name, str labels,
 *              str help, str unit
 *   schema     u8 2, varint n, then n x (varint tag, varint zigzag of
 *              reg_id minus the previous series' reg_id (0 before the
 *              first)); tag = zigzag(index - previous index - 1) << 1
 *              names a series entry of lower index (previous: -1 before
 *              the first). Inside a record (dictionary full), a tag of 1
 *              is followed by a str holding a series payload instead.
 *
 * Rings: ring k is [ring_off, ring_off + ring_len) and holds records of
 * tier k, written one after the other; a record that does not fit
 * before the ring's end is written at its start (the bytes left at the
 * end keep older records). Each record is written with one pwrite(2):
 *
 *     0  magic u32     SHMSTAT_HF_REC_MAGIC
 *     4  len u32       whole record, a multiple of 8, at least 40
 *     8  sum u64       shmstat__hf_sum(rec, len, seed, k)
 *    16  seq u64       1, 2, 3, ... in its ring, +1 per record
 *    24  time_ns u64   CLOCK_REALTIME of the snapshot
 *    32  payload       then zero bytes (fewer than 8) up to len
 *
 *   payload    u8 1, u64 generation (8 bytes), str segment,
 *              varint schema: 2 * index of a schema entry, or 1 followed
 *              by a schema payload without its leading u8 (dictionary
 *              full), then per series of the schema, by its type:
 *     counter    varint value
 *     gauge      varint has_value (0 or 1), varint zigzag(value)
 *     histogram  varint sum, max, min+1 (0: no minimum), underflow,
 *                overflow, varint runs, per run: varint gap (buckets
 *                skipped since the previous run), varint length, then
 *                one varint count per bucket of the run
 *     sigtable   varint hits, misses, weight, evictions, unsummarized,
 *                max_error (shmstat_sigstats), varint owners, per owner:
 *                str name, varint hits, misses, weight (exact); varint
 *                keys (the top ones by guaranteed hits), per key: u64 hash
 *                (8 bytes), str key (its first bytes, may hold NULs, at
 *                most 128), varint full_len, str owner, varint hits,
 *                misses, weight (upper bounds), varint err (events),
 *                err_weight (shmstat_sigentry)
 *
 * A reader keeps a ring's records whose checksum holds and whose seq
 * follow each other down from the highest one (the ones not overwritten
 * since), in order of seq; their time never goes down. Everything it
 * reads is checked: lengths and offsets against the ring, every count
 * against what is left of the record, every index against the
 * dictionary.
 */
#ifndef SHMSTAT_HISTORY_INTERNAL_H
#define SHMSTAT_HISTORY_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

#include "shmstat_history.h"
#include "util.h"

#define SHMSTAT_HF_MAGIC         "SHMHIST"   /* 7 chars + NUL = 8 bytes */
#define SHMSTAT_HF_MAJOR         2
#define SHMSTAT_HF_MINOR         0
#define SHMSTAT_HF_HDR_SIZE      4096u
#define SHMSTAT_HF_ENDIAN_PROBE  UINT64_C(0x0102030405060708)
#define SHMSTAT_HF_HDR_SUM_BYTES 336u
#define SHMSTAT_HF_F_GROUP_READ  0x1u

#define SHMSTAT_HF_REC_MAGIC     UINT32_C(0xF1E5A7C3)
#define SHMSTAT_HF_ENT_MAGIC     UINT32_C(0xF1E5D1C7)
#define SHMSTAT_HF_AREA_DICT     0xFFu

#define SHMSTAT_HF_ENT_HDR       24u
#define SHMSTAT_HF_REC_HDR       32u
#define SHMSTAT_HF_REC_MAX       (UINT32_C(256) << 20)  /* longest record or entry */

/* Limits a reader checks, and a writer keeps to. */
#define SHMSTAT_HF_MIN_BYTES     (UINT64_C(16) << 10)
#define SHMSTAT_HF_MAX_BYTES     (UINT64_C(1) << 40)
#define SHMSTAT_HF_DICT_MAX      (UINT64_C(16) << 20)
#define SHMSTAT_HF_MAX_TOP_KEYS  SHMSTAT_HISTORY_MAX_TOP
#define SHMSTAT_HF_MAX_RECORDS   (UINT64_C(1) << 32)     /* span / step */
#define SHMSTAT_HF_MAX_BUCKETS   (UINT32_C(1) << 22)
#define SHMSTAT_HF_STR_MAX       4096u                   /* name, labels, ... */
#define SHMSTAT_HF_SEG_MAX       255u
#define SHMSTAT_HF_PREFIX_MAX    128u
#define SHMSTAT_HF_MAX_OWNERS    4096u
#define SHMSTAT_HF_OWNER_MAX     255u

#define SHMSTAT_HF_KIND_SERIES   1u
#define SHMSTAT_HF_KIND_SCHEMA   2u
#define SHMSTAT_HF_KIND_SNAP     1u

struct shmstat_hf_tier {
	uint64_t step_ns;
	uint64_t span_ns;
	uint64_t ring_off;
	uint64_t ring_len;
};

struct shmstat_hf_hdr {
	char magic[8];
	uint16_t major;
	uint16_t minor;
	uint32_t hdr_size;
	uint64_t endian;
	uint64_t total_size;
	uint64_t created_ns;
	uint64_t seed;
	uint32_t creator_uid;
	uint32_t flags;
	uint32_t ntiers;
	uint32_t top_keys;
	uint64_t dict_off;
	uint64_t dict_len;
	struct shmstat_hf_tier tier[SHMSTAT_HISTORY_MAX_TIERS];
	uint64_t hdr_sum;
	unsigned char zero[SHMSTAT_HF_HDR_SIZE - 344];
};

struct shmstat_hf_ent {
	uint32_t magic;
	uint32_t len;
	uint64_t sum;
	uint64_t index;
};

struct shmstat_hf_rec {
	uint32_t magic;
	uint32_t len;
	uint64_t sum;
	uint64_t seq;
	uint64_t time_ns;
};

static_assert(SHMSTAT_HISTORY_MAX_TIERS == 8, "the header holds 8 tiers");
static_assert(offsetof(struct shmstat_hf_hdr, seed) == 40, "seed at 40");
static_assert(offsetof(struct shmstat_hf_hdr, ntiers) == 56, "ntiers at 56");
static_assert(offsetof(struct shmstat_hf_hdr, dict_off) == 64, "dict_off at 64");
static_assert(offsetof(struct shmstat_hf_hdr, tier) == 80, "tiers at 80");
static_assert(offsetof(struct shmstat_hf_hdr, hdr_sum) == SHMSTAT_HF_HDR_SUM_BYTES,
	      "hdr_sum at 336");
static_assert(sizeof(struct shmstat_hf_hdr) == SHMSTAT_HF_HDR_SIZE, "header is 4096 bytes");
static_assert(sizeof(struct shmstat_hf_ent) == SHMSTAT_HF_ENT_HDR, "entry header is 24 bytes");
static_assert(sizeof(struct shmstat_hf_rec) == SHMSTAT_HF_REC_HDR, "record header is 32 bytes");

/* The checksum of a record or dictionary entry of @len bytes at @p: what
 * follows the sum field, with the file's seed, the length and the area
 * (ring index, or SHMSTAT_HF_AREA_DICT) mixed into the seed, so that a
 * record is valid only at its length and in its own ring. */
static inline uint64_t shmstat__hf_sum(const void *p, uint32_t len, uint64_t seed, unsigned area)
{
	return XXH3_64bits_withSeed((const unsigned char *)p + 16, (size_t)len - 16,
				    seed ^ ((uint64_t)len << 32) ^ ((uint64_t)area << 8));
}

/* For tests: what a ring holds now, as a reader finds it. */
struct shmstat__hf_tier_stat {
	size_t records;            /* kept: the run of seqs down from the newest */
	uint64_t oldest_ns, newest_ns;
	uint64_t ring_off, ring_len;
	uint64_t newest_off;       /* the newest record: ring offset, length, seq */
	uint32_t newest_len;
	uint64_t newest_seq;
	uint32_t max_len;          /* longest record kept */
	uint64_t dict_used;        /* bytes of the dictionary in use */
	uint64_t dict_len;
	size_t dict_entries;
};

SHMSTAT_HIDDEN int shmstat__history_tier_stat(shmstat_history *h, unsigned k,
					      struct shmstat__hf_tier_stat *out);

#endif
