/*
 * ownidx.c - a table's owners in a frame found by name: an index by open
 * addressing, built once when the frame is decoded, so that a window's
 * figure of one owner costs its frames, not its frames times the owners
 * (shmstat top --history asks for every owner of a table of thousands).
 * A name two owners have (a claim race, a forged file) finds the first.
 */
#include <string.h>

#include "history_int.h"
#include "hook.h"

/* an entry: an owner's index + 1, 0 when free */
_Static_assert(SHMSTAT_HF_MAX_OWNERS < UINT16_MAX, "owners indexed in 16 bits");

size_t shmstat__hf_oix_size(uint64_t no)
{
	size_t nx = 2;

	if (no == 0)
		return 0;
	while (nx < 2 * no)         /* no <= SHMSTAT_HF_MAX_OWNERS */
		nx *= 2;
	return nx;
}

size_t shmstat__hf_oix_build(const struct fown *o, size_t no, uint16_t *ix)
{
	size_t nx = shmstat__hf_oix_size(no), mask = nx - 1;

	if (nx)
		memset(ix, 0, nx * sizeof(*ix));
	for (size_t k = 0; k < no; k++) {
		size_t j = (size_t)shmstat__hash(o[k].name, strlen(o[k].name)) & mask;

		/* an entry is free: fewer than half are used */
		while (ix[j] && strcmp(o[ix[j] - 1].name, o[k].name) != 0)
			j = (j + 1) & mask;
		if (ix[j] == 0)
			ix[j] = (uint16_t)(k + 1);    /* else the first keeps it */
	}
	return nx;
}

long shmstat__hf_oix_find(const struct fown *o, const uint16_t *ix, size_t nx, const char *name)
{
	size_t j;

	if (nx == 0)
		return -1;
	j = (size_t)shmstat__hash(name, strlen(name)) & (nx - 1);
	for (size_t n = 0; n < nx && ix[j]; n++, j = (j + 1) & (nx - 1)) {
		SHMSTAT_HOOK(SHMSTAT_HOOK_OWNER_NAME, o[ix[j] - 1].name);
		if (strcmp(o[ix[j] - 1].name, name) == 0)
			return (long)ix[j] - 1;
	}
	return -1;
}
