/*
 * cfifile.c - where .eh_frame is in a module that has no .eh_frame_hdr
 * (see cfi.h): read from the section headers of its file, at the
 * profiler start or a table rebuild, never in a signal handler.
 */
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi.h"

/* Read @n bytes at @off of @fd into @buf: 0, or -1 when short. */
static int rd_at(int fd, void *buf, size_t n, uint64_t off)
{
	return off <= (uint64_t)INT64_MAX && pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static int frame_in(int fd, const struct dl_phdr_info *info, uintptr_t *addr, size_t *len)
{
	static const char want[] = ".eh_frame";
	ElfW(Ehdr) eh;
	ElfW(Shdr) *sh = NULL, str;
	ElfW(Phdr) *ph = NULL;
	int found = -1;

	if (rd_at(fd, &eh, sizeof(eh), 0) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum != info->dlpi_phnum ||
	    eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
		return -1;
	/* the file the loader mapped: the same program headers */
	ph = malloc((size_t)eh.e_phnum * sizeof(*ph));
	sh = malloc((size_t)eh.e_shnum * sizeof(*sh));
	if (ph == NULL || sh == NULL ||
	    rd_at(fd, ph, (size_t)eh.e_phnum * sizeof(*ph), eh.e_phoff) != 0 ||
	    memcmp(ph, info->dlpi_phdr, (size_t)eh.e_phnum * sizeof(*ph)) != 0 ||
	    rd_at(fd, sh, (size_t)eh.e_shnum * sizeof(*sh), eh.e_shoff) != 0)
		goto out;
	str = sh[eh.e_shstrndx];
	for (unsigned i = 0; i < eh.e_shnum && found != 0; i++) {
		char name[sizeof(want)];

		if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_ALLOC) ||
		    sh[i].sh_size == 0 || sh[i].sh_name >= str.sh_size ||
		    str.sh_size - sh[i].sh_name < sizeof(name) ||
		    rd_at(fd, name, sizeof(name), str.sh_offset + sh[i].sh_name) != 0 ||
		    memcmp(name, want, sizeof(want)) != 0)
			continue;
		*addr = info->dlpi_addr + (uintptr_t)sh[i].sh_addr;
		*len = (size_t)sh[i].sh_size;
		found = 0;
	}
out:
	free(ph);
	free(sh);
	return found;
}

int shmstat__cfi_frame_of(const struct dl_phdr_info *info, uintptr_t *addr, size_t *len)
{
	const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	err = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ? -1 : frame_in(fd, info, addr, len);
	(void)close(fd);
	return err;
}
