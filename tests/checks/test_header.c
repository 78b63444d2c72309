/* The public header compiles alone (C11 here, C++ in test_header.cc). */
#include <shmstat.h>

int main(void)
{
	struct shmstat_opts o;

	shmstat_opts_init(&o);
	return o.max_procs > 0 ? 0 : 1;
}
