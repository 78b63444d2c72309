/*
 * layout.h - every structure that lives in a shmstat segment.
 *
 * A segment is one POSIX shared-memory object, /dev/shm/shmstat.<name>,
 * of fixed size chosen at creation. It holds no pointers, only offsets
 * from its first byte. All integers are little-endian on the machines we
 * build for; the endianness probe lets a reader refuse anything else.
 *
 *   offset 0                 4096
 *   +--------+-------+-------+--------+------+---------+--------+------+
 *   | header | procs | descs | owners | sigs | stripes | stacks | mods |
 *   +--------+-------+-------+--------+------+---------+--------+------+
 *
 * Every region starts on a 4096-byte boundary; the header's region table
 * gives the offset and length of each one, and a reader checks all of them
 * against the segment size before following any.
 *
 * header, 4096 bytes. Bytes 0..383 are written once at creation and are
 * covered by hdr_sum (XXH3-64 of bytes 0..335 with magic in place):
 *
 *     0  magic[8]      "SHMSTAT\0", stored last (release) when init is done
 *     8  major u16     format major: a reader refuses any other
 *    10  minor u16     format minor: additions only, older readers ignore
 *    12  hdr_size u32  sizeof(struct shmstat_hdr) as written
 *    16  endian u64    0x0102030405060708
 *    24  total_size    size of the whole object, equals st_size
 *    32  generation    64 random bits, new at every creation of the name
 *    40  created_ns    CLOCK_REALTIME at creation
 *    48  creator_uid   uid of the creating process
 *    52  flags         SHMSTAT_HDR_F_*
 *    56  max_procs     writer-process slots
 *    60  max_metrics   metric descriptors
 *    64  max_values    8-byte value slots per stripe
 *    68  nstripes      stripes in all: 2 graves + max_procs + thread stripes
 *    72  stripe_bytes  max_values * 8 rounded up to 128
 *    76  nregions      entries used in regions[]
 *    80  regions[16]   {off u64, len u64}, indexed by enum shmstat_region_id
 *   336  hdr_sum       XXH3-64 of bytes 0..335
 *
 * The rest of the header is mutable state, one 128-byte line per writer
 * concern so unrelated updates do not share a cache line:
 *
 *   384  alloc line    values_used, reg_seq, dropped_regs, sigs_used (128-byte
 *                      lines of the sigs region), retire_seq
 *   512  fold line     fold_seq, fold_state, reaper_lock, reaper_pidns,
 *                      reaper_who, reaper_locked (see grace.h)
 *   640  gauge line    gauge_seq: stamps for SHMSTAT_AGG_LAST gauges
 *   768  hint line     stripe_hint: where the next stripe search starts
 *   896  prof line     prof_dropped, prof_dropped_weight, prof_mods_dropped:
 *                      what the profile tables could not take;
 *                      prof_stacks_used, prof_mods_used: entries claimed
 *                      (zero stacks or modules: profiling is off)
 *
 * Processes are named in the segment by a "tag": pid << 32 | (low 24 bits
 * of the process start time) << 8, so that a recycled pid is not taken for
 * the process that had it before. Words that carry a tag keep a state in
 * their low 8 bits.
 *
 * procs: max_procs x struct shmstat_proc (128 B): writer processes.
 * descs: max_metrics x struct shmstat_desc (512 B): the metric directory.
 * owners: nstripes x u64: who owns each stripe (STRIPE_* | proc << 8).
 * sigs: 128-byte lines, handed out to signature tables in runs (a bump
 *   allocator, sigs_used). A table's run is its owner slots, then its
 *   summaries: two graves and a pool of per-thread Space-Saving summaries
 *   (drawn below, struct shmstat_sigsum).
 * stacks: max_stacks x struct shmstat_stackent (512 B), a power of two
 *   or 0: sampled stacks, an open-addressed table keyed by (process,
 *   kind, frames), see stacks.h.
 * mods: max_modules x struct shmstat_profmod (512 B): the module maps
 *   and profiler settings of profiled processes (modmap.h).
 * stripes: nstripes x stripe_bytes. Stripe s holds value slot v of every
 *   metric at byte s * stripe_bytes + v * 8. Stripes 0 and 1 are the two
 *   "graves" (values of processes that are gone, double-buffered so a fold
 *   is idempotent), stripes 2 .. 2+max_procs-1 are per-process shared
 *   stripes (atomic adds), the rest are owned by one thread each.
 */
#ifndef SHMSTAT_LAYOUT_H
#define SHMSTAT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <assert.h>

#define SHMSTAT_MAGIC            "SHMSTAT"   /* 7 chars + NUL = 8 bytes */
#define SHMSTAT_FORMAT_MAJOR     4
#define SHMSTAT_FORMAT_MINOR     6
#define SHMSTAT_ENDIAN_PROBE     0x0102030405060708ULL
#define SHMSTAT_LINE             128
#define SHMSTAT_PAGE             4096
#define SHMSTAT_HDR_SUM_BYTES    336
#define SHMSTAT_MAX_REGIONS      16

/* Hard limits a reader enforces on capacities (they bound every loop). */
#define SHMSTAT_LIMIT_PROCS      4096u
#define SHMSTAT_LIMIT_METRICS    (1u << 20)
#define SHMSTAT_LIMIT_VALUES     (1u << 24)
#define SHMSTAT_LIMIT_STRIPES    8192u
#define SHMSTAT_LIMIT_SIG_LINES  (1u << 26)   /* 8 GiB of signature tables */
#define SHMSTAT_LIMIT_STACKS     (1u << 20)
#define SHMSTAT_LIMIT_MODULES    (1u << 16)

enum shmstat_region_id {
	SHMSTAT_REG_PROCS = 0,
	SHMSTAT_REG_DESCS = 1,
	SHMSTAT_REG_OWNERS = 2,
	SHMSTAT_REG_STRIPES = 3,
	SHMSTAT_REG_SIGS = 4,      /* placed before the stripes */
	SHMSTAT_REG_STACKS = 5,    /* placed after the stripes */
	SHMSTAT_REG_MODS = 6,      /* last */
	SHMSTAT_REG_COUNT = 7,
};

struct shmstat_region {
	uint64_t off;
	uint64_t len;
};

struct shmstat_hdr {
	/* immutable after creation */
	char magic[8];
	uint16_t major;
	uint16_t minor;
	uint32_t hdr_size;
	uint64_t endian;
	uint64_t total_size;
	uint64_t generation;
	uint64_t created_ns;
	uint32_t creator_uid;
	uint32_t flags;
	uint32_t max_procs;
	uint32_t max_metrics;
	uint32_t max_values;
	uint32_t nstripes;
	uint32_t stripe_bytes;
	uint32_t nregions;
	struct shmstat_region regions[SHMSTAT_MAX_REGIONS];
	uint64_t hdr_sum;
	uint8_t pad0[384 - 344];

	/* allocation line: registration */
	uint64_t values_used;      /* bump allocator over value slots */
	uint64_t reg_seq;          /* registration ids (ABA detection) */
	uint64_t dropped_regs;     /* registrations refused: segment full */
	uint64_t sigs_used;        /* bump allocator over the sigs region's
				    * 128-byte lines */
	uint64_t retire_seq;       /* removals so far (grace periods), and
				    * new DEADV words (grace.h) */
	uint8_t pad1[128 - 40];

	/* fold line: reclamation of stripes of gone processes (grace.c) */
	uint64_t fold_seq;         /* bumped at every phase change */
	uint64_t fold_state;       /* SHMSTAT_FOLD_WORD(phase, active, proc) */
	uint64_t reaper_lock;      /* tag of the reaper, a byte of its
				    * image's number in bits 0..7 (4.3);
				    * 0 when free */
	/* (4.5) the reaper's pid namespace (as a process slot's pidns),
	 * then its lock word, stored after each take of the lock: a
	 * process of another namespace does not judge the holder by pid */
	uint64_t reaper_pidns;
	uint64_t reaper_who;
	/* (4.6) the holder's lock word when it holds the write lock of the
	 * reaper lock's first byte (grace.c, "The lock of the reaper
	 * lock"), stored after its take, 0 before it lets go; else 0 */
	uint64_t reaper_locked;
	uint8_t pad2[128 - 48];

	/* gauge line */
	uint64_t gauge_seq;
	uint8_t pad3[128 - 8];

	/* hint line */
	uint32_t stripe_hint;
	uint8_t pad4[128 - 4];

	/* profile line */
	uint64_t prof_dropped;        /* samples no stack entry could take */
	uint64_t prof_dropped_weight; /* and their weight */
	uint64_t prof_mods_dropped;   /* module records the table could not take */
	uint64_t prof_stacks_used;    /* stack entries claimed */
	uint64_t prof_mods_used;      /* module records claimed */
	uint8_t pad5[SHMSTAT_PAGE - 896 - 40];
};

#define SHMSTAT_HDR_F_GROUP_READ 0x1u   /* created 0640 */

enum shmstat_fold_phase {
	SHMSTAT_FOLD_IDLE = 0,
	SHMSTAT_FOLD_MERGING = 1,  /* grave[!active] being rebuilt */
	SHMSTAT_FOLD_FLIPPED = 2,  /* grave[active] holds proc; zeroing stripes */
};

/* fold_state: phase, the current grave and the slot being folded change
 * together, in one store */
#define SHMSTAT_FOLD_WORD(phase, active, proc) \
	((uint64_t)(phase) | (uint64_t)((active) & 1u) << 8 | (uint64_t)(proc) << 32)
#define SHMSTAT_FOLD_PHASE(w)  ((uint32_t)((w) & 0xffu))
#define SHMSTAT_FOLD_ACTIVE(w) ((uint32_t)((w) >> 8) & 1u)
#define SHMSTAT_FOLD_PROC(w)   ((uint32_t)((w) >> 32))

/* Process tags (see the top of this file). */
#define SHMSTAT_TAG(pid, start) \
	((uint64_t)(uint32_t)(pid) << 32 | ((uint64_t)(start) & 0xffffffu) << 8)
#define SHMSTAT_TAG_PID(w)   ((uint32_t)((w) >> 32))
#define SHMSTAT_TAG_START(w) ((uint32_t)((w) >> 8) & 0xffffffu)
#define SHMSTAT_TAG_OF(w)    ((w) & ~(uint64_t)0xffu)
#define SHMSTAT_STATE_OF(w)  ((uint32_t)((w) & 0xffu))

/* Writer-process slot. word = state | tag, changed by CAS only. */
enum shmstat_proc_state {
	SHMSTAT_PROC_FREE = 0,
	SHMSTAT_PROC_CLAIMING = 1, /* pid set, other fields being written */
	SHMSTAT_PROC_LIVE = 2,
	SHMSTAT_PROC_EXITED = 3,   /* detached cleanly, waiting to be folded */
};

struct shmstat_proc {
	uint64_t word;
	uint64_t starttime;        /* /proc/PID/stat field 22, clock ticks */
	uint64_t attach_ns;        /* CLOCK_REALTIME */
	uint64_t heartbeat_ns;     /* CLOCK_REALTIME, see shmstat_heartbeat() */
	uint32_t uid;
	uint32_t pad;
	char comm[16];
	uint64_t ack_seq;          /* retire_seq this writer acknowledged: it
				    * holds no handle of a metric removed at
				    * or before it */
	/* shmstat_gauge_set() calls finished and begun (format 4.2): a
	 * reader reads again the gauges of a process whose sets moved
	 * while it copied (gaugesnap.h) */
	uint64_t sets_done;
	uint64_t sets_begun;
	/* (format 4.3) random, nonzero, one per process image: a process
	 * that exec()s keeps its tag; the slot its old image held is then
	 * told from its new image's (grace.c, slot_gone()). 0: unknown */
	uint64_t image;
	/* (format 4.5) the pid namespace the tag's pid is of: st_dev and
	 * st_ino of /proc/PID/ns/pid, stored just after the claim's CAS.
	 * Nobody judges the process of a slot stamped with another
	 * namespace than its own by pid (procs.c). 0: unknown (a writer of
	 * an older library), the pid decides */
	uint64_t pidns;
	/* (format 4.6) equal to attach_ns (and not 0) while the writer
	 * holds an open file description lock (F_OFD_SETLK, F_WRLCK) of
	 * the slot's first byte in the object: stored after the lock is
	 * taken, before the LIVE store. The kernel lets the lock go when
	 * the writer dies, whatever its pid namespace: a judge of another
	 * namespace tests it (procs.c, "The lock of a slot"). Anything
	 * else: no lock, the slot is judged as before */
	uint64_t lock_ns;
	uint8_t pad2[SHMSTAT_LINE - 104];
};

#define SHMSTAT_PROC_STATE(w) SHMSTAT_STATE_OF(w)
#define SHMSTAT_PROC_PID(w)   SHMSTAT_TAG_PID(w)
#define SHMSTAT_PROC_WORD(state, tag) ((uint64_t)(state) | SHMSTAT_TAG_OF(tag))

/* Metric descriptor. word = state | tag of the claimer. */
enum shmstat_desc_state {
	SHMSTAT_DESC_FREE = 0,
	SHMSTAT_DESC_CLAIMED = 1,  /* fields being written by the claimer */
	SHMSTAT_DESC_LIVE = 2,     /* fields immutable, values in use */
	SHMSTAT_DESC_DEAD = 3,     /* a tombstone: probes go past, a new
				    * registration may take the slot */
	SHMSTAT_DESC_RETIRED = 4,  /* removed; values in use until every live
				    * writer acknowledged (grace period) */
	SHMSTAT_DESC_DEADV = 5,    /* a tombstone whose value slots (zeroed)
				    * may be taken by a new registration */
};
/* RETIRED and DEADV: word = state | retire sequence << 8 (so no DEADV
 * word is ever seen twice: see reuse_values(); a DEADV tombstone split or
 * merged is published again with a sequence of its own from retire_seq,
 * shmstat__deadv_publish()). PENDING: RETIRED with
 * every sequence bit set, the word of a removal whose sequence is not
 * taken yet (see shmstat__retire_pending()). */
#define SHMSTAT_DESC_RETIRE_SEQ(w) ((w) >> 8)
#define SHMSTAT_DESC_PENDING ((uint64_t)SHMSTAT_DESC_RETIRED | ~(uint64_t)0xff)

#define SHMSTAT_NAME_CAP    96
#define SHMSTAT_LABELS_CAP  224
#define SHMSTAT_UNIT_CAP    32
#define SHMSTAT_HELP_CAP    80

struct shmstat_desc {
	uint64_t word;
	uint64_t sum;              /* XXH3-64 of bytes 16..511 */
	/* immutable once LIVE */
	uint64_t reg_id;
	uint64_t key_hash;         /* XXH3-64 of name "\0" labels */
	uint64_t created_ns;
	uint16_t type;             /* enum shmstat_type */
	uint16_t agg;              /* enum shmstat_agg, gauges only */
	uint32_t value_off;        /* first value slot */
	uint32_t nvalues;          /* value slots used */
	uint32_t claimer_pid;
	uint32_t bits;             /* histograms: precision bits */
	uint32_t sig_pool;         /* signature tables: summaries for writer
				    * threads (the graves not counted) */
	char name[SHMSTAT_NAME_CAP];
	char labels[SHMSTAT_LABELS_CAP];
	char unit[SHMSTAT_UNIT_CAP];
	char help[SHMSTAT_HELP_CAP];
	union {
		struct {           /* histograms: the range tracked */
			uint64_t lowest;
			uint64_t highest;
		};
		struct {           /* signature tables (sigtable.h) */
			uint32_t sig_first;    /* first line of its run in sigs */
			uint32_t sig_capacity; /* keys per summary */
			uint16_t sig_keybytes; /* key bytes kept per entry */
			uint16_t sig_owners;   /* owner slots */
			uint32_t sig_ttl_ms;   /* shown as expired after it */
		};
	};
};

#define SHMSTAT_DESC_STATE(w) SHMSTAT_STATE_OF(w)
#define SHMSTAT_DESC_PID(w)   SHMSTAT_TAG_PID(w)
#define SHMSTAT_DESC_WORD(state, tag) ((uint64_t)(state) | SHMSTAT_TAG_OF(tag))
#define SHMSTAT_DESC_SUM_FROM 16

/* Stripe owner word: state | proc << 8. */
enum shmstat_stripe_state {
	SHMSTAT_STRIPE_FREE = 0,   /* all values zero */
	SHMSTAT_STRIPE_OWNED = 1,  /* a thread of proc writes it */
	SHMSTAT_STRIPE_IDLE = 2,   /* belongs to proc, no thread now */
	SHMSTAT_STRIPE_FIXED = 3,  /* grave or per-process stripe */
};
#define SHMSTAT_STRIPE_STATE(w) ((uint32_t)((w) & 0xffu))
#define SHMSTAT_STRIPE_PROC(w)  ((uint32_t)((w) >> 8))
#define SHMSTAT_STRIPE_WORD(state, proc) ((uint64_t)(state) | (uint64_t)(proc) << 8)
/* Does owner word w say a thread stripe belongs to a process (owned, or idle)? */
#define SHMSTAT_STRIPE_HELD(w) \
	(SHMSTAT_STRIPE_STATE(w) == SHMSTAT_STRIPE_OWNED || \
	 SHMSTAT_STRIPE_STATE(w) == SHMSTAT_STRIPE_IDLE)

#define SHMSTAT_GRAVES 2u
/* index of the per-process shared stripe of proc slot p */
#define SHMSTAT_PROC_STRIPE(p) (SHMSTAT_GRAVES + (p))

/* Gauge value slots: [0] striped deltas, in the per-process stripe
 * [1] base set by shmstat_gauge_set(), [2] stamp (0: process never
 * registered it, 1: registered, >1: gauge_seq of its last set; only
 * MIN/MAX/LAST read it, sums take every process). In the
 * graves: [0] sum of gone processes, [1] min/max/last of gone processes,
 * [2] nonzero when [1] holds a value (the stamp for LAST). */
#define SHMSTAT_GAUGE_SLOTS 3u

/* ------------------------------------------------------ signature tables
 *
 * A table's run of the sigs region (sigtable.h has the algorithm):
 *
 *   claims     sig_pool x u64, padded to 128: summary k of the pool is
 *              SHMSTAT_SUM_WORD(state, stripe) claims[k] (one array, so a
 *              reader learns which summaries to read with one read)
 *   owners     sig_owners x struct shmstat_sigowner (64 B), padded to 128
 *   summary 0  grave: what writers that are gone counted (double-buffered
 *   summary 1  grave   with the fold, like stripes 0 and 1)
 *   summary 2  the pool: one per writer thread that has counted an event
 *   ...          of the table, claimed on its first one
 *
 * Every summary has the same shape, fixed by capacity C and key bytes K,
 * and is shmstat__sumgeo(C, K).bytes long:
 *
 *   0          struct shmstat_sigsum (128 B)
 *   128        index: S x u32, S the power of two >= 2C: the owner
 *              thread's hash -> entry, linear probing, tag << 20 | entry
 *              (tag: 12 bits of the hash, never 0), 0 when empty. An
 *              evicted key's slot stays until the index is rebuilt (a
 *              lookup checks the entry's hash). Graves keep their
 *              Misra-Gries counters here instead, C x u64. The area is
 *              max(4S, 8C) bytes, padded to 128.
 *   +area      ents: C x struct shmstat_sigent (64 B): a key's counts,
 *              owner and gen, even when the entry is whole, odd while it
 *              takes a key (a per-entry sequence count)
 *   +64C       keys: C x (8 + K) bytes: the key's length (u32), 4 bytes
 *              of padding, its first K bytes; written once the key is
 *              worth it (SHMSTAT_SIGENT_F_KEY)
 *   +(8+K)C    next: C x u32, then heads: SHMSTAT_SIG_LEVELS x u32: the
 *              owner's lists of entries by count, for the lowest counts;
 *              padded to 128
 *   filter     F x u32, F the power of two >= 4C: the owner's admission
 *              filter (sigtable.h), counters of events of keys the
 *              summary does not hold, by hash; no reader reads it, and
 *              graves leave it zero
 *
 * A summary is written by one thread only (the one owning the stripe in
 * its claim), or by the reaper when the thread's process is gone; readers
 * check every entry with its gen. */
#define SHMSTAT_SUM_FREE    0u     /* zero, in the pool */
#define SHMSTAT_SUM_OWNED   1u     /* claim = OWNED | stripe << 8 */
#define SHMSTAT_SUM_STATE(w)  ((uint32_t)((w) & 0xffu))
#define SHMSTAT_SUM_STRIPE(w) ((uint32_t)((w) >> 8))
#define SHMSTAT_SUM_WORD(state, stripe) ((uint64_t)(state) | (uint64_t)(stripe) << 8)
#define SHMSTAT_SIG_GRAVES  2u

/* index slots: tag (12 bits, not 0) << 20 | entry */
#define SHMSTAT_SLOT_ENTRY(s) ((uint32_t)(s) & 0xfffffu)
#define SHMSTAT_SLOT_TAG(s)   ((uint32_t)(s) >> 20)
#define SHMSTAT_SIG_MAX_CAPACITY (1u << 20)
#define SHMSTAT_SIG_MAX_KEYBYTES 1024u
#define SHMSTAT_SIG_MAX_POOL     4096u
#define SHMSTAT_SIG_MAX_OWNERS   4096u

struct shmstat_sigsum {
	uint64_t reserved;         /* 0 */
	uint64_t used;             /* entries in use, 0..C: only grows */
	uint64_t floor;            /* events: no key absent from the summary
				    * had more (the last victim's count; a
				    * grave's bound) */
	uint64_t wmax;             /* the largest weight of one event: a
				    * key's uncounted weight is at most its
				    * uncounted events times it */
	uint64_t mg_err;           /* graves: the Misra-Gries error D, every
				    * key's count is within it of its counter */
	uint64_t evictions;        /* entries given to a new key */
	/* the owner thread's own: the count of its first list of entries
	 * by count, the clock it stamps events with and events until it
	 * reads it again, slots taken (live and evicted keys'), index
	 * rebuilds */
	uint64_t level;
	uint32_t lists;            /* lists in use (0: look for the minimum) */
	uint32_t tick_left;
	uint64_t tick_ns;
	uint64_t slots_used;
	uint64_t rescans;          /* times the minimum was looked for */
	uint64_t rebuilds;
	uint64_t filtered;         /* events the admission filter kept out */
	/* even while no take is under way, odd during one (release stores);
	 * set to 2 by the thread that claims the summary; 0: its writer
	 * keeps none (format 4.0): readers check every gen */
	uint64_t seq;
	uint8_t pad[128 - 112];
};

#define SHMSTAT_SIGENT_F_KEY 0x1u  /* the key's bytes are in keys[] */
#define SHMSTAT_SIG_LEVELS   32u   /* lists of entries by count kept */

struct shmstat_sigent {
	uint64_t hash;             /* the key's 64-bit hash: its identity */
	uint64_t hits, misses;     /* counted while the key had this entry */
	uint64_t weight;
	uint64_t err;              /* events it may have had before: the
				    * count of the entry's victim */
	uint64_t first_ns, last_ns;   /* CLOCK_REALTIME_COARSE */
	uint32_t gen;              /* odd while the entry takes a key */
	uint16_t owner;            /* 0: none, else owner slot + 1 */
	uint16_t flags;            /* SHMSTAT_SIGENT_F_* */
};

struct shmstat_sigkeyrec {
	uint32_t len;              /* the key's length; bytes kept: min(len, K) */
	uint32_t pad;
	/* K bytes follow */
};

/* Value slots of a signature table, in every stripe */
#define SHMSTAT_S_HITS     0u
#define SHMSTAT_S_MISSES   1u
#define SHMSTAT_S_WEIGHT   2u
#define SHMSTAT_S_EVICT    3u
#define SHMSTAT_S_UNSUM    4u
#define SHMSTAT_S_UNSUM_W  5u
#define SHMSTAT_S_SUMMARY  6u
#define SHMSTAT_S_OWNERS   7u
/* slot of owner slot @o's counter @k (0 hits, 1 misses, 2 weight) */
#define SHMSTAT_S_OWNER(o, k) (SHMSTAT_S_OWNERS + 3u * (o) + (k))
#define SHMSTAT_S_NVALUES(owners) (SHMSTAT_S_OWNERS + 3u * (owners))

/* Owner slot of a signature table. word = state (0 free, 1 claimed,
 * 2 live) | the claimer's tag while claimed. */
#define SHMSTAT_SIG_OWNER_CAP 56
struct shmstat_sigowner {
	uint64_t word;
	char name[SHMSTAT_SIG_OWNER_CAP];
};

static_assert(sizeof(struct shmstat_sigsum) == 128, "summary header is 128 bytes");
static_assert(sizeof(struct shmstat_sigent) == 64, "signature entry is one 64-byte line");
static_assert(sizeof(struct shmstat_sigkeyrec) == 8, "key record header is 8 bytes");
static_assert(sizeof(struct shmstat_sigowner) == 64, "owner slot is 64 bytes");

/* A sampled stack (stacks.h). word = state | tag of the process (layout
 * of process tags above); the rest is written once, before the state
 * becomes READY, except samples and weight (atomic adds). hash is
 * XXH3-64 of the tag and bytes 32 .. 48 + depth * 8, never 0: a reader
 * recomputes it to validate the entry. */
#define SHMSTAT_STACK_SLOTS 58
enum shmstat_stack_state {
	SHMSTAT_STACKENT_FREE = 0,
	SHMSTAT_STACKENT_CLAIMED = 1,  /* being filled (or its filler died) */
	SHMSTAT_STACKENT_READY = 2,
};
#define SHMSTAT_STACK_F_TRUNCATED 0x1u  /* the stack had more frames */
#define SHMSTAT_STACK_F_RETLEAF   0x2u  /* pcs[0] is a return address */
struct shmstat_stackent {
	uint64_t word;
	uint64_t hash;
	uint64_t samples;
	uint64_t weight;           /* CPU: ns of CPU time; latency: ns timed */
	uint32_t kind;             /* enum shmstat_stack_kind */
	uint32_t metric;           /* latency: the histogram's first value
				    * slot + 1; else 0 */
	uint32_t depth;            /* pcs used, 1..SHMSTAT_STACK_SLOTS */
	uint32_t flags;            /* SHMSTAT_STACK_F_* */
	uint64_t pcs[SHMSTAT_STACK_SLOTS];   /* innermost first */
};

/* A module or process record of a profiled process (modmap.h). word =
 * state (as for stacks) | tag; bytes 16..511 are written once, before
 * READY, and covered by sum (XXH3-64). */
#define SHMSTAT_PROFMOD_PROC   1u   /* comm, hz, start_ns */
#define SHMSTAT_PROFMOD_MODULE 2u   /* path, build-id, base, lo, hi */
#define SHMSTAT_BUILD_ID_CAP   32
#define SHMSTAT_MODPATH_CAP    400
struct shmstat_profmod {
	uint64_t word;
	uint64_t sum;
	uint32_t kind;             /* SHMSTAT_PROFMOD_* */
	uint32_t seq;              /* publication order within the process */
	uint64_t base, lo, hi;     /* modules: load bias, executable range */
	uint64_t start_ns;         /* process: CLOCK_REALTIME of the start */
	union {
		uint32_t hz;       /* process: samples per CPU second, 0: off */
		uint32_t gone;     /* module (4.4): the seq from which it is
				    * unloaded (a copy published when the
				    * process found it gone), 0: loaded */
	};
	uint32_t build_id_len;
	uint8_t build_id[SHMSTAT_BUILD_ID_CAP];
	char comm[16];
	char path[SHMSTAT_MODPATH_CAP];   /* NUL-terminated */
};
#define SHMSTAT_PROFMOD_SUM_FROM 16

static_assert(sizeof(struct shmstat_stackent) == 512, "stack entry is 512 bytes");
static_assert(offsetof(struct shmstat_stackent, kind) == 32, "stack key at 32");
static_assert(sizeof(struct shmstat_profmod) == 512, "module record is 512 bytes");
static_assert(offsetof(struct shmstat_hdr, prof_dropped) == 896, "profile line at 896");
static_assert(sizeof(struct shmstat_hdr) == SHMSTAT_PAGE, "header is one page");
static_assert(offsetof(struct shmstat_hdr, regions) == 80, "region table at 80");
static_assert(offsetof(struct shmstat_hdr, hdr_sum) == SHMSTAT_HDR_SUM_BYTES, "hdr_sum at 336");
static_assert(offsetof(struct shmstat_hdr, values_used) == 384, "alloc line at 384");
static_assert(offsetof(struct shmstat_hdr, fold_seq) == 512, "fold line at 512");
static_assert(offsetof(struct shmstat_hdr, gauge_seq) == 640, "gauge line at 640");
static_assert(offsetof(struct shmstat_hdr, stripe_hint) == 768, "hint line at 768");
static_assert(sizeof(struct shmstat_proc) == SHMSTAT_LINE, "proc slot is one line");
static_assert(offsetof(struct shmstat_proc, pidns) == 88, "pidns at 88 (4.5)");
static_assert(offsetof(struct shmstat_proc, lock_ns) == 96, "lock_ns at 96 (4.6)");
static_assert(offsetof(struct shmstat_hdr, reaper_who) == 544, "reaper_who at 544 (4.5)");
static_assert(offsetof(struct shmstat_hdr, reaper_locked) == 552, "reaper_locked at 552 (4.6)");
static_assert(sizeof(struct shmstat_desc) == 512, "descriptor is 512 bytes");
static_assert(offsetof(struct shmstat_desc, name) == 64, "name at 64");
static_assert(offsetof(struct shmstat_desc, lowest) == 496, "histogram range at 496");

#endif
