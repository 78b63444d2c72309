/*
 * dlapi.c - optional libraries loaded when first needed (dlapi.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dlapi.h"

int dlapi_load(const char *soname, const char *package, const struct dlapi_fn *fn, size_t nfn,
	       void *table, char *why, size_t n)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL) {
		snprintf(why, n, "cannot load %s (package %s): %s", soname, package, dlerror());
		return -1;
	}
	for (size_t i = 0; i < nfn; i++) {
		void *f = dlsym(lib, fn[i].name);

		if (f == NULL) {
			snprintf(why, n, "%s has no %s", soname, fn[i].name);
			dlclose(lib);
			return -1;
		}
		/* POSIX: a function's address as dlsym() returns it */
		memcpy((char *)table + fn[i].at, &f, sizeof(f));
	}
	return 0;
}
