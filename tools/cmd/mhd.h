/*
 * mhd.h - libmicrohttpd for `shmstat serve`, loaded when serve starts
 * (mhd.c), not when any command starts.
 *
 * Linked, libmicrohttpd brought GnuTLS and eight more libraries into
 * every command: their loading and constructors took 1.5 ms of each
 * start (a C program linked with it alone: 0.38 -> 1.86 ms of CPU), a
 * quarter of a `show` of a small segment. serve calls the library
 * through this table; the types are the library's own, from its header.
 */
#ifndef SHMSTAT_MHD_H
#define SHMSTAT_MHD_H

#include <stddef.h>
#include <microhttpd.h>

/* The library's name as Debian's libmicrohttpd12 installs it (its ABI
 * since 0.9.44) */
#define SHMSTAT_MHD_SONAME "libmicrohttpd.so.12"

struct mhd_api {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_get_daemon_info) get_daemon_info;
	__typeof__(&MHD_get_connection_info) get_connection_info;
	__typeof__(&MHD_get_connection_values) get_connection_values;
	__typeof__(&MHD_lookup_connection_value) lookup_connection_value;
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_create_response_from_callback) create_response_from_callback;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_set_response_options) set_response_options;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
};

/* The library's functions, once mhd_load() returned 0 */
extern struct mhd_api mhd;

/* Load libmicrohttpd (SHMSTAT_MHD_SONAME): 0, or -1 with why in @why
 * (@n bytes). */
int mhd_load(char *why, size_t n);

/* MHD_OPTION_UNESCAPE_CALLBACK: %HH decoded as libmicrohttpd's own
 * decoder does (a % not followed by two hex digits is kept as it is),
 * but %00, kept as the text "%00": a NUL ends the C string the handler
 * is given, and "/metrics%00x" was /metrics, "segment=a%00b" segment a,
 * "n=1%00x" n=1. Left whole, each names what no path or parameter is. */
size_t mhd_unescape(void *cls, struct MHD_Connection *c, char *s);

#endif
