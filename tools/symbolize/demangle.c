/*
 * demangle.c - bounded C++ demangling (demangle.h).
 *
 * cplus_demangle_v3_callback() hands the result out in pieces and keeps
 * its own state on the stack (no malloc, no lock), so a result that grows
 * past the limit is abandoned by a longjmp out of the callback: nothing
 * to free, and the time spent is bounded by the bytes kept.
 */
#include <setjmp.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "demangle.h"

struct sink {
	char *out;
	size_t n;
	jmp_buf full;
};

static void put(const char *s, size_t len, void *arg)
{
	struct sink *k = arg;

	if (len > DEMANGLE_MAX - k->n)
		longjmp(k->full, 1);
	memcpy(k->out + k->n, s, len);
	k->n += len;
}

size_t demangle(const char *sym, size_t len, char *out)
{
	char in[DEMANGLE_MAX_IN + 1];
	struct sink k = { .out = out };

	if (len < 3 || len > DEMANGLE_MAX_IN || sym[0] != '_' || sym[1] != 'Z' ||
	    memchr(sym, '\0', len) != NULL)
		return 0;
	memcpy(in, sym, len);
	in[len] = '\0';
	if (setjmp(k.full) != 0)
		return 0;
	if (!cplus_demangle_v3_callback(in, DMGL_PARAMS | DMGL_ANSI, put, &k) || k.n == 0)
		return 0;
	out[k.n] = '\0';
	return k.n;
}
