/*
 * mhd.c - libmicrohttpd loaded by `shmstat serve` (mhd.h), and how the
 * request's path and query are decoded.
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

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t mhd_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	(void)cls;
	(void)c;
	for (const char *r = s; *r;) {
		int hi = r[0] == '%' ? hex(r[1]) : -1, lo = hi >= 0 ? hex(r[2]) : -1;

		if (lo >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
