/*
 * dw.h - elfutils' libdw for the symbolizer (symbolize.c), loaded when it
 * first reads a file (dw.c), not when any command starts.
 *
 * Linked, libdw brought libelf, zlib, liblzma and libbz2 into every
 * command: about 0.25 ms of CPU at each start (a C program linked with
 * them: 0.62 -> 0.87 ms), for the few that name frames (flame, profile
 * output). The symbolizer calls libdwfl through this table; the types
 * are the library's own, from its header.
 */
#ifndef SHMSTAT_DW_H
#define SHMSTAT_DW_H

#include <stddef.h>
#include <elfutils/libdwfl.h>

/* The library's name as Debian's libdw1 installs it */
#define SHMSTAT_DW_SONAME "libdw.so.1"

struct dw_api {
	__typeof__(&dwfl_begin) begin;
	__typeof__(&dwfl_end) end;
	__typeof__(&dwfl_errmsg) errmsg;
	__typeof__(&dwfl_report_begin) report_begin;
	__typeof__(&dwfl_report_elf) report_elf;
	__typeof__(&dwfl_report_end) report_end;
	__typeof__(&dwfl_module_build_id) module_build_id;
	__typeof__(&dwfl_module_addrinfo) module_addrinfo;
	__typeof__(&dwfl_module_getelf) module_getelf;
	/* libelf's, which libdw brings (plt.c: names of PLT stubs) */
	__typeof__(&gelf_getehdr) getehdr;
	__typeof__(&elf_getshdrstrndx) getshdrstrndx;
	__typeof__(&elf_nextscn) nextscn;
	__typeof__(&elf_getscn) getscn;
	__typeof__(&gelf_getshdr) getshdr;
	__typeof__(&elf_strptr) strptr;
	__typeof__(&elf_getdata) getdata;
	__typeof__(&gelf_getrela) getrela;
	__typeof__(&gelf_getsym) getsym;
	/* the callbacks of a Dwfl (symbolize.c says which and why) */
	Dwfl_Callbacks callbacks;
};

/* The library's functions, once dw_load() returned 0 */
extern struct dw_api dw;

/* Load libdw (SHMSTAT_DW_SONAME) once: 0, or -1 with why in @why (the
 * same text at every later call; static storage). */
int dw_load(const char **why);

#endif
