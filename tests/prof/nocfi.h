/* nocfi.h - a qsort callback without unwind tables (nocfi.c) */
#ifndef SHMSTAT_TEST_NOCFI_H
#define SHMSTAT_TEST_NOCFI_H

int nocfi_cmp(const void *a, const void *b);

#endif
