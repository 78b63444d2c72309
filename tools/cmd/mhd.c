/*
 * mhd.c - libmicrohttpd loaded by `shmstat serve` (mhd.h).
 */
#include <stddef.h>

#include "dlapi.h"
#include "mhd.h"

struct mhd_api mhd;

int mhd_load(char *why, size_t n)
{
	static const struct dlapi_fn fn[] = {
#define FN(f) { "MHD_" #f, offsetof(struct mhd_api, f) }
		FN(start_daemon), FN(stop_daemon), FN(get_daemon_info),
		FN(get_connection_info), FN(get_connection_values),
		FN(lookup_connection_value), FN(create_response_from_buffer),
		FN(create_response_from_callback), FN(add_response_header),
		FN(set_response_options), FN(queue_response), FN(destroy_response),
#undef FN
	};

	return dlapi_load(SHMSTAT_MHD_SONAME, "libmicrohttpd12", fn, sizeof(fn) / sizeof(fn[0]),
			  &mhd, why, n);
}
