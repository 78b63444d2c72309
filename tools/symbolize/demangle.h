/*
 * demangle.h - C++ symbol names made readable for the symbolizer
 * (symbolize.c), with libiberty's demangler (package libiberty-dev,
 * linked statically: nothing loaded at start).
 *
 * The names come from files a profiled writer loaded, so from anyone who
 * can write such a file: the demangler is bounded. Its output can grow
 * exponentially with its input (each back-reference may repeat a whole
 * earlier type: a 279-byte name demangles to 436 MB, 11.6 s in
 * __cxa_demangle on the project's machine), so the callback form is used
 * and stopped once the output passes DEMANGLE_MAX bytes; and the
 * demangler keeps a work array on its stack in proportion to the input,
 * so names longer than DEMANGLE_MAX_IN are not tried (Debian's 2023
 * libiberty and libstdc++ refuse them too). Either way, and for anything
 * that is not a valid Itanium C++ ABI name, the symbol stays as it is.
 */
#ifndef SHMSTAT_DEMANGLE_H
#define SHMSTAT_DEMANGLE_H

#include <stddef.h>

/* Longest name tried, and longest result kept (bytes, without the NUL) */
#define DEMANGLE_MAX_IN 1024
#define DEMANGLE_MAX 8191

/* @sym (@len bytes, not NUL-terminated) demangled into @out (at least
 * DEMANGLE_MAX + 1 bytes): its length, or 0 when it stays as it is (not
 * "_Z...", too long, invalid, or its result too long). */
size_t demangle(const char *sym, size_t len, char *out);

#endif
