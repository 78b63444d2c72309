/*
 * hook.c - the test hooks' pointer (hook.h). Only the libraries the test
 * suites link have it (-DSHMSTAT_TEST_HOOKS); in the installed library
 * this file is empty.
 */
#include "hook.h"

#ifdef SHMSTAT_TEST_HOOKS
void (*shmstat__test_hook)(enum shmstat_hook_point point, const void *arg);
#else
/* ISO C wants a translation unit to declare something */
typedef int shmstat__no_hooks;
#endif
