/*
 * version.h - the release, for shmstat_version() (util.c). It must equal
 * the project's version in meson.build, which checks it at setup; it is
 * a file of its own (not generated) so that every build of the sources,
 * the fuzzers' too (tests/fuzz/run.sh), has it.
 */
#ifndef SHMSTAT_VERSION_H
#define SHMSTAT_VERSION_H

#define SHMSTAT_RELEASE "0.1.0"

#endif
