/*
 * dlapi.h - an optional library loaded when a command first needs it
 * (dlopen), into a table of pointers to its functions: libmicrohttpd for
 * serve (cmd/mhd.c), libdw for the symbolizer (symbolize/dw.c). Linked,
 * each would be loaded by every command at start.
 */
#ifndef SHMSTAT_DLAPI_H
#define SHMSTAT_DLAPI_H

#include <stddef.h>

/* A function of the library, and where its pointer goes in the table */
struct dlapi_fn {
	const char *name;
	size_t at;                 /* offsetof() in the table */
};

/* Load @soname (of Debian package @package) and put the address of each
 * of @fn's @nfn functions in @table: 0, or -1 with why in @why (@n
 * bytes): "cannot load SONAME (package PACKAGE): ..." or "SONAME has no
 * FUNCTION" (the library is then unloaded). */
int dlapi_load(const char *soname, const char *package, const struct dlapi_fn *fn, size_t nfn,
	       void *table, char *why, size_t n);

#endif
