/*
 * symbolize.h - addresses of other (possibly exited) processes to names.
 *
 * A writer publishes its module map (struct sym_module per loaded ELF
 * file) next to its sampled stacks; the reader declares each process with
 * that map and then asks for the name of each frame. The ELF files are
 * read from disk with elfutils' libdwfl, so the names are found as long as
 * the files are still there and their build-ids still match; otherwise a
 * frame is shown as "file+0xOFFSET".
 *
 * Not thread-safe: one symbolizer is used by one thread at a time.
 */
#ifndef SHMSTAT_SYMBOLIZE_H
#define SHMSTAT_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** One loaded ELF file of a process, as the process published it. */
struct sym_module {
	uint64_t base;      /* load bias: file address = runtime address - base */
	uint64_t lo, hi;    /* executable range [lo, hi) at run time */
	const char *path;   /* absolute path of the ELF file as it was loaded */
	const unsigned char *build_id; size_t build_id_len;  /* 0: none known */
};

struct symbolizer;

/**
 * symbolizer_new - a symbolizer with no process declared yet.
 * @prog: prefix of the warnings, e.g. "shmstat"; NULL for "shmstat"
 * @warn: where one lowercase line per problem goes ("@prog: ..."), e.g. a
 *        module file that is missing, unreadable, or whose build-id differs
 *        from the published one; NULL for silence. Each problem of a file
 *        is told once, however many processes loaded the file.
 *
 * Return the symbolizer, or NULL when out of memory.
 */
struct symbolizer *symbolizer_new(const char *prog, FILE *warn);

/**
 * symbolizer_free - free @s and every string it returned; NULL is a no-op.
 */
void symbolizer_free(struct symbolizer *s);

/**
 * symbolizer_add_proc - declare process @proc with its modules.
 * @proc: any id chosen by the caller (a pid, a slot number ...)
 * @who: names the process in warnings, e.g. "pid 1234 (cachesim)"; NULL
 *       for "process @proc"
 * @mods: the modules; every string and build-id is copied, so they may
 *        change or go away after the call
 * @n: number of modules
 *
 * Called once per process before names are asked. Declaring @proc again
 * adds @mods to its modules (and forgets the names cached for it).
 * Modules with an empty range (lo >= hi) are ignored. No file is opened
 * here: a file is read when a name is first asked in one of its modules.
 *
 * Return 0, ENOMEM (@proc is then as it was before), or EINVAL (@s NULL).
 */
int symbolizer_add_proc(struct symbolizer *s, size_t proc, const char *who,
			const struct sym_module *mods, size_t n);

/**
 * symbolizer_name - the name of the frame at @pc in process @proc.
 * @leaf: 1 for the innermost frame (the exact pc), 0 for return
 *        addresses, which are looked up at @pc - 1 so that a call at the
 *        end of a function is not credited to the next one
 *
 * Return
 *   "function" when a symbol covers the address (not demangled; a
 *     symbol version, "fopen@@GLIBC_2.2.5", is left out);
 *   "basename(path)+0xOFF" when the module is known but no symbol covers
 *     the address, the module's file cannot be read, its build-id differs,
 *     or its path is not absolute ("[vdso]+0x..."); OFF is the file
 *     address looked up (address - base: @pc - 1 - base for a return
 *     address, which addr2line maps to the line of the call);
 *   "[unknown]" when no module's [lo, hi) holds the address, @pc is 0, or
 *     @proc was never declared.
 * The string belongs to @s and stays valid until symbolizer_free(). The
 * results are cached per (@proc, address): a repeated lookup is one hash
 * table probe; a first one reads the module's symbol table once per file
 * and searches it. When out of memory the static "[unknown]" may be
 * returned.
 */
const char *symbolizer_name(struct symbolizer *s, size_t proc, uint64_t pc, int leaf);

/**
 * symbolizer_name_in - symbolizer_name() in module @mod of process @proc:
 * its place among the modules declared for @proc, counted over every
 * symbolizer_add_proc() of @proc in declaration order. Where two
 * modules hold an address (a library loaded where an unloaded one was),
 * the caller, which knows which of them was loaded when the address was
 * sampled, picks it. A @mod that does not hold the address (or
 * SIZE_MAX) is ignored: the module is found as by symbolizer_name().
 */
const char *symbolizer_name_in(struct symbolizer *s, size_t proc, size_t mod, uint64_t pc,
			       int leaf);

#endif
