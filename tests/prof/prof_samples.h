/*
 * prof_samples.h - for the profiler's single-program tests: the CPU
 * samples (kept and dropped) segment NAME holds now.
 */
#ifndef PROF_SAMPLES_H
#define PROF_SAMPLES_H

#include <stdint.h>

/* Exits 1 with the library's message when the profile cannot be read. */
uint64_t prof_cpu_samples(const char *name);

/* The samples and weight of the CPU stacks of segment @name that hold a
 * frame of function @fn (named by dladdr(): the program exports it), and
 * of all CPU stacks (@all_samples, when not NULL). Exits 1 when the
 * profile cannot be read. */
void prof_fn_cpu(const char *name, const char *fn, uint64_t *samples, uint64_t *weight,
		 uint64_t *all_samples);

/* `@tool flame @name`, each folded line's innermost frame and count given
 * to @fn; exits 1 when the command cannot run or fails. */
void prof_flame_leaves(const char *tool, const char *name,
		       void (*fn)(const char *leaf, uint64_t n, void *arg), void *arg);

#endif
