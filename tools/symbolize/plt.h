/*
 * plt.h - names of PLT stubs ("qsort@plt"), which no symbol table holds.
 *
 * A call into another module goes through a stub of the caller's
 * .plt/.plt.sec/.plt.got (x86-64: `jmp *GOT(%rip)`), and a sample can land
 * there (a tight loop calling a small library function: 16% of perf's
 * samples, which perf and gdb name "tiny@plt"). The stub's GOT slot is
 * read from its instruction and named by the relocation that fills it.
 */
#ifndef SHMSTAT_PLT_H
#define SHMSTAT_PLT_H

#include <stddef.h>
#include <stdint.h>
#include <elfutils/libdwfl.h>

/* Put "SYMBOL@plt" for file address @off of module @mod in @out (@n
 * bytes) and return its length; 0 when @off is in no PLT stub, the stub
 * or its relocation cannot be read, or the name does not fit. Every
 * section, offset and index of the file is checked (a hostile file
 * gives 0); the work is bounded by the file's sections and relocations.
 * x86-64 files only. */
size_t plt_name(Dwfl_Module *mod, uint64_t off, char *out, size_t n);

#endif
