/*
 * bigmem.h - memory for the large arrays a command fills once (a sort's
 * keys, a value per metric).
 *
 * Fresh pages cost a fault each when first written: about 1,600 faults
 * for the sort of 100,000 names, a tenth of a show --json of them on a
 * virtual machine where a fault costs 1-3 us. Arrays of 1 MiB and more
 * are mapped on their own, rounded up to whole 2 MiB pages and advised
 * huge (one fault for 512 pages where the kernel has them); smaller ones
 * come from malloc. For arrays mostly written: a huge page is zeroed
 * whole at its first write.
 */
#ifndef SHMSTAT_BIGMEM_H
#define SHMSTAT_BIGMEM_H

#include <stddef.h>

/* @n bytes (at least 1), uninitialised; NULL when out of memory. */
void *big_alloc(size_t n);

/* Give back @p (NULL: nothing) of big_alloc(@n), @n the same. */
void big_free(void *p, size_t n);

#endif
