/*
 * dw.c - libdw loaded by the symbolizer (dw.h).
 */
#include <stddef.h>

#include "dlapi.h"
#include "dw.h"

struct dw_api dw;

int dw_load(const char **why)
{
	static int state;          /* 0: not tried, 1: loaded, -1: failed */
	static char text[256];
	static const struct dlapi_fn fn[] = {
#define FN(f) { "dwfl_" #f, offsetof(struct dw_api, f) }
		FN(begin), FN(end), FN(errmsg), FN(report_begin), FN(report_elf),
		FN(report_end), FN(module_build_id), FN(module_addrinfo), FN(module_getelf),
#undef FN
#define FN(f, field) { #f, offsetof(struct dw_api, field) }
		FN(gelf_getehdr, getehdr), FN(elf_getshdrstrndx, getshdrstrndx),
		FN(elf_nextscn, nextscn), FN(elf_getscn, getscn), FN(gelf_getshdr, getshdr), FN(elf_strptr, strptr),
		FN(elf_getdata, getdata), FN(gelf_getrela, getrela), FN(gelf_getsym, getsym),
#undef FN
		{ "dwfl_build_id_find_elf", offsetof(struct dw_api, callbacks.find_elf) },
		{ "dwfl_build_id_find_debuginfo",
		  offsetof(struct dw_api, callbacks.find_debuginfo) },
		{ "dwfl_offline_section_address",
		  offsetof(struct dw_api, callbacks.section_address) },
	};

	if (state == 0)
		state = dlapi_load(SHMSTAT_DW_SONAME, "libdw1", fn, sizeof(fn) / sizeof(fn[0]), &dw,
				   text, sizeof(text)) == 0 ? 1 : -1;
	*why = text;
	return state == 1 ? 0 : -1;
}
