/*
 * prof_samples.h - for the profiler's single-program tests: the CPU
 * samples (kept and dropped) segment NAME holds now.
 */
#ifndef PROF_SAMPLES_H
#define PROF_SAMPLES_H

#include <stdint.h>

/* Exits 1 with the library's message when the profile cannot be read. */
uint64_t prof_cpu_samples(const char *name);

#endif
