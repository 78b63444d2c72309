/*
 * reload_plugin.c - the two plugins of test_reload.c, built from this
 * file with -DRELOAD_A and without: the same code and sizes, so that the
 * second, loaded after the first was unloaded, lands where the first
 * was. The hot function (where the samples fall) is the first of the
 * two in A and the second in B, so an address tells the two apart.
 */
#ifdef RELOAD_A
#define FIRST hot_a
#define SECOND cold_a
#define HOT hot_a
#else
#define FIRST cold_b
#define SECOND hot_b
#define HOT hot_b
#endif

unsigned long FIRST(unsigned long n);
unsigned long SECOND(unsigned long n);
unsigned long work(unsigned long n);

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long FIRST(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i * 3;
	return sink;
}

__attribute__((noinline)) unsigned long SECOND(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i * 3;
	return sink;
}

unsigned long work(unsigned long n)
{
	return HOT(n);
}
