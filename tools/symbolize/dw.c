/*
 * dw.c - libdw loaded by the symbolizer (dw.h).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dw.h"

struct dw_api dw;

/* A function's address as dlsym() returns it, into @at (POSIX) */
static int sym(void *lib, const char *name, void *at, char *why, size_t n)
{
	void *f = dlsym(lib, name);

	if (f == NULL) {
		snprintf(why, n, "%s has no %s", SHMSTAT_DW_SONAME, name);
		return -1;
	}
	memcpy(at, &f, sizeof(f));
	return 0;
}

int dw_load(const char **why)
{
	static int state;          /* 0: not tried, 1: loaded, -1: failed */
	static char text[256];
	static const struct {
		const char *name;
		size_t at;         /* its pointer in struct dw_api */
	} fn[] = {
#define FN(f) { "dwfl_" #f, offsetof(struct dw_api, f) }
		FN(begin), FN(end), FN(errmsg), FN(report_begin), FN(report_elf),
		FN(report_end), FN(module_build_id), FN(module_addrinfo),
#undef FN
		{ "dwfl_build_id_find_elf", offsetof(struct dw_api, callbacks.find_elf) },
		{ "dwfl_build_id_find_debuginfo",
		  offsetof(struct dw_api, callbacks.find_debuginfo) },
		{ "dwfl_offline_section_address",
		  offsetof(struct dw_api, callbacks.section_address) },
	};
	void *lib;

	if (state == 0) {
		lib = dlopen(SHMSTAT_DW_SONAME, RTLD_NOW | RTLD_LOCAL);
		state = 1;
		if (lib == NULL) {
			snprintf(text, sizeof(text), "cannot load %s (package libdw1): %s",
				 SHMSTAT_DW_SONAME, dlerror());
			state = -1;
		}
		for (size_t i = 0; state == 1 && i < sizeof(fn) / sizeof(fn[0]); i++)
			if (sym(lib, fn[i].name, (char *)&dw + fn[i].at, text, sizeof(text)) != 0)
				state = -1;
		if (state == -1 && lib != NULL)
			dlclose(lib);
	}
	*why = text;
	return state == 1 ? 0 : -1;
}
