/*
 * test_cfi.c - the unwind-table parser (libshm/profile/cfi.c).
 *
 *   - agreement with elfutils' libdw (dwarf_cfi_addrframe), row by row
 *     of libdw over every range our table covers, for libc, this program,
 *     libnohdr.so (no .eh_frame_hdr: .eh_frame walked, as in static
 *     programs) and the vDSO: the CFA rule, where the return address and the frame
 *     pointer are; where we keep no row, libdw must have none we could
 *     have kept (a few: signal trampolines, expressions);
 *   - hand-made tables, x86-64 and arm64 (the parser takes the
 *     architecture, so arm64's rules are tested here too): remember and
 *     restore state, the PLT expression, negate_ra_state, x30 as the
 *     return address, gaps between functions, overlapping FDEs;
 *   - corrupt tables: real ones (the vDSO's, libc's, libnohdr.so's .eh_frame) with random bytes
 *     changed, thousands of times, under ASan: no read outside the
 *     region (the copy is a malloc block: ASan sees one byte past it),
 *     rows always sorted and inside the module.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfitab.h"
#include "../xorshift.h"

/* ------------------------------------------------------------ modules */

struct mod {
	char path[4096];
	uintptr_t bias;
	struct shmstat_cfisrc src;
	int found;
};

struct want {
	uintptr_t addr;            /* an address inside the module */
	const char *name;          /* or a part of its path */
	int vdso;
	struct mod *m;
};

static int find_mod(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct want *w = arg;
	struct shmstat_cfisrc src;

	(void)size;
	if (shmstat__cfi_source(info, &src) != 0)
		return 0;
	if (w->vdso ? info->dlpi_addr == getauxval(AT_SYSINFO_EHDR) ||
		      (info->dlpi_name && strstr(info->dlpi_name, "vdso"))
		    : w->name ? info->dlpi_name && strstr(info->dlpi_name, w->name) != NULL
			      : (w->addr >= src.lo && w->addr < src.hi)) {
		w->m->src = src;
		w->m->bias = info->dlpi_addr;
		snprintf(w->m->path, sizeof(w->m->path), "%s", info->dlpi_name ? info->dlpi_name : "");
		w->m->found = 1;
		return 1;
	}
	return 0;
}

static void get_mod(struct mod *m, uintptr_t addr, const char *name, int vdso)
{
	struct want w = { .addr = addr, .name = name, .vdso = vdso, .m = m };

	memset(m, 0, sizeof(*m));
	dl_iterate_phdr(find_mod, &w);
	assert_true(m->found);
	if (m->path[0] == 0 && !vdso)
		assert_true(readlink("/proc/self/exe", m->path, sizeof(m->path) - 1) > 0);
}

/* the vDSO's image, for libdw: from its ELF header, as far as its last
 * program header's segment (it is all one mapping) */
static Elf *vdso_elf(unsigned char **copy)
{
	const ElfW(Ehdr) *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Shdr) *sh;
	size_t size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;

	sh = (const void *)((const unsigned char *)eh + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type != SHT_NOBITS && sh[i].sh_offset + sh[i].sh_size > size)
			size = sh[i].sh_offset + sh[i].sh_size;
	*copy = malloc(size);
	assert_non_null(*copy);
	memcpy(*copy, eh, size);
	return elf_memory((char *)*copy, size);
}

/* ------------------------------------------------- libdw, the oracle */

/* libdw's rule for one register: kind (SAME, UNDEF, offset in *off, or
 * UNKNOWN) */
static int dw_reg(Dwarf_Frame *f, int reg, int64_t *off)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t n = 0;

	if (dwarf_frame_register(f, reg, mem, &ops, &n) != 0)
		return SHMSTAT_CFI_UNKNOWN;
	if (n == 0)
		return ops == NULL ? SHMSTAT_CFI_SAME : SHMSTAT_CFI_UNDEF;
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return SHMSTAT_CFI_UNKNOWN;
	if (n == 1) {
		*off = 0;
		return 0;
	}
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return 0;
	}
	return SHMSTAT_CFI_UNKNOWN;
}

struct agree {
	unsigned rows, same, none_ok, none_kept, sig, regs;
};

/* libdw's rule "in register N" for register @reg: N, or -1 */
static int dw_in_reg(Dwarf_Frame *f, int reg)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t n = 0;

	if (dwarf_frame_register(f, reg, mem, &ops, &n) != 0 || n != 1)
		return -1;
	if (ops[0].atom == DW_OP_regx)
		return (int)ops[0].number;
	if (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31)
		return ops[0].atom - DW_OP_reg0;
	return -1;
}

/* A REGS row (cfi.h) against libdw's: CFA = register + N, the sp, the
 * return address and the frame pointer in registers or at the CFA plus
 * an offset. */
static void compare_regs(Dwarf_Frame *f, const struct shmstat_cfirow *r,
			 const struct shmstat_cfiarch *arch, uintptr_t a, Dwarf_Op *ops, size_t n,
			 struct agree *ag)
{
	unsigned off = (unsigned)SHMSTAT_CFA_OFF(r->cfa);
	int64_t o = 0;
	int rule;

	if (n != 1 || ops[0].atom != DW_OP_bregx ||
	    ops[0].number != SHMSTAT_CFA_REGS_REG(off) || ops[0].number2 != SHMSTAT_CFA_REGS_N(off))
		fail_msg("at %#lx: REGS row r%u+%u, libdw's CFA differs", (unsigned long)a,
			 SHMSTAT_CFA_REGS_REG(off), SHMSTAT_CFA_REGS_N(off));
	if (SHMSTAT_CFA_REGS_SP(off))
		assert_int_equal(dw_in_reg(f, (int)arch->sp), (int)SHMSTAT_CFA_REGS_SP(off) - 1);
	if (SHMSTAT_CFI_IS_INREG(r->ra)) {
		assert_int_equal(dw_in_reg(f, (int)arch->ra), (int)SHMSTAT_CFI_REGNO(r->ra));
	} else {
		assert_int_equal(dw_reg(f, (int)arch->ra, &o), 0);
		assert_int_equal(r->ra, o);
	}
	if (SHMSTAT_CFI_IS_INREG(r->fp)) {
		assert_int_equal(dw_in_reg(f, (int)arch->fp), (int)SHMSTAT_CFI_REGNO(r->fp));
	} else if (r->fp != SHMSTAT_CFI_UNKNOWN) {
		rule = dw_reg(f, (int)arch->fp, &o);
		assert_int_equal(rule == 0 ? o : rule, r->fp);
	}
	ag->same++;
	ag->regs++;
}

/* libdw's rule for register @reg in a signal frame: saved at sp + N (an
 * expression DW_OP_breg<sp> N): N, or -1. */
static int64_t dw_sp_expr(Dwarf_Frame *f, int reg, unsigned sp)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t n = 0;

	if (dwarf_frame_register(f, reg, mem, &ops, &n) != 0)
		return -1;
	/* libdw puts the CFA first, as DW_CFA_expression pushes it */
	if (n != 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return -1;
	if (ops[1].atom == DW_OP_breg0 + sp)
		return (int64_t)ops[1].number;
	if (ops[1].atom == DW_OP_bregx && ops[1].number == sp)
		return (int64_t)ops[1].number2;
	return -1;
}

/* Compare libdw's row at file address @a with ours (@r; NULL: none). */
static void compare(Dwarf_Frame *f, const struct shmstat_cfirow *r, const struct shmstat_cfiarch *arch,
		    uintptr_t a, struct agree *ag)
{
	Dwarf_Op *ops;
	size_t n;
	int64_t raoff = 0, fpoff = 0;
	int ra = dw_reg(f, (int)arch->ra, &raoff), fp = dw_reg(f, (int)arch->fp, &fpoff);
	int simple;
	bool sig = false;

	ag->rows++;
	assert_int_equal(dwarf_frame_cfa(f, &ops, &n), 0);
	(void)dwarf_frame_info(f, NULL, NULL, &sig);
	simple = n == 1 && ops[0].atom == DW_OP_bregx &&
		 (ops[0].number == arch->sp || ops[0].number == arch->fp) && !sig &&
		 ra != SHMSTAT_CFI_UNKNOWN && (ra != 0 || raoff % 8 == 0);
	if (r == NULL) {
		/* a rule we do not keep, or one we do: that would be a miss */
		if (simple)
			fail_msg("no row at %#lx where libdw has CFA r%lu%+ld", (unsigned long)a,
				 (unsigned long)ops[0].number, (long)ops[0].number2);
		ag->none_ok++;
		return;
	}
	if (SHMSTAT_CFA_KIND(r->cfa) == SHMSTAT_CFA_SIGFRAME) {
		/* a signal frame: CFA = *(sp + N), ra and fp at sp + M */
		assert_int_equal(n, 2);
		assert_int_equal(ops[1].atom, DW_OP_deref);
		if (ops[0].atom == DW_OP_bregx) {
			assert_int_equal(ops[0].number, arch->sp);
			assert_int_equal(SHMSTAT_CFA_OFF(r->cfa), (int64_t)ops[0].number2);
		} else {
			assert_int_equal(ops[0].atom, DW_OP_breg0 + arch->sp);
			assert_int_equal(SHMSTAT_CFA_OFF(r->cfa), (int64_t)ops[0].number);
		}
		assert_int_equal(SHMSTAT_CFA_AUX(r->cfa), sig ? SHMSTAT_CFA_AUX_SIGNAL : 0);
		assert_int_equal(r->ra, dw_sp_expr(f, (int)arch->ra, arch->sp));
		assert_int_equal(r->fp, dw_sp_expr(f, (int)arch->fp, arch->sp));
		ag->same++;
		ag->sig++;
		return;
	}
	if (SHMSTAT_CFA_KIND(r->cfa) == SHMSTAT_CFA_REGS) {
		compare_regs(f, r, arch, a, ops, n, ag);
		return;
	}
	if (!simple) {
		/* ours is the PLT's */
		assert_int_equal(SHMSTAT_CFA_KIND(r->cfa), SHMSTAT_CFA_PLT);
		ag->same++;
		return;
	}
	if (SHMSTAT_CFA_OFF(r->cfa) != (int64_t)ops[0].number2 ||
	    SHMSTAT_CFA_KIND(r->cfa) != (ops[0].number == arch->sp ? SHMSTAT_CFA_SP : SHMSTAT_CFA_FP))
		fail_msg("at %#lx: cfa kind %d off %d, libdw r%lu%+ld", (unsigned long)a,
			 SHMSTAT_CFA_KIND(r->cfa), SHMSTAT_CFA_OFF(r->cfa),
			 (unsigned long)ops[0].number, (long)ops[0].number2);
	if (ra == 0)
		assert_int_equal(r->ra, raoff);
	else
		assert_int_equal(r->ra, ra);
	if (fp == 0 && fpoff % 8 == 0)
		assert_int_equal(r->fp, fpoff);
	else if (fp == SHMSTAT_CFI_SAME)
		assert_int_equal(r->fp, SHMSTAT_CFI_SAME);
	else
		assert_int_equal(r->fp, SHMSTAT_CFI_UNKNOWN);
	ag->same++;
}

/* Every libdw row inside the module, against our table. */
static void agree_with_libdw(const struct mod *m, Elf *elf, struct agree *ag)
{
	struct shmstat_cfibuf b = { 0 };
	struct shmstat_cfitab t;
	struct shmstat_cfimod tm;
	struct shmstat_cfistats st;
	Dwarf_CFI *cfi = dwarf_getcfi_elf(elf);
	size_t n;

	assert_non_null(cfi);
	n = shmstat__cfi_parse(&m->src, &b, &st);
	assert_true(n > 0);
	print_message("%s: %u fdes, %u used, %u bad, %u bad cies, %zu rows\n", m->path, st.fdes,
		      st.fdes_used, st.fdes_bad, st.cies_bad, n);
	/* nearly every FDE: the ones left are signal trampolines and the like */
	assert_true(st.fdes_used >= st.fdes - st.fdes / 50);
	tm.lo = m->src.lo;
	tm.hi = m->src.hi;
	tm.first = 0;
	tm.n = (uint32_t)n;
	memset(&t, 0, sizeof(t));
	t.nmod = 1;
	t.nrows = (uint32_t)n;
	t.mods = &tm;
	t.rows = b.rows;
	for (size_t i = 0; i < n; i++) {
		uintptr_t from = m->src.lo + b.rows[i].pc;
		uintptr_t to = i + 1 < n ? m->src.lo + b.rows[i + 1].pc : m->src.hi;

		if (i > 0)
			assert_true(b.rows[i].pc > b.rows[i - 1].pc);
		for (uintptr_t a = from; a < to;) {
			Dwarf_Frame *f = NULL;
			Dwarf_Addr s = 0, e = 0;

			if (dwarf_cfi_addrframe(cfi, a - m->bias, &f) != 0) {
				/* no FDE: ours must have no row either */
				assert_null(shmstat__cfi_find(&t, a));
				if (SHMSTAT_CFA_KIND(b.rows[i].cfa) != SHMSTAT_CFA_NONE)
					fail_msg("row at %#lx where libdw has no FDE", (unsigned long)a);
				a = to;
				continue;
			}
			(void)dwarf_frame_info(f, &s, &e, NULL);
			compare(f, shmstat__cfi_find(&t, a), m->src.arch, a, ag);
			free(f);
			a = e + m->bias > a ? e + m->bias : a + 1;
		}
	}
	free(b.rows);
	dwarf_cfi_end(cfi);
}

static unsigned last_regs;     /* REGS rows of the last file_agrees_min */

static unsigned file_agrees_min(uintptr_t addr, const char *name, unsigned min_rows)
{
	struct mod m;
	struct agree ag = { 0 };
	Elf *elf;
	int fd;

	get_mod(&m, addr, name, 0);
	fd = open(m.path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	agree_with_libdw(&m, elf, &ag);
	print_message("%s: %u libdw rows, %u the same (%u of a signal frame, %u in registers), "
		      "%u where we keep none\n", m.path, ag.rows, ag.same, ag.sig, ag.regs, ag.none_ok);
	assert_true(ag.rows > min_rows);
	assert_true(ag.same >= ag.rows - ag.rows / 50);
	last_regs = ag.regs;
	elf_end(elf);
	close(fd);
	return ag.sig;
}

static unsigned file_agrees(uintptr_t addr, const char *name)
{
	return file_agrees_min(addr, name, 100);
}

static void test_libc(void **state)
{
	unsigned sig;

	(void)state;
	sig = file_agrees(0, "/libc.so.6");
#if defined(__x86_64__) && defined(__GLIBC__)
	/* __restore_rt, the signal trampoline: kept as a signal frame;
	 * __longjmp: its CFA and the caller's registers in registers */
	assert_true(sig > 0);
	assert_true(last_regs > 0);
#else
	(void)sig;
#endif
}

/* The dynamic linker: _dl_runtime_resolve's CFA is rbx-based (the stack
 * realigned), a REGS row */
static void test_ldso(void **state)
{
	(void)state;
	(void)file_agrees(0, "/ld-linux");
#if defined(__x86_64__) && defined(__GLIBC__)
	assert_true(last_regs > 0);
#endif
}

static void test_self(void **state)
{
	(void)state;
	file_agrees((uintptr_t)&test_self, NULL);
}

/* A module without .eh_frame_hdr (static executables are linked so):
 * .eh_frame found from the file's section headers and walked, its FDEs
 * (out of address order) sorted. Before, such a module had no rows: in a
 * static program no frame above the first in libc or the program. */
uint64_t nohdr_entry(uint64_t x, unsigned n);

static void test_nohdr(void **state)
{
	struct mod m;
	struct shmstat_cfistats st;
	struct shmstat_cfibuf b = { 0 };

	(void)state;
	get_mod(&m, (uintptr_t)&nohdr_entry, NULL, 0);
	assert_int_equal(m.src.hdr, 0);
	assert_true(shmstat__cfi_parse(&m.src, &b, &st) > 0);
	assert_true(st.fdes >= 6);
	assert_int_equal(st.fdes_used, st.fdes);
	free(b.rows);
	file_agrees_min((uintptr_t)&nohdr_entry, NULL, 10);
	assert_true(nohdr_entry(1, 3) != 0);
}

static void test_vdso(void **state)
{
	struct mod m;
	struct agree ag = { 0 };
	unsigned char *copy;
	Elf *elf;

	(void)state;
#ifdef SHMSTAT_TEST_QEMU_USER
	/* Under qemu-user the vDSO is qemu's own small image (one FDE), not
	 * the kernel's that the test compares with libdw. */
	skip();
	return;
#endif
	get_mod(&m, 0, NULL, 1);
	elf = vdso_elf(&copy);
	assert_non_null(elf);
	agree_with_libdw(&m, elf, &ag);
	print_message("vdso: %u libdw rows, %u the same\n", ag.rows, ag.same);
	assert_true(ag.rows > 5);
	assert_int_equal(ag.same, ag.rows);
	elf_end(elf);
	free(copy);
}

/* The whole process's table: every module with tables, sorted, and the
 * lookups of a few known functions answer. */
static void test_build(void **state)
{
	struct shmstat_cfitab *t = shmstat__cfi_build();
	const struct shmstat_cfirow *r;

	(void)state;
	assert_non_null(t);
	assert_true(t->nmod >= 3);       /* this program, libc, the vDSO at least */
	for (uint32_t i = 1; i < t->nmod; i++)
		assert_true(t->mods[i].lo >= t->mods[i - 1].hi);
	/* at a function's first instruction: CFA = sp + 8, return address at CFA - 8 */
	r = shmstat__cfi_find(t, (uintptr_t)&clock_gettime);
	assert_non_null(r);
#if defined(__x86_64__)
	assert_int_equal(SHMSTAT_CFA_KIND(r->cfa), SHMSTAT_CFA_SP);
	assert_int_equal(SHMSTAT_CFA_OFF(r->cfa), 8);
	assert_int_equal(r->ra, -8);
#endif
	assert_null(shmstat__cfi_find(t, 4096));
	assert_false(shmstat__cfi_stale(t));
	print_message("process table: %u modules, %u rows, %zu bytes\n", t->nmod, t->nrows, t->bytes);
	shmstat__cfi_free(t);
}

/* ---------------------------------------------------- hand-made tables */

struct img {
	unsigned char b[1024];
	size_t n;
};

static size_t put(struct img *m, const void *p, size_t n)
{
	size_t at = m->n;

	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
	return at;
}

static size_t put32(struct img *m, uint32_t v)
{
	return put(m, &v, 4);
}

static void set32(struct img *m, size_t at, uint32_t v)
{
	memcpy(m->b + at, &v, 4);
}

/* An image at address BASE: [0] .eh_frame_hdr with one table entry per
 * FDE, then one CIE (code/data alignment, return address register,
 * initial instructions), then the FDEs (pc, length, instructions). Code
 * at CODE.. (the module's range). */
#define BASE ((uintptr_t)0x10000000)
#define CODE ((uintptr_t)0x10100000)

struct fde {
	uint32_t pc, len;
	const unsigned char *insn;
	size_t ninsn;
};

static void make(struct img *m, unsigned char code_align, unsigned char data_align, unsigned char ra,
		 const unsigned char *cinsn, size_t ncinsn, const struct fde *f, size_t nf)
{
	size_t tab, cie, fde;
	static const unsigned char hdr[] = { 1, 0x1b, 0x03, 0x3b };

	memset(m, 0, sizeof(*m));
	put(m, hdr, 4);
	put32(m, 0);                          /* eh_frame_ptr, unused */
	put32(m, (uint32_t)nf);
	tab = m->n;
	m->n += nf * 8;
	/* CIE: length, id 0, version 1, "zR", code_align, data_align, ra, aug len 1, enc */
	cie = put32(m, 0);
	put32(m, 0);
	put(m, "\1zR", 4);
	put(m, &code_align, 1);
	put(m, &data_align, 1);
	put(m, &ra, 1);
	put(m, "\1\x1b", 2);
	put(m, cinsn, ncinsn);
	set32(m, cie, (uint32_t)(m->n - cie - 4));
	for (size_t i = 0; i < nf; i++) {
		fde = put32(m, 0);
		put32(m, (uint32_t)(m->n - cie));
		put32(m, (uint32_t)(CODE + f[i].pc - (BASE + m->n)));   /* pcrel sdata4 */
		put32(m, f[i].len);
		put(m, "", 1);                         /* aug data: none */
		put(m, f[i].insn, f[i].ninsn);
		set32(m, fde, (uint32_t)(m->n - fde - 4));
		set32(m, tab + i * 8, (uint32_t)(CODE + f[i].pc - BASE));
		set32(m, tab + i * 8 + 4, (uint32_t)fde);
	}
	put32(m, 0);                          /* terminator */
}

static size_t parse_img(const struct img *m, const struct shmstat_cfiarch *a, struct shmstat_cfibuf *b)
{
	struct shmstat_cfisrc src = { .mem = m->b, .len = m->n, .addr = BASE, .hdr = BASE,
				      .lo = CODE, .hi = CODE + 0x1000, .arch = a };

	memset(b, 0, sizeof(*b));
	return shmstat__cfi_parse(&src, b, NULL);
}

static void row_is(const struct shmstat_cfibuf *b, size_t i, uint32_t pc, int kind, int off, int ra,
		   int fp, int sig)
{
	const struct shmstat_cfirow *r;

	assert_true(i < b->n);
	r = &b->rows[i];
	if (r->pc != pc || SHMSTAT_CFA_KIND(r->cfa) != kind ||
	    (kind != SHMSTAT_CFA_NONE && (SHMSTAT_CFA_OFF(r->cfa) != off || r->ra != ra ||
					  r->fp != fp || !!(r->cfa & SHMSTAT_CFA_SIGNED) != sig)))
		fail_msg("row %zu: pc %#x kind %d off %d ra %d fp %d signed %d; expected pc %#x kind %d off %d ra %d fp %d signed %d",
			 i, r->pc, SHMSTAT_CFA_KIND(r->cfa), SHMSTAT_CFA_OFF(r->cfa), r->ra, r->fp,
			 !!(r->cfa & SHMSTAT_CFA_SIGNED), pc, kind, off, ra, fp, sig);
}

static void test_x86_64_rules(void **state)
{
	/* CIE: def_cfa rsp+8; rip at cfa-8 */
	static const unsigned char cie[] = { 0x0c, 7, 8, 0x80 | 16, 1 };
	/* push rbp; mov rbp, rsp; ... remember; leave-ish; ret; restore */
	static const unsigned char f1[] = {
		0x41, 0x0e, 16, 0x86, 2,          /* +1: cfa rsp+16, rbp at cfa-16 */
		0x43, 0x0d, 6,                    /* +3: cfa in rbp */
		0x44, 0x0a, 0x0c, 7, 8,           /* +4: remember; cfa rsp+8 */
		0xc6,                             /*     restore rbp (same) */
		0x41, 0x0b,                       /* +1: restore state */
		0x02, 10, 0x0e, 32,               /* advance_loc1 10: def_cfa_offset 32 (cfa rbp+32) */
	};
	/* the PLT: cfa = rsp + 8 + ((rip & 15) >= 11) * 8 */
	static const unsigned char plt[] = {
		0x0e, 16, 0x4a, 0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22,
	};
	/* an expression we do not keep, then back to a register rule */
	static const unsigned char expr[] = {
		0x41, 0x0f, 3, 0x76, 0x78, 0x06,  /* +1: cfa = *(rbp - 8) */
		0x41, 0x0c, 7, 8,                 /* +1: cfa rsp+8 */
	};
	/* an unknown opcode: rows up to it stay */
	static const unsigned char bad[] = { 0x41, 0x0e, 16, 0x41, 0x3f, 0x0e, 24 };
	static const unsigned char undef[] = { 0x07, 16 };     /* outermost: rip undefined */
	const struct fde f[] = {
		{ 0x000, 0x40, f1, sizeof(f1) },
		{ 0x100, 0x30, plt, sizeof(plt) },
		{ 0x130, 0x10, expr, sizeof(expr) },
		{ 0x200, 0x10, bad, sizeof(bad) },
		{ 0x300, 0x10, undef, sizeof(undef) },
	};
	struct img m;
	struct shmstat_cfibuf b;

	(void)state;
	make(&m, 1, 0x78, 16, cie, sizeof(cie), f, 5);
	assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 18);
	row_is(&b, 0, 0x00, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 1, 0x01, SHMSTAT_CFA_SP, 16, -8, -16, 0);
	row_is(&b, 2, 0x04, SHMSTAT_CFA_FP, 16, -8, -16, 0);
	row_is(&b, 3, 0x08, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 4, 0x09, SHMSTAT_CFA_FP, 16, -8, -16, 0);
	row_is(&b, 5, 0x13, SHMSTAT_CFA_FP, 32, -8, -16, 0);
	row_is(&b, 6, 0x40, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	row_is(&b, 7, 0x100, SHMSTAT_CFA_SP, 16, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 8, 0x10a, SHMSTAT_CFA_PLT, 8, -8, SHMSTAT_CFI_SAME, 0);
	assert_int_equal(SHMSTAT_CFA_AUX(b.rows[8].cfa), 11);
	/* 0x130 (the PLT's end) is the next FDE's start: its first row */
	row_is(&b, 9, 0x130, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 10, 0x131, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	row_is(&b, 11, 0x132, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 12, 0x140, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	/* the bad FDE: its first row, then none from the bad opcode on */
	row_is(&b, 13, 0x200, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 14, 0x201, SHMSTAT_CFA_SP, 16, -8, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 15, 0x202, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	/* the outermost frame keeps its "undefined" return address */
	row_is(&b, 16, 0x300, SHMSTAT_CFA_SP, 8, SHMSTAT_CFI_UNDEF, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 17, 0x310, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	free(b.rows);

	/* overlapping FDEs: the later one wins from its start */
	{
		static const unsigned char grow[] = { 0x48, 0x0e, 16 };
		const struct fde o[] = {
			{ 0x000, 0x20, grow, sizeof(grow) },
			{ 0x010, 0x20, undef, sizeof(undef) },
		};

		make(&m, 1, 0x78, 16, cie, sizeof(cie), o, 2);
		assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 4);
		row_is(&b, 0, 0x00, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
		row_is(&b, 1, 0x08, SHMSTAT_CFA_SP, 16, -8, SHMSTAT_CFI_SAME, 0);
		row_is(&b, 2, 0x10, SHMSTAT_CFA_SP, 8, SHMSTAT_CFI_UNDEF, SHMSTAT_CFI_SAME, 0);
		row_is(&b, 3, 0x30, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
		free(b.rows);
	}
	/* REGS rows: the CFA in rdi, rsp/rbp/rip in r8/r9/rdx (__longjmp);
	 * rsp's "same value" is the CFA again; then CFA = rbx + 32 with the
	 * CIE's rules (_dl_runtime_resolve); then back to rsp */
	{
		static const unsigned char regs[] = {
			0x41, 0x0c, 5, 0,                           /* +1: cfa rdi+0 */
			0x09, 7, 8, 0x09, 6, 9, 0x09, 16, 1,        /* rsp r8, rbp r9, rip rdx */
			0x41, 0x08, 7,                              /* +1: rsp same */
			0x41, 0x0c, 3, 32, 0xc6, 0x06, 16,          /* +1: cfa rbx+32, restore */
			0x41, 0x0c, 7, 8,                           /* +1: cfa rsp+8 */
		};
		const struct fde o[] = { { 0x000, 0x10, regs, sizeof(regs) } };

		make(&m, 1, 0x78, 16, cie, sizeof(cie), o, 1);
		assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 6);
		row_is(&b, 0, 0x00, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
		row_is(&b, 1, 0x01, SHMSTAT_CFA_REGS, SHMSTAT_CFA_REGS_MAKE(5, 9, 0),
		       SHMSTAT_CFI_INREG(1), SHMSTAT_CFI_INREG(9), 0);
		row_is(&b, 2, 0x02, SHMSTAT_CFA_REGS, SHMSTAT_CFA_REGS_MAKE(5, 0, 0),
		       SHMSTAT_CFI_INREG(1), SHMSTAT_CFI_INREG(9), 0);
		row_is(&b, 3, 0x03, SHMSTAT_CFA_REGS, SHMSTAT_CFA_REGS_MAKE(3, 0, 32), -8,
		       SHMSTAT_CFI_SAME, 0);
		row_is(&b, 4, 0x04, SHMSTAT_CFA_SP, 8, -8, SHMSTAT_CFI_SAME, 0);
		row_is(&b, 5, 0x10, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
		free(b.rows);
	}
	/* a return address register the architecture does not have: nothing */
	make(&m, 1, 0x78, 15, cie, sizeof(cie), f, 1);
	assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 0);
	free(b.rows);
	/* an FDE outside the module: dropped */
	{
		const struct fde o[] = { { 0x2000, 0x10, undef, sizeof(undef) } };

		make(&m, 1, 0x78, 16, cie, sizeof(cie), o, 1);
		assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 0);
		free(b.rows);
	}
}

static void test_arm64_rules(void **state)
{
	/* CIE: def_cfa sp+0 (x30 holds the return address: no rule) */
	static const unsigned char cie[] = { 0x0c, 31, 0 };
	/* paciasp; stp x29, x30, [sp, -32]!; mov x29, sp; ...; ldp; autiasp; ret */
	static const unsigned char f1[] = {
		0x2d,                             /* signed from here */
		0x41, 0x0e, 32, 0x9d, 4, 0x9e, 3, /* +4: cfa sp+32, x29 at -32, x30 at -24 */
		0x41, 0x0c, 29, 32,               /* +4: cfa x29+32 */
		0x44, 0x0a,                       /* +16: remember */
		0xdd, 0xde, 0x0e, 0, 0x0c, 31, 0, /*  restore x29 x30, cfa sp+0 */
		0x41, 0x2d,                       /* +4: autiasp: unsigned */
		0x41, 0x0b,                       /* +4: restore state (signed again) */
	};
	const struct fde f[] = { { 0x000, 0x40, f1, sizeof(f1) } };
	struct img m;
	struct shmstat_cfibuf b;

	(void)state;
	/* code_align 4, data_align -8 */
	make(&m, 4, 0x78, 30, cie, sizeof(cie), f, 1);
	assert_int_equal(parse_img(&m, &shmstat__cfi_arm64, &b), 7);
	row_is(&b, 0, 0x00, SHMSTAT_CFA_SP, 0, SHMSTAT_CFI_SAME, SHMSTAT_CFI_SAME, 1);
	row_is(&b, 1, 0x04, SHMSTAT_CFA_SP, 32, -24, -32, 1);
	row_is(&b, 2, 0x08, SHMSTAT_CFA_FP, 32, -24, -32, 1);
	row_is(&b, 3, 0x18, SHMSTAT_CFA_SP, 0, SHMSTAT_CFI_SAME, SHMSTAT_CFI_SAME, 1);
	row_is(&b, 4, 0x1c, SHMSTAT_CFA_SP, 0, SHMSTAT_CFI_SAME, SHMSTAT_CFI_SAME, 0);
	row_is(&b, 5, 0x20, SHMSTAT_CFA_FP, 32, -24, -32, 1);
	row_is(&b, 6, 0x40, SHMSTAT_CFA_NONE, 0, 0, 0, 0);
	free(b.rows);
	/* the same bytes as x86-64: 0x2d is not an x86-64 instruction, so
	 * the FDE gives nothing from its first byte on */
	make(&m, 4, 0x78, 16, cie, sizeof(cie), f, 1);
	assert_int_equal(parse_img(&m, &shmstat__cfi_x86_64, &b), 0);
	free(b.rows);
}

/* ------------------------------------------------------ corrupt tables */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	return xorshift64(&rng);
}

static void mutate(const struct mod *m, unsigned rounds)
{
	/* where the tables start: .eh_frame_hdr, or .eh_frame without one */
	size_t len = m->src.len, hdr = (m->src.hdr ? m->src.hdr : m->src.frame) - m->src.addr;
	unsigned char *copy = malloc(len);
	struct shmstat_cfibuf b = { 0 };
	unsigned with_rows = 0;

	assert_non_null(copy);
	for (unsigned i = 0; i < rounds; i++) {
		struct shmstat_cfisrc src = m->src;
		size_t n;
		unsigned k = 1 + (unsigned)(next_rand() % 16);

		memcpy(copy, m->src.mem, len);
		/* bytes of the tables (from .eh_frame_hdr to the end), now and
		 * then the header's own */
		for (unsigned j = 0; j < k; j++) {
			size_t at = next_rand() % 8 == 0 ? hdr + next_rand() % 16
							 : hdr + next_rand() % (len - hdr);

			copy[at] = (unsigned char)next_rand();
		}
		/* and sometimes a region cut short */
		if (next_rand() % 4 == 0) {
			src.len = hdr + 1 + next_rand() % (len - hdr);
			if (src.frame_len > src.len - hdr)
				src.frame_len = src.len - hdr;
		}
		src.mem = copy;
		b.n = 0;
		n = shmstat__cfi_parse(&src, &b, NULL);
		with_rows += n > 0;
		for (size_t r = 0; r < n; r++) {
			assert_true(b.rows[r].pc <= src.hi - src.lo);
			if (r > 0)
				assert_true(b.rows[r].pc > b.rows[r - 1].pc);
			assert_true(SHMSTAT_CFA_KIND(b.rows[r].cfa) <= SHMSTAT_CFA_REGS);
		}
	}
	print_message("%s: %u of %u corrupt copies still gave rows\n", m->path, with_rows, rounds);
	free(b.rows);
	free(copy);
}

static void test_corrupt(void **state)
{
	struct mod m;

	(void)state;
	get_mod(&m, 0, NULL, 1);
	mutate(&m, 20000);
	get_mod(&m, 0, "/libc.so.6", 0);
	mutate(&m, 300);
	get_mod(&m, (uintptr_t)&nohdr_entry, NULL, 0);
	mutate(&m, 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_64_rules),
		cmocka_unit_test(test_arm64_rules),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_ldso),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_nohdr),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_corrupt),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
