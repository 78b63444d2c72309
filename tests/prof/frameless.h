/* frameless.h - the library of frameless.c */
#ifndef FRAMELESS_H
#define FRAMELESS_H

#include <stdint.h>

typedef uint64_t (*fl_cb)(uint64_t);

/* @rounds rounds of 7 calls of @a and 3 of @b, through fl_outer then
 * fl_inner */
uint64_t fl_outer(fl_cb a, fl_cb b, uint64_t x, unsigned long rounds);
uint64_t fl_inner(fl_cb a, fl_cb b, uint64_t x, unsigned long rounds);

#endif
