/*
 * test_dlclose.c - libshmstat.so loaded with dlopen() by a plugin host and
 * unloaded with dlclose() while threads that counted through it still
 * run: they exit after the dlclose() (their thread-exit destructor is the
 * library's) and nothing is lost. Without -z nodelete the first of them
 * to exit died of SIGSEGV in the unmapped destructor (status 139).
 *
 * Round 1 closes the segment before the dlclose(), round 2 does not (the
 * attachment stays until the process exits). Then the library is loaded
 * again, and a snapshot must show both rounds' counts, exactly.
 *
 * Usage: test_dlclose PATH-OF-libshmstat.so
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"

#define THREADS 4
#define PER_THREAD 1000u

static void (*add)(shmstat_counter *, uint64_t);
static shmstat_counter *counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int counted, released;

static void *thread(void *unused)
{
	(void)unused;
	for (unsigned i = 0; i < PER_THREAD; i++)
		add(counter, 1);
	pthread_mutex_lock(&lock);
	counted++;
	pthread_cond_broadcast(&cond);
	while (!released)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;      /* runs the library's thread-exit destructor */
}

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (p == NULL) {
		fprintf(stderr, "test_dlclose: no %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static void round_(const char *lib, const char *seg_name, int do_close)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	int (*open_)(const char *, const struct shmstat_opts *, shmstat_seg **);
	int (*close_)(shmstat_seg *);
	int (*reg)(shmstat_seg *, const struct shmstat_metric_def *, shmstat_counter **);
	const struct shmstat_metric_def def = { .name = "dlclose_total" };
	pthread_t t[THREADS];
	shmstat_seg *seg;

	if (h == NULL) {
		fprintf(stderr, "test_dlclose: %s\n", dlerror());
		exit(1);
	}
	open_ = (int (*)(const char *, const struct shmstat_opts *, shmstat_seg **))sym(h, "shmstat_open");
	close_ = (int (*)(shmstat_seg *))sym(h, "shmstat_close");
	reg = (int (*)(shmstat_seg *, const struct shmstat_metric_def *,
		       shmstat_counter **))sym(h, "shmstat_counter_register");
	add = (void (*)(shmstat_counter *, uint64_t))sym(h, "shmstat_counter_add");
	if (open_(seg_name, NULL, &seg) != 0 || reg(seg, &def, &counter) != 0) {
		fprintf(stderr, "test_dlclose: open or register failed\n");
		exit(1);
	}
	counted = released = 0;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, thread, NULL);
	pthread_mutex_lock(&lock);
	while (counted < THREADS)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	if (do_close)
		close_(seg);
	if (dlclose(h) != 0) {
		fprintf(stderr, "test_dlclose: dlclose: %s\n", dlerror());
		exit(1);
	}
	pthread_mutex_lock(&lock);
	released = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	char name[64];
	void *h;
	int (*ropen)(const char *, shmstat_reader **);
	int (*snap)(shmstat_reader *, shmstat_snap **);
	size_t (*nmetrics)(const shmstat_snap *);
	int (*metric)(const shmstat_snap *, size_t, struct shmstat_metric_info *);
	int (*unlink_)(const char *);
	shmstat_reader *r;
	shmstat_snap *s;
	struct shmstat_metric_info m;
	uint64_t total = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_dlclose LIBRARY\n");
		return 2;
	}
	snprintf(name, sizeof(name), "stress-dlclose-%d", (int)getpid());
	round_(argv[1], name, 1);
	round_(argv[1], name, 0);

	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "test_dlclose: %s\n", dlerror());
		return 1;
	}
	ropen = (int (*)(const char *, shmstat_reader **))sym(h, "shmstat_reader_open");
	snap = (int (*)(shmstat_reader *, shmstat_snap **))sym(h, "shmstat_snapshot");
	nmetrics = (size_t (*)(const shmstat_snap *))sym(h, "shmstat_snap_metrics");
	metric = (int (*)(const shmstat_snap *, size_t, struct shmstat_metric_info *))
		sym(h, "shmstat_snap_metric");
	unlink_ = (int (*)(const char *))sym(h, "shmstat_unlink");
	if (ropen(name, &r) != 0 || snap(r, &s) != 0) {
		fprintf(stderr, "test_dlclose: cannot read segment %s\n", name);
		unlink_(name);
		return 1;
	}
	for (size_t i = 0; i < nmetrics(s); i++)
		if (metric(s, i, &m) == 0 && strcmp(m.name, "dlclose_total") == 0)
			total = m.counter;
	unlink_(name);
	if (total != 2u * THREADS * PER_THREAD) {
		fprintf(stderr, "test_dlclose: total %llu, expected %u\n",
			(unsigned long long)total, 2u * THREADS * PER_THREAD);
		return 1;
	}
	printf("ok: %llu counted across two dlclose()s\n", (unsigned long long)total);
	return 0;
}
