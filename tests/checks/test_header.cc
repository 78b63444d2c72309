/* The public headers compile alone (C11 here, C++11 in test_header.cc). */
#include <shmstat.h>
#include <shmstat_inline.h>
#include <shmstat_profile.h>

int main(void)
{
	struct shmstat_opts o;

	shmstat_opts_init(&o);
	return o.max_procs > 0 ? 0 : 1;
}
