/*
 * test_stale_text.c - the profiler's leaf heuristic must not read code of
 * a module unloaded since the profiler started.
 *
 *   test_stale_text PLUGIN
 *
 * PLUGIN (bigtext.c: 1 MiB of code) is loaded, the profiler started,
 * the plugin unloaded and the modules republished (as a heartbeat does
 * after a dlclose). Then a page of code is mapped into the plugin's old
 * range, as a JIT could, and run: a leaf with no unwind row and no
 * frame, whose word at the stack pointer points into the rest of the old
 * range, which is not mapped. The handler takes that word for a return
 * address if the old range is still among the executable ranges it
 * knows, and reads the byte before it: SIGSEGV. It ran until the
 * profile holds 200 CPU samples (counted, not timed).
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

static uintptr_t lo, hi;

static int find_plugin(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (strstr(info->dlpi_name, (const char *)arg) == NULL)
		return 0;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > hi - lo) {
			lo = info->dlpi_addr + ph->p_vaddr;
			hi = lo + ph->p_memsz;
		}
	}
	return 1;
}

static int mapped(uintptr_t page)
{
	/* msync: ENOMEM where nothing is mapped */
	return msync((void *)page, 4096, MS_ASYNC) == 0 || errno != ENOMEM;   /* NOLINT(performance-no-int-to-ptr) */
}

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	/* movabs rax, BAD; push rax; mov ecx, 0x100000; 1: dec ecx; jnz 1b;
	 * pop rax; ret */
	unsigned char code[] = { 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0xb9, 0x00, 0x00, 0x10,
				 0x00, 0xff, 0xc9, 0x75, 0xfc, 0x58, 0xc3 };
	char name[64];
	uintptr_t page = 0, bad = 0;
	unsigned char *jit = MAP_FAILED;
	shmstat_seg *seg;
	void *h;

	if (argc != 2) {
		fprintf(stderr, "usage: test_stale_text PLUGIN\n");
		return 2;
	}
	snprintf(name, sizeof(name), "ut-stale-text-%d", (int)getpid());
	h = dlopen(argv[1], RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	dl_iterate_phdr(find_plugin, (void *)"bigtext");
	if (hi - lo < ((uintptr_t)1 << 20)) {
		fprintf(stderr, "the plugin's code was not found\n");
		return 1;
	}
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	dlclose(h);
	(void)shmstat_profiler_modules(seg);      /* as shmstat_heartbeat() */
	/* a free page of the hole for the code, another one for the word */
	for (uintptr_t a = (lo + 4095) & ~(uintptr_t)4095; a + 4096 <= hi; a += 4096) {
		if (mapped(a))
			continue;
		if (jit == MAP_FAILED) {
			jit = mmap((void *)a, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,   /* NOLINT(performance-no-int-to-ptr) */
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			page = a;
		} else if (a != page) {
			bad = a + 64;
			break;
		}
	}
	if (jit == MAP_FAILED || bad == 0) {
		fprintf(stderr, "the plugin's old range has no two free pages\n");
		return 1;
	}
	memcpy(code + 2, &bad, sizeof(bad));
	memcpy(jit, code, sizeof(code));
	while (prof_cpu_samples(name) < 200)
		for (int i = 0; i < 20; i++)
			((void (*)(void))(uintptr_t)jit)();
	munmap(jit, 4096);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("ok: 200 samples, code in the old range of an unloaded module\n");
	return 0;
#else
	(void)argc;
	(void)argv;
	printf("skip: x86-64 only (the leaf heuristic)\n");
	return 77;
#endif
}
