/*
 * bigmem.h - memory for the large arrays a command fills once (a sort's
 * keys, a value per metric).
 *
 * Fresh pages cost a fault each when first written: about 1,600 faults
 * for the sort of 100,000 names, some 4 ms of a show --json of them on
 * the 2-CPU virtual machine we measure on (2.7 us a small page's first
 * write, 0.2-0.4 us per 4 KiB of a huge page's). Arrays of 1 MiB and
 * more are mapped on their own, rounded up to whole 2 MiB pages and
 * advised huge (one fault for 512 pages where the kernel has them; the
 * kernel aligns such mappings since 6.7, before only their aligned inner
 * part can be huge); smaller ones come from malloc. For arrays mostly
 * written: a huge page is zeroed whole at its first write.
 */
#ifndef SHMSTAT_BIGMEM_H
#define SHMSTAT_BIGMEM_H

#include <stddef.h>

/* @n bytes (at least 1), uninitialised; NULL when out of memory. */
void *big_alloc(size_t n);

/* Give back @p (NULL: nothing) of big_alloc(@n), @n the same. */
void big_free(void *p, size_t n);

#endif
