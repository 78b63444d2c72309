/*
 * cachesim.c - shmstat-cachesim: a multi-process signature cache service,
 * instrumented with libshmstat, for the demo and the overhead benchmark.
 *
 * The parent forks P worker processes of T threads each. Every thread
 * serves a stream of requests keyed "conversation-<id>:<model>" drawn
 * from a Zipf-like popularity over a working set of K keys, deterministic
 * for a given --seed (each worker/thread derives its own stream from it).
 * Each worker process has one bounded cache (a segmented LRU): new entries
 * go to tier 2, a hit in tier 2 promotes the entry to tier 1 (small, hot),
 * tier 1's least recent entry is demoted back to tier 2, tier 2's least
 * recent entry is evicted. Entries older than --ttl-ms are expired on
 * lookup; a fraction (--corrupt) of hits fails a "corruption" check and
 * becomes a miss. A miss busy-waits --upstream-us microseconds (the
 * upstream call) and writes the entry. Every conversation belongs to one
 * of A accounts; a hit saves 1000 micro-dollars for its account.
 *
 * Instrumentation (segment --name, default "cachesim"):
 *   cachesim_hits_total{tier,model,pattern}        counter
 *   cachesim_misses_total{model,pattern}           counter
 *   cachesim_evictions_total{tier,model,pattern}   counter (LRU and TTL)
 *   cachesim_corruptions_total{tier,model,pattern} counter
 *   cachesim_lookup_duration, cachesim_write_duration   histograms, ns
 *   cachesim_inflight (SUM), cachesim_cache_entries{tier} (SUM, set)
 *   cachesim_signatures: signature table, owner = account, weight 1000
 *       micro-dollars per hit
 * The request path uses the inline fast paths of shmstat_inline.h for
 * its counters, its gauge and its sampled timers (a call each otherwise:
 * 5-10 ns more CPU a request in 2 of 3 runs here, docs/cachesim.md).
 *
 * At exit every worker prints its exact tally, the parent the sums:
 *   tally pid=<pid> requests=<n> hits=<n> misses=<n> lookups=<n> weight=<n> acct-1=<w> ...
 *   tally total requests=<n> hits=<n> misses=<n> lookups=<n> weight=<n> acct-1=<w> ...
 *   tally top=<most popular key of the stream>
 *   tally rate=<requests per second>
 *   tally cpu_ns=<CPU time the serving threads used, in ns> (setup,
 *       registration and exit left out: what a long-running service pays)
 * and with --profile, each worker what its profiler holds:
 *   profile pid=<pid> unwind_bytes=<n> unwind_modules=<n> unwind_rows=<n> thread_timers=<n>
 * The segment is NOT removed at exit (the caller shows it, then removes
 * it with `shmstat rm NAME`), unless --rm is given.
 * --no-instrument does the same work with every shmstat call bypassed (a
 * flag tested once per request), for the overhead benchmark; --no-sig
 * bypasses the signature-table calls alone, for its split of the cost.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_inline.h"
#include "shmstat_profile.h"

#define MAX_ACCOUNTS 64
#define MAX_PROCS 32
#define MAX_THREADS 64
#define NMODELS 3
#define WEIGHT_PER_HIT 1000

static const char usage[] =
	"usage: shmstat-cachesim [options]\n"
	"  --name NAME        segment name (default cachesim); kept at exit\n"
	"  --procs P          worker processes (default 4)\n"
	"  --threads T        threads per worker (default 2)\n"
	"  --duration S       seconds to run (default 30)\n"
	"  --requests N       stop each thread after N requests (default: no limit)\n"
	"  --seed N           stream seed (default 1)\n"
	"  --keys K           working set: distinct keys (default 20000)\n"
	"  --zipf S           Zipf exponent (default 1.1)\n"
	"  --cache-size N     entries per worker cache (default 4096; 1/8 in tier 1)\n"
	"  --ttl-ms MS        entry time to live (default 5000; 0: none)\n"
	"  --corrupt F        fraction of hits rejected as corrupt (default 0.001)\n"
	"  --upstream-us US   busy-wait on a miss (default 5)\n"
	"  --accounts A       accounts owning the conversations (default 8)\n"
	"  --sample N         time 1 lookup/write in N per thread (default 1: all)\n"
	"  --sig-capacity N   signature-table keys per writer thread (default 1024)\n"
	"  --profile HZ       sample each worker's stacks at HZ (1..1000, 0: off;\n"
	"                     default 0), see shmstat flame\n"
	"  --latency-stacks N record the stack of 1 timed lookup/write in N\n"
	"                     (default 0: none), see shmstat flame --latency\n"
	"  --no-instrument    bypass every shmstat call (overhead baseline)\n"
	"  --no-sig           bypass the signature-table calls alone (the\n"
	"                     overhead benchmark's split of the cost)\n"
	"  --rm               remove the segment at exit\n";

static const char *const model_names[NMODELS] = { "gpt-4o", "claude", "llama" };
static const char pattern[] = "conversation:*";

/* ------------------------------------------------------------ settings */

static struct {
	const char *name;
	int procs, threads, accounts;
	double duration, zipf, corrupt;
	uint64_t requests, seed;
	uint32_t keys, cache_size, t1_size, sample, sig_capacity;
	uint32_t profile_hz, latency_stacks;
	uint64_t ttl_ns, upstream_ns;
	int instrument, sig, rm;
} cfg = {
	.name = "cachesim", .procs = 4, .threads = 2, .accounts = 8,
	.duration = 30, .zipf = 1.1, .corrupt = 0.001,
	.requests = 0, .seed = 1,
	.keys = 20000, .cache_size = 4096, .sample = 1, .sig_capacity = 1024,
	.ttl_ns = 5000000000ull, .upstream_ns = 5000,
	.instrument = 1, .sig = 1, .rm = 0,
};

/* The key space, built once in the parent before fork. */
static char **key_str;
static uint32_t *key_len;
static uint64_t *key_hash;
static uint8_t *key_acct;      /* account index 0..A-1 */
static double *zipf_cdf;       /* cumulative probability of ranks 0..i */

/* ------------------------------------------------------------ random */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rand01(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t zipf_draw(uint64_t *s)
{
	double u = rand01(s);
	uint32_t lo = 0, hi = cfg.keys - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (zipf_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int build_keys(void)
{
	double total = 0;

	key_str = calloc(cfg.keys, sizeof(*key_str));
	key_len = calloc(cfg.keys, sizeof(*key_len));
	key_hash = calloc(cfg.keys, sizeof(*key_hash));
	key_acct = calloc(cfg.keys, sizeof(*key_acct));
	zipf_cdf = calloc(cfg.keys, sizeof(*zipf_cdf));
	if (!key_str || !key_len || !key_hash || !key_acct || !zipf_cdf)
		return -1;
	for (uint32_t r = 0; r < cfg.keys; r++) {
		char buf[64];
		uint64_t s = r * 0x2545f4914f6cdd1dull;
		int n = snprintf(buf, sizeof(buf), "conversation-%" PRIu32 ":%s", r,
				 model_names[r % NMODELS]);

		key_str[r] = strdup(buf);
		if (key_str[r] == NULL)
			return -1;
		key_len[r] = (uint32_t)n;
		key_hash[r] = fnv1a(buf, (size_t)n);
		key_acct[r] = (uint8_t)(splitmix64(&s) % (uint64_t)cfg.accounts);
		total += 1.0 / pow((double)r + 1, cfg.zipf);
		zipf_cdf[r] = total;
	}
	for (uint32_t r = 0; r < cfg.keys; r++)
		zipf_cdf[r] /= total;
	zipf_cdf[cfg.keys - 1] = 1.0;
	return 0;
}

/* ------------------------------------------------------------ the cache */

#define NIL UINT32_MAX

struct entry {
	uint32_t rank;             /* key; NIL when free */
	uint32_t hnext;            /* hash chain */
	uint32_t prev, next;       /* LRU list of its tier, or free list */
	uint64_t hash, born_ns;
	uint8_t tier;              /* 0: tier 1, 1: tier 2 */
	char value[48];            /* the cached "response" */
	uint32_t check;            /* checksum of value */
};

struct lru {
	uint32_t head, tail, count;    /* head: most recent */
};

struct cache {
	pthread_mutex_t lock;
	struct entry *e;
	uint32_t *bucket, mask, free;
	struct lru tier[2];
};

static int cache_init(struct cache *c, uint32_t n)
{
	uint32_t nb = 1;

	while (nb < 2 * n)
		nb <<= 1;
	c->e = calloc(n, sizeof(*c->e));
	c->bucket = malloc(nb * sizeof(*c->bucket));
	if (c->e == NULL || c->bucket == NULL)
		return -1;
	c->mask = nb - 1;
	for (uint32_t i = 0; i < nb; i++)
		c->bucket[i] = NIL;
	for (uint32_t i = 0; i < n; i++) {
		c->e[i].rank = NIL;
		c->e[i].next = i + 1 < n ? i + 1 : NIL;
	}
	c->free = 0;
	for (int t = 0; t < 2; t++)
		c->tier[t] = (struct lru){ NIL, NIL, 0 };
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

static void lru_unlink(struct cache *c, uint32_t i)
{
	struct entry *x = &c->e[i];
	struct lru *l = &c->tier[x->tier];

	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		l->head = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		l->tail = x->prev;
	l->count--;
}

static void lru_push(struct cache *c, uint32_t i, uint8_t tier)
{
	struct entry *x = &c->e[i];
	struct lru *l = &c->tier[tier];

	x->tier = tier;
	x->prev = NIL;
	x->next = l->head;
	if (l->head != NIL)
		c->e[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
	l->count++;
}

static uint32_t hash_find(const struct cache *c, uint32_t rank)
{
	uint64_t h = key_hash[rank];

	for (uint32_t i = c->bucket[h & c->mask]; i != NIL; i = c->e[i].hnext) {
		const struct entry *x = &c->e[i];

		if (x->hash == h && memcmp(key_str[x->rank], key_str[rank], key_len[rank] + 1) == 0)
			return i;
	}
	return NIL;
}

static void hash_del(struct cache *c, uint32_t i)
{
	uint32_t *p = &c->bucket[c->e[i].hash & c->mask];

	while (*p != i)
		p = &c->e[*p].hnext;
	*p = c->e[i].hnext;
}

/* Remove entry @i from its tier and the hash table; back to the free list. */
static void cache_drop(struct cache *c, uint32_t i)
{
	lru_unlink(c, i);
	hash_del(c, i);
	c->e[i].rank = NIL;
	c->e[i].next = c->free;
	c->free = i;
}

static uint32_t checksum(const char *v, size_t n)
{
	return (uint32_t)fnv1a(v, n);
}

/* ------------------------------------------------------------ metrics */

struct metrics {
	shmstat_counter *hits[2][NMODELS], *misses[NMODELS];
	shmstat_counter *evictions[2][NMODELS], *corruptions[2][NMODELS];
	shmstat_hist *lookup, *write;
	shmstat_gauge *inflight, *entries[2];
	shmstat_sigtab *sigs;
	uint32_t owner[MAX_ACCOUNTS];
};

static const char *const tier_names[2] = { "t1", "t2" };

/* Report the first registration that failed; go on with no-op handles. */
static int reg_check(int rc, int *first)
{
	if (rc != 0 && *first == 0) {
		*first = rc;
		fprintf(stderr, "shmstat-cachesim: registration: %s\n", shmstat_last_error());
	}
	return rc;
}

/* The signature table's shape: a summary for every worker thread. */
static void sig_opts(struct shmstat_sigtab_opts *so)
{
	shmstat_sigtab_opts_init(so);
	so->capacity = cfg.sig_capacity;
	so->owners = (uint32_t)cfg.accounts;
	so->summaries = (uint32_t)(cfg.procs * cfg.threads);
	so->ttl_ns = 0;
}

static int register_all(shmstat_seg *seg, struct metrics *m)
{
	struct shmstat_metric_def def = { 0 };
	struct shmstat_sigtab_opts so;
	int rc = 0;

	for (int t = 0; t < 2; t++) {
		for (int md = 0; md < NMODELS; md++) {
			const char *lt[] = { "tier", tier_names[t], "model", model_names[md],
					     "pattern", pattern, NULL };
			const char *lm[] = { "model", model_names[md], "pattern", pattern, NULL };

			def.labels = lt;
			def.name = "cachesim_hits_total";
			def.help = "lookups served from the cache";
			reg_check(shmstat_counter_register(seg, &def, &m->hits[t][md]), &rc);
			def.name = "cachesim_evictions_total";
			def.help = "entries evicted (LRU) or expired (TTL)";
			reg_check(shmstat_counter_register(seg, &def, &m->evictions[t][md]), &rc);
			def.name = "cachesim_corruptions_total";
			def.help = "hits rejected by the corruption check";
			reg_check(shmstat_counter_register(seg, &def, &m->corruptions[t][md]), &rc);
			if (t == 0) {
				def.labels = lm;
				def.name = "cachesim_misses_total";
				def.help = "lookups that went upstream";
				reg_check(shmstat_counter_register(seg, &def, &m->misses[md]), &rc);
			}
		}
	}
	for (int t = 0; t < 2; t++) {
		const char *lt[] = { "tier", tier_names[t], NULL };

		def.labels = lt;
		def.name = "cachesim_cache_entries";
		def.help = "entries cached";
		reg_check(shmstat_gauge_register(seg, &def, SHMSTAT_AGG_LIVESUM, &m->entries[t]), &rc);
	}
	def.labels = NULL;
	def.name = "cachesim_inflight";
	def.help = "requests in flight";
	reg_check(shmstat_gauge_register(seg, &def, SHMSTAT_AGG_LIVESUM, &m->inflight), &rc);
	def.unit = "ns";
	def.name = "cachesim_lookup_duration";
	def.help = "cache lookup time";
	reg_check(shmstat_hist_register(seg, &def, NULL, &m->lookup), &rc);
	def.name = "cachesim_write_duration";
	def.help = "cache write time after a miss";
	reg_check(shmstat_hist_register(seg, &def, NULL, &m->write), &rc);
	def.unit = "micro_USD";      /* printed in USD (tools/units.h) */
	def.name = "cachesim_signatures";
	def.help = "conversations served from cache; weight: cost saved";
	sig_opts(&so);
	reg_check(shmstat_sigtab_register(seg, &def, &so, &m->sigs), &rc);
	for (int a = 0; a < cfg.accounts; a++) {
		char acct[16];

		snprintf(acct, sizeof(acct), "acct-%d", a + 1);
		reg_check(shmstat_sig_owner(m->sigs, acct, &m->owner[a]), &rc);
	}
	return rc;
}

/* ------------------------------------------------------------ workers */

struct tally {
	uint64_t requests, hits, misses, lookups, weight;
	uint64_t elapsed_ns;
	uint64_t cpu_ns;           /* of the serving threads */
	uint64_t acct[MAX_ACCOUNTS];
};

struct thread_ctx {
	struct cache *cache;
	struct metrics *m;
	struct tally tally;
	uint64_t rng;
	uint64_t end_ns;
};

static atomic_int threads_done;

static void busy_wait(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;

	while (mono_ns() < end)
		;
}

/* Fill @v with the "upstream response" for key @rank. */
static size_t make_value(char *v, size_t cap, uint32_t rank, uint64_t now)
{
	int n = snprintf(v, cap, "resp:%" PRIu32 ":%" PRIu64, rank, now);

	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void serve_one(struct thread_ctx *ctx, uint32_t rank)
{
	struct cache *c = ctx->cache;
	struct metrics *m = ctx->m;
	const int ins = cfg.instrument;  /* the switches, read once */
	const int sig = ins && cfg.sig;
	const unsigned md = rank % NMODELS;
	const unsigned acct = key_acct[rank];
	uint64_t now = coarse_ns(), t0 = 0;
	int hit = 0, tier = 0, corrupt = 0, expired = -1;
	uint32_t i;

	if (ins) {
		shmstat_gauge_add_inline(m->inflight, 1);
		t0 = cfg.sample > 1 ? shmstat_timer_start_sampled_inline(cfg.sample)
				    : shmstat_timer_start();
	}
	pthread_mutex_lock(&c->lock);
	i = hash_find(c, rank);
	if (i != NIL) {
		struct entry *x = &c->e[i];

		tier = x->tier;
		if (cfg.ttl_ns && now - x->born_ns > cfg.ttl_ns) {
			expired = tier;
			cache_drop(c, i);
		} else if (rand01(&ctx->rng) < cfg.corrupt ||
			   checksum(x->value, strlen(x->value)) != x->check) {
			corrupt = 1;
			cache_drop(c, i);
		} else {
			hit = 1;
			lru_unlink(c, i);
			lru_push(c, i, 0);
			if (c->tier[0].count > cfg.t1_size) {
				/* demote tier 1's least recent */
				uint32_t d = c->tier[0].tail;

				lru_unlink(c, d);
				lru_push(c, d, 1);
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (ins) {
		shmstat_timer_stop_inline(m->lookup, t0);
		if (t0)
			ctx->tally.lookups++;
	} else {
		ctx->tally.lookups++;
	}
	ctx->tally.requests++;

	if (hit) {
		ctx->tally.hits++;
		ctx->tally.weight += WEIGHT_PER_HIT;
		ctx->tally.acct[acct] += WEIGHT_PER_HIT;
		if (ins) {
			shmstat_counter_inc_inline(m->hits[tier][md]);
			/* the cache's own hash of the key: no second hash */
			if (sig)
				shmstat_sig_hit_hash(m->sigs, key_hash[rank], key_str[rank],
						     key_len[rank], WEIGHT_PER_HIT, m->owner[acct]);
			shmstat_gauge_sub_inline(m->inflight, 1);
		}
		return;
	}

	/* a miss: go upstream, then write the entry */
	ctx->tally.misses++;
	if (ins) {
		shmstat_counter_inc_inline(m->misses[md]);
		if (corrupt)
			shmstat_counter_inc_inline(m->corruptions[tier][md]);
		if (expired >= 0)
			shmstat_counter_inc_inline(m->evictions[expired][md]);
		if (sig)
			shmstat_sig_miss_hash(m->sigs, key_hash[rank], key_str[rank],
					      key_len[rank], m->owner[acct]);
	}
	if (cfg.upstream_ns)
		busy_wait(cfg.upstream_ns);
	{
		char v[48];
		size_t vn = make_value(v, sizeof(v), rank, now);
		int evicted = -1;
		unsigned evicted_md = 0;

		if (ins)
			t0 = cfg.sample > 1 ? shmstat_timer_start_sampled_inline(cfg.sample)
					    : shmstat_timer_start();
		pthread_mutex_lock(&c->lock);
		i = hash_find(c, rank);
		if (i == NIL) {
			if (c->free == NIL) {
				/* evict tier 2's least recent (tier 1 if empty) */
				int t = c->tier[1].tail != NIL ? 1 : 0;
				uint32_t d = c->tier[t].tail;

				evicted = t;
				evicted_md = c->e[d].rank % NMODELS;
				cache_drop(c, d);
			}
			i = c->free;
			c->free = c->e[i].next;
			c->e[i].rank = rank;
			c->e[i].hash = key_hash[rank];
			c->e[i].hnext = c->bucket[key_hash[rank] & c->mask];
			c->bucket[key_hash[rank] & c->mask] = i;
			lru_push(c, i, 1);
		} else {
			/* another thread wrote it meanwhile: refresh */
			lru_unlink(c, i);
			lru_push(c, i, 1);
		}
		memcpy(c->e[i].value, v, vn + 1);
		c->e[i].check = checksum(v, vn);
		c->e[i].born_ns = now;
		pthread_mutex_unlock(&c->lock);
		if (ins) {
			shmstat_timer_stop_inline(m->write, t0);
			if (evicted >= 0)
				shmstat_counter_inc_inline(m->evictions[evicted][evicted_md]);
			shmstat_gauge_sub_inline(m->inflight, 1);
		}
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *serve(void *arg)
{
	struct thread_ctx *ctx = arg;
	const uint64_t cpu0 = thread_cpu_ns();

	for (uint64_t n = 0;; n++) {
		if ((n & 255) == 0 && mono_ns() >= ctx->end_ns)
			break;
		if (cfg.requests && n >= cfg.requests)
			break;
		serve_one(ctx, zipf_draw(&ctx->rng));
	}
	ctx->tally.cpu_ns = thread_cpu_ns() - cpu0;
	atomic_fetch_add(&threads_done, 1);
	return NULL;
}

static int run_worker(int id, int out_fd)
{
	struct thread_ctx ctx[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	struct metrics m;
	struct cache c;
	struct tally total;
	shmstat_seg *seg = NULL;
	const int threads = cfg.threads;   /* every thread started is joined */
	uint64_t start, end;
	char line[4096];
	size_t len;

	memset(&m, 0, sizeof(m));
	memset(&total, 0, sizeof(total));
	if (cache_init(&c, cfg.cache_size) != 0) {
		fprintf(stderr, "shmstat-cachesim: out of memory\n");
		return 1;
	}
	if (cfg.instrument) {
		if (shmstat_open(cfg.name, NULL, &seg) != 0) {
			fprintf(stderr, "shmstat-cachesim: %s\n", shmstat_last_error());
			return 1;
		}
		register_all(seg, &m);
		/* profiling: a failure is reported, the service goes on */
		if (cfg.profile_hz && shmstat_profiler_start(seg, cfg.profile_hz) != 0)
			fprintf(stderr, "shmstat-cachesim: %s\n", shmstat_last_error());
		if (cfg.latency_stacks && shmstat_profiler_latency(seg, cfg.latency_stacks) != 0)
			fprintf(stderr, "shmstat-cachesim: %s\n", shmstat_last_error());
	}
	start = mono_ns();
	end = start + (uint64_t)(cfg.duration * 1e9);
	for (int t = 0; t < threads; t++) {
		memset(&ctx[t], 0, sizeof(ctx[t]));
		ctx[t].cache = &c;
		ctx[t].m = &m;
		ctx[t].end_ns = end;
		ctx[t].rng = cfg.seed * 0x9e3779b97f4a7c15ull ^
			     ((uint64_t)id << 32 | (uint64_t)t) * 0xd1b54a32d192ed03ull;
		splitmix64(&ctx[t].rng);
		if (pthread_create(&tid[t], NULL, serve, &ctx[t]) != 0) {
			fprintf(stderr, "shmstat-cachesim: pthread_create failed\n");
			return 1;
		}
	}
	/* this thread reports the cache size and says alive */
	while (atomic_load(&threads_done) < threads) {
		struct timespec ts = { 0, 50000000 };

		if (cfg.instrument) {
			uint32_t n1, n2;

			pthread_mutex_lock(&c.lock);
			n1 = c.tier[0].count;
			n2 = c.tier[1].count;
			pthread_mutex_unlock(&c.lock);
			shmstat_gauge_set(m.entries[0], n1);
			shmstat_gauge_set(m.entries[1], n2);
			shmstat_heartbeat(seg);
		}
		nanosleep(&ts, NULL);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		total.requests += ctx[t].tally.requests;
		total.hits += ctx[t].tally.hits;
		total.misses += ctx[t].tally.misses;
		total.lookups += ctx[t].tally.lookups;
		total.weight += ctx[t].tally.weight;
		total.cpu_ns += ctx[t].tally.cpu_ns;
		for (int a = 0; a < cfg.accounts; a++)
			total.acct[a] += ctx[t].tally.acct[a];
	}
	total.elapsed_ns = mono_ns() - start;
	if (cfg.instrument && cfg.profile_hz) {
		struct shmstat_profiler_info pi;

		/* what the profiler costs this process in memory and timers */
		if (shmstat_profiler_info(&pi) == 0)
			printf("profile pid=%d unwind_bytes=%" PRIu64 " unwind_modules=%" PRIu32
			       " unwind_rows=%" PRIu32 " thread_timers=%" PRIu32 "\n",
			       (int)getpid(), pi.unwind_bytes, pi.unwind_modules, pi.unwind_rows,
			       pi.thread_timers);
	}
	if (cfg.instrument) {
		shmstat_gauge_set(m.entries[0], c.tier[0].count);
		shmstat_gauge_set(m.entries[1], c.tier[1].count);
		shmstat_close(seg);
	}
	len = (size_t)snprintf(line, sizeof(line),
			       "tally pid=%d requests=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
			       " lookups=%" PRIu64 " weight=%" PRIu64,
			       (int)getpid(), total.requests, total.hits, total.misses,
			       total.lookups, total.weight);
	for (int a = 0; a < cfg.accounts && len < sizeof(line) - 64; a++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " acct-%d=%" PRIu64, a + 1,
					total.acct[a]);
	printf("%s\n", line);
	fflush(stdout);
	/* the parent sums the binary tallies: one write, smaller than PIPE_BUF */
	if (write(out_fd, &total, sizeof(total)) != (ssize_t)sizeof(total))
		return 1;
	return 0;
}

/* ------------------------------------------------------------ main */

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end ? -1 : 0;
}

static int parse_args(int argc, char **argv)
{
	enum { O_REQ = 256, O_SEED, O_KEYS, O_ZIPF, O_CACHE, O_TTL, O_CORRUPT, O_UP, O_ACCT,
	       O_SAMPLE, O_SIGCAP, O_NOINS, O_NOSIG, O_RM, O_PROF, O_LATST };
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, O_REQ },
		{ "seed", required_argument, NULL, O_SEED },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "zipf", required_argument, NULL, O_ZIPF },
		{ "cache-size", required_argument, NULL, O_CACHE },
		{ "ttl-ms", required_argument, NULL, O_TTL },
		{ "corrupt", required_argument, NULL, O_CORRUPT },
		{ "upstream-us", required_argument, NULL, O_UP },
		{ "accounts", required_argument, NULL, O_ACCT },
		{ "sample", required_argument, NULL, O_SAMPLE },
		{ "sig-capacity", required_argument, NULL, O_SIGCAP },
		{ "no-instrument", no_argument, NULL, O_NOINS },
		{ "no-sig", no_argument, NULL, O_NOSIG },
		{ "profile", required_argument, NULL, O_PROF },
		{ "latency-stacks", required_argument, NULL, O_LATST },
		{ "rm", no_argument, NULL, O_RM },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "n:p:t:d:kh", opts, NULL)) != -1) {
		uint64_t u = 0;
		double d = 0;
		int bad = 0;

		switch (ch) {
		case 'n': cfg.name = optarg; break;
		case 'p': bad = parse_u64(optarg, &u) || u < 1 || u > MAX_PROCS; cfg.procs = (int)u; break;
		case 't': bad = parse_u64(optarg, &u) || u < 1 || u > MAX_THREADS; cfg.threads = (int)u; break;
		case 'd': bad = parse_double(optarg, &d) || !(d > 0 && d <= 86400); cfg.duration = d; break;
		case O_REQ: bad = parse_u64(optarg, &cfg.requests); break;
		case O_SEED: bad = parse_u64(optarg, &cfg.seed); break;
		case O_KEYS: bad = parse_u64(optarg, &u) || u < 1 || u > 100000000; cfg.keys = (uint32_t)u; break;
		case O_ZIPF: bad = parse_double(optarg, &d) || !(d >= 0 && d <= 10); cfg.zipf = d; break;
		case O_CACHE: bad = parse_u64(optarg, &u) || u < 2 || u > 100000000; cfg.cache_size = (uint32_t)u; break;
		case O_TTL: bad = parse_u64(optarg, &u) || u > 86400000; cfg.ttl_ns = u * 1000000ull; break;
		case O_CORRUPT: bad = parse_double(optarg, &d) || !(d >= 0 && d <= 1); cfg.corrupt = d; break;
		case O_UP: bad = parse_u64(optarg, &u) || u > 1000000; cfg.upstream_ns = u * 1000ull; break;
		case O_ACCT: bad = parse_u64(optarg, &u) || u < 1 || u > MAX_ACCOUNTS; cfg.accounts = (int)u; break;
		case O_SAMPLE: bad = parse_u64(optarg, &u) || u < 1 || u > 1000000; cfg.sample = (uint32_t)u; break;
		case O_SIGCAP:
			bad = parse_u64(optarg, &u) || u < 1 || u > (1u << 20);
			cfg.sig_capacity = (uint32_t)u;
			break;
		case O_NOINS: cfg.instrument = 0; break;
		case O_NOSIG: cfg.sig = 0; break;
		case O_PROF: bad = parse_u64(optarg, &u) || u > 1000; cfg.profile_hz = (uint32_t)u; break;
		case O_LATST:
			bad = parse_u64(optarg, &u) || u > 1000000000u;
			cfg.latency_stacks = (uint32_t)u;
			break;
		case O_RM: cfg.rm = 1; break;
		case 'k': cfg.rm = 0; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); return -1;
		}
		if (bad) {
			/* name the option: the long one, or the short letter */
			for (int k = 0; opts[k].name; k++)
				if (opts[k].val == ch) {
					fprintf(stderr, "shmstat-cachesim: bad value '%s' for --%s (see --help)\n",
						optarg, opts[k].name);
					break;
				}
			return -1;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return -1;
	}
	if (shmstat_valid_name(cfg.name) != 0) {
		fprintf(stderr, "shmstat-cachesim: invalid segment name '%s'\n", cfg.name);
		return -1;
	}
	cfg.t1_size = cfg.cache_size / 8 ? cfg.cache_size / 8 : 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct tally sum, t;
	pid_t pids[MAX_PROCS];
	int pfd[2], rc = 0, got = 0;
	char line[4096];
	size_t len;
	double secs = 0;

	if (parse_args(argc, argv) != 0)
		return 2;
	if (build_keys() != 0) {
		fprintf(stderr, "shmstat-cachesim: out of memory\n");
		return 1;
	}
	if (cfg.instrument) {
		/* create the segment with room for everything, then let go */
		struct shmstat_sigtab_opts so;
		struct shmstat_opts o;
		shmstat_seg *seg;

		shmstat_opts_init(&o);
		o.max_procs = (uint32_t)cfg.procs + 8;
		o.max_threads = (uint32_t)(cfg.procs * (cfg.threads + 1)) + 8;
		o.max_metrics = 256;
		o.max_values = 8192;
		sig_opts(&so);
		o.sig_bytes = shmstat_sigtab_bytes(&so);
		if (shmstat_open(cfg.name, &o, &seg) != 0) {
			fprintf(stderr, "shmstat-cachesim: %s\n", shmstat_last_error());
			return 1;
		}
		shmstat_close(seg);
	}
	if (pipe(pfd) != 0) {
		perror("shmstat-cachesim: pipe");
		return 1;
	}
	fflush(stdout);
	for (int i = 0; i < cfg.procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(pfd[0]);
			_exit(run_worker(i, pfd[1]));
		}
		if (pids[i] < 0) {
			perror("shmstat-cachesim: fork");
			rc = 1;
		}
	}
	close(pfd[1]);
	memset(&sum, 0, sizeof(sum));
	while (read(pfd[0], &t, sizeof(t)) == (ssize_t)sizeof(t)) {
		sum.requests += t.requests;
		sum.hits += t.hits;
		sum.misses += t.misses;
		sum.lookups += t.lookups;
		sum.weight += t.weight;
		sum.cpu_ns += t.cpu_ns;
		for (int a = 0; a < cfg.accounts; a++)
			sum.acct[a] += t.acct[a];
		secs += (double)t.elapsed_ns / 1e9;
		got++;
	}
	close(pfd[0]);
	for (int i = 0; i < cfg.procs; i++) {
		int st;

		if (pids[i] > 0 && (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
				    WEXITSTATUS(st) != 0))
			rc = 1;
	}
	if (got != cfg.procs)
		rc = 1;
	len = (size_t)snprintf(line, sizeof(line),
			       "tally total requests=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
			       " lookups=%" PRIu64 " weight=%" PRIu64,
			       sum.requests, sum.hits, sum.misses, sum.lookups, sum.weight);
	for (int a = 0; a < cfg.accounts && len < sizeof(line) - 64; a++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " acct-%d=%" PRIu64, a + 1,
					sum.acct[a]);
	printf("%s\n", line);
	printf("tally top=%s\n", key_str[0]);
	/* requests per second: total over the mean serving time of a worker */
	printf("tally rate=%.0f\n", got ? (double)sum.requests / (secs / got) : 0.0);
	printf("tally cpu_ns=%" PRIu64 "\n", sum.cpu_ns);
	if (cfg.instrument && cfg.rm)
		shmstat_unlink(cfg.name);
	return rc;
}
