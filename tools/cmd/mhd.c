/*
 * mhd.c - libmicrohttpd loaded by `shmstat serve` (mhd.h).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mhd.h"

struct mhd_api mhd;

int mhd_load(char *why, size_t n)
{
	static const struct {
		const char *name;
		size_t at;         /* its pointer in struct mhd_api */
	} fn[] = {
#define FN(f) { "MHD_" #f, offsetof(struct mhd_api, f) }
		FN(start_daemon), FN(stop_daemon), FN(get_daemon_info),
		FN(get_connection_info), FN(get_connection_values),
		FN(lookup_connection_value), FN(create_response_from_buffer),
		FN(create_response_from_callback), FN(add_response_header),
		FN(queue_response), FN(destroy_response),
#undef FN
	};
	void *lib = dlopen(SHMSTAT_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL) {
		snprintf(why, n, "cannot load %s (package libmicrohttpd12): %s", SHMSTAT_MHD_SONAME,
			 dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
		void *f = dlsym(lib, fn[i].name);

		if (f == NULL) {
			snprintf(why, n, "%s has no %s", SHMSTAT_MHD_SONAME, fn[i].name);
			dlclose(lib);
			return -1;
		}
		/* POSIX: a function's address as dlsym() returns it */
		memcpy((char *)&mhd + fn[i].at, &f, sizeof(f));
	}
	return 0;
}
