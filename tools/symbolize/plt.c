/*
 * plt.c - names of PLT stubs (plt.h).
 *
 * x86-64 stubs, 16 bytes (.plt, .plt.sec; .plt.got: its sh_entsize, 8 or
 * 16): each jumps through its GOT slot (`ff 25 disp32`, `jmp
 * *disp(%rip)`, after an endbr64 or a bnd prefix), and the slot is filled
 * by a relocation (.rela.plt: JUMP_SLOT; .rela.dyn: GLOB_DAT) of the
 * symbol called. A lazy .plt entry of an IBT-enabled file has no jump
 * through the GOT but `push $index` into .rela.plt. The first entry of
 * .plt (the resolver's) has no relocation: no name. A stub's relocation
 * is looked for where its place says, then among the last PLT_SCAN_MAX.
 */
#include <stdio.h>
#include <string.h>
#include <elf.h>

#include "dw.h"
#include "plt.h"

/* The PLT section of @e holding file address @off, its header in @sh */
static Elf_Scn *plt_section(Elf *e, uint64_t off, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t strndx;

	if (dw.getshdrstrndx(e, &strndx) != 0)
		return NULL;
	while ((scn = dw.nextscn(e, scn)) != NULL) {
		const char *name;

		if (!dw.getshdr(scn, sh) || sh->sh_type != SHT_PROGBITS ||
		    !(sh->sh_flags & SHF_EXECINSTR) || off < sh->sh_addr ||
		    off - sh->sh_addr >= sh->sh_size)
			continue;
		name = dw.strptr(e, strndx, sh->sh_name);
		return name && (strcmp(name, ".plt") == 0 || strcmp(name, ".plt.sec") == 0 ||
				strcmp(name, ".plt.got") == 0) ? scn : NULL;
	}
	return NULL;
}

/* The name of symbol @i of symbol table section @link; NULL when none */
static const char *sym_name(Elf *e, size_t link, size_t i)
{
	Elf_Scn *scn = dw.getscn(e, link);
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf_Data *d;

	if (i == 0 || !scn || !dw.getshdr(scn, &sh) ||
	    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
	    (d = dw.getdata(scn, NULL)) == NULL || !dw.getsym(d, (int)i, &sym))
		return NULL;
	return dw.strptr(e, sh.sh_link, sym.st_name);
}

/* Relocations looked at for one stub past the entries of .rela.plt its
 * place suggests (a .plt.got stub's GLOB_DAT, near the end of .rela.dyn,
 * after the RELATIVE ones): a file with millions of relocations costs at
 * most this many per address named */
#define PLT_SCAN_MAX 4096

/* The symbol of the relocation that fills GOT slot @got (0: entry @idx[0]
 * of .rela.plt, from a `push $index`): entries @idx[0] and @idx[1] of
 * .rela.plt first (a stub's place in .plt.sec, in .plt past its first
 * entry), then the last relocations of every RELA section */
static const char *reloc_name(Elf *e, uint64_t got, const long idx[2])
{
	size_t strndx, budget = PLT_SCAN_MAX;
	Elf_Scn *scn = NULL;

	if (dw.getshdrstrndx(e, &strndx) != 0)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		while ((scn = dw.nextscn(e, scn)) != NULL) {
			const char *name;
			GElf_Shdr sh;
			GElf_Rela r;
			Elf_Data *d;
			size_t n;

			if (!dw.getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
			    (d = dw.getdata(scn, NULL)) == NULL)
				continue;
			n = d->d_size / sizeof(Elf64_Rela);
			if (n > INT32_MAX)
				n = INT32_MAX;
			name = dw.strptr(e, strndx, sh.sh_name);
			if (pass == 0 && name && strcmp(name, ".rela.plt") == 0) {
				for (int j = 0; j < 2; j++)
					if (idx[j] >= 0 && (size_t)idx[j] < n &&
					    dw.getrela(d, (int)idx[j], &r) && (got == 0 || r.r_offset == got))
						return sym_name(e, sh.sh_link, GELF_R_SYM(r.r_info));
			}
			for (size_t i = n; pass == 1 && got != 0 && i > 0 && budget > 0; i--, budget--)
				if (dw.getrela(d, (int)(i - 1), &r) && r.r_offset == got)
					return sym_name(e, sh.sh_link, GELF_R_SYM(r.r_info));
		}
	}
	return NULL;
}

size_t plt_name(Dwfl_Module *mod, uint64_t off, char *out, size_t n)
{
	GElf_Addr bias = 0;
	Elf *e = dw.module_getelf(mod, &bias);
	const unsigned char *b;
	const char *sym = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;
	uint64_t es, at, i = 0;
	int32_t disp;
	int len;

	if (!e || !dw.getehdr(e, &eh) || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || (scn = plt_section(e, off, &sh)) == NULL ||
	    (d = dw.getdata(scn, NULL)) == NULL || d->d_buf == NULL)
		return 0;
	es = sh.sh_entsize == 8 || sh.sh_entsize == 16 ? sh.sh_entsize : 16;
	at = (off - sh.sh_addr) / es * es;      /* the entry's offset in the section */
	if (at > d->d_size || d->d_size - at < es)
		return 0;
	b = (const unsigned char *)d->d_buf + at;
	/* endbr64, a bnd prefix, then `jmp *disp(%rip)` or `push $index`:
	 * at most 4 + 1 + 6 bytes, inside the entry (es >= 8 checked) */
	if (es >= 16 && memcmp(b, "\xf3\x0f\x1e\xfa", 4) == 0)
		i = 4;
	if (b[i] == 0xf2)
		i++;
	if (i + 6 <= es && b[i] == 0xff && b[i + 1] == 0x25) {
		memcpy(&disp, b + i + 2, sizeof(disp));
		const long idx[2] = { (long)(at / es), (long)(at / es) - 1 };

		sym = reloc_name(e, sh.sh_addr + at + i + 6 + (uint64_t)(int64_t)disp, idx);
	} else if (i + 5 <= es && b[i] == 0x68) {
		memcpy(&disp, b + i + 1, sizeof(disp));
		const long idx[2] = { disp, -1 };

		sym = disp >= 0 ? reloc_name(e, 0, idx) : NULL;
	}
	if (!sym || !sym[0])
		return 0;
	len = snprintf(out, n, "%s@plt", sym);
	return len > 0 && (size_t)len < n ? (size_t)len : 0;
}
