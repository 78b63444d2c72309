/*
 * prof_samples.h - for the profiler's single-program tests: the CPU
 * samples (kept and dropped) segment NAME holds now.
 */
#ifndef PROF_SAMPLES_H
#define PROF_SAMPLES_H

#include <stdint.h>

/* Exits 1 with the library's message when the profile cannot be read. */
uint64_t prof_cpu_samples(const char *name);

/* `@tool flame @name`, each folded line's innermost frame and count given
 * to @fn; exits 1 when the command cannot run or fails. */
void prof_flame_leaves(const char *tool, const char *name,
		       void (*fn)(const char *leaf, uint64_t n, void *arg), void *arg);

#endif
