/*
 * test_hugemem.c - the reader's large arrays and huge-page advice
 * (util.c): shmstat__advise_huge_in() advises exactly the 2 MiB pages a
 * span touches, cut to its bounds and to whole pages (an unaligned bound
 * once made madvise fail with EINVAL, silently); spans under 1 MiB get
 * nothing; shmstat__map_array() gives zeros, in whole advised huge pages
 * from 1 MiB on, and shmstat__regrow_array() keeps what was there.
 * Checked in /proc/self/smaps, where the advice splits the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ut_common.h"
#include "util.h"

#define MIB ((size_t)1 << 20)
#define HUGE (2 * MIB)

/* A mapping of @n bytes that starts on a huge page, small pages advised */
static unsigned char *aligned_map(size_t n, unsigned char **raw, size_t *rawlen)
{
	unsigned char *p;
	uintptr_t a;

	*rawlen = n + HUGE;
	*raw = mmap(NULL, *rawlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(*raw != MAP_FAILED);
	a = ((uintptr_t)*raw + HUGE - 1) / HUGE * HUGE;
	p = *raw + (a - (uintptr_t)*raw);
	assert_int_equal(madvise(p, n, MADV_NOHUGEPAGE), 0);
	return p;
}

/* The advised part of [@p, @p + @n), from smaps, as offsets: *@from to
 * *@to (both 0: none); -1 if it is not one stretch. */
static int advised(const unsigned char *p, size_t n, size_t *from, size_t *to)
{
	const uintptr_t b = (uintptr_t)p, e = b + n;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[1024];
	unsigned long vs = 0, ve = 0;
	int gaps = 0, any = 0;

	assert_non_null(f);
	*from = *to = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, z;

		if (sscanf(line, "%lx-%lx ", &a, &z) == 2) {
			vs = a;
			ve = z;
		} else if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " hg") != NULL &&
			   ve > b && vs < e) {
			const uintptr_t lo = vs > b ? vs : b, hi = ve < e ? ve : e;

			if (any && lo != b + *to)
				gaps++;
			if (!any)
				*from = lo - b;
			*to = hi - b;
			any = 1;
		}
	}
	fclose(f);
	return gaps ? -1 : 0;
}

static void check_span(size_t off, size_t n, size_t lo, size_t hi, size_t want_from,
		       size_t want_to)
{
	unsigned char *raw, *p;
	size_t rawlen, from, to;

	p = aligned_map(8 * MIB, &raw, &rawlen);
	shmstat__advise_huge_in(p + off, n, p + lo, p + hi);
	assert_int_equal(advised(p, 8 * MIB, &from, &to), 0);
	if (from != want_from || to != want_to)
		fail_msg("span %zu+%zu in [%zu, %zu): advised [%zu, %zu), not [%zu, %zu)", off, n,
			 lo, hi, from, to, want_from, want_to);
	munmap(raw, rawlen);
}

static void test_advise_in(void **state)
{
	(void)state;
	/* inside one huge page: that page */
	check_span(MIB / 2, MIB, 0, 8 * MIB, 0, HUGE);
	/* across a boundary: both pages */
	check_span(HUGE - MIB / 2, MIB, 0, 8 * MIB, 0, 2 * HUGE);
	/* cut to the bounds, the lower one rounded up to a whole page (an
	 * unaligned start is EINVAL), the upper one where it is */
	check_span(HUGE + 5000, MIB, HUGE + 100, HUGE + 3 * MIB / 2 + 8, HUGE + 4096,
		   HUGE + 3 * MIB / 2 + 4096);
	/* a bound inside the span's first page: nothing before it */
	check_span(3 * HUGE - 4096, 2 * MIB, 3 * HUGE - 8192, 8 * MIB, 3 * HUGE - 8192, 4 * HUGE);
	/* under 1 MiB: nothing */
	check_span(0, MIB - 1, 0, 8 * MIB, 0, 0);
	/* a span not within its bounds: nothing */
	check_span(MIB, 2 * MIB, 2 * MIB, 8 * MIB, 0, 0);
}

static void check_array(size_t n)
{
	unsigned char *p = shmstat__map_array(n), *q;
	size_t from, to;

	assert_non_null(p);
	for (size_t i = 0; i < n; i += 4093)
		assert_int_equal(p[i], 0);
	assert_int_equal(p[n - 1], 0);
	if (n >= MIB) {
		/* its own mapping, whole huge pages, all advised */
		assert_int_equal((uintptr_t)p % HUGE, 0);
		assert_int_equal(advised(p, n, &from, &to), 0);
		assert_int_equal(from, 0);
		assert_int_equal(to, n);
	}
	memset(p, 0xa5, n);
	q = shmstat__regrow_array(p, n, 3 * n + 7);
	assert_non_null(q);
	for (size_t i = 0; i < n; i += 997)
		assert_int_equal(q[i], 0xa5);
	assert_int_equal(q[n - 1], 0xa5);
	memset(q + n, 0x5a, 2 * n + 7);      /* all of it ours to write */
	shmstat__unmap_array(q, 3 * n + 7);
	shmstat__unmap_array(NULL, n);
}

static void test_arrays(void **state)
{
	(void)state;
	check_array(1);
	check_array(4096 * 3 + 5);
	check_array(MIB / 2 - 1);          /* grows past 1 MiB: calloc to mapping */
	check_array(MIB);
	check_array(5 * MIB + 3);
	assert_null(shmstat__map_array(SIZE_MAX - 5));
	assert_null(shmstat__regrow_array(NULL, 0, SIZE_MAX - 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_advise_in),
		cmocka_unit_test(test_arrays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
