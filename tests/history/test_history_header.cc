// shmstat_history.h compiles alone as C++11.
#include <shmstat_history.h>

int main()
{
	struct shmstat_history_opts o;

	shmstat_history_opts_init(&o);
	return o.ntiers == 3 && o.max_bytes == 64u * 1024 * 1024 ? 0 : 1;
}
