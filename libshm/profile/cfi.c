/*
 * cfi.c - .eh_frame_hdr / .eh_frame parsed into the profiler's unwind
 * table (see cfi.h). Everything here but shmstat__cfi_find runs outside
 * signal handlers.
 *
 * The subset kept is what GCC and clang emit for x86-64 and arm64 and
 * what a walk needs: CIE versions 1, 3 and 4, augmentations z, R, P, L,
 * S, B and G, every DW_CFA_* instruction of DWARF 5 plus GNU_args_size,
 * GNU_negative_offset_extended and (arm64) negate_ra_state; pointer
 * encodings absptr, (s|u)leb128, (s|u)data2/4/8, pc- and data-relative.
 * What is outside the subset makes its FDE (or its CIE's FDEs) give no
 * rows, so the handler falls back to the frame pointer there.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"

const struct shmstat_cfiarch shmstat__cfi_x86_64 = { .sp = 7, .fp = 6, .ra = 16, .arm64 = 0 };
const struct shmstat_cfiarch shmstat__cfi_arm64 = { .sp = 31, .fp = 29, .ra = 30, .arm64 = 1 };

/* ------------------------------------------------------------- reading */

/* A bounded reader over [mem, mem + len): every read checks pos + n
 * against end (<= len); a failed read sets bad and returns 0. */
struct rd {
	const unsigned char *mem;
	size_t len, pos, end;
	uintptr_t addr;            /* the address of mem[0] */
	int bad;
};

static int rd_has(struct rd *r, size_t n)
{
	if (r->bad || r->pos > r->end || r->end - r->pos < n) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static uint64_t rd_u(struct rd *r, unsigned n)
{
	uint64_t v = 0;

	if (!rd_has(r, n))
		return 0;
	/* the tables are in this process's byte order */
	if (n == 1) {
		v = r->mem[r->pos];
	} else if (n == 2) {
		uint16_t x;

		memcpy(&x, r->mem + r->pos, 2);
		v = x;
	} else if (n == 4) {
		uint32_t x;

		memcpy(&x, r->mem + r->pos, 4);
		v = x;
	} else {
		memcpy(&v, r->mem + r->pos, 8);
	}
	r->pos += n;
	return v;
}

static int64_t rd_s(struct rd *r, unsigned n)
{
	uint64_t v = rd_u(r, n);
	unsigned sh = 64 - 8 * n;

	return sh == 0 ? (int64_t)v : (int64_t)(v << sh) / ((int64_t)1 << sh);
}

/* LEB128: at most 10 bytes, the bits past 64 must be 0 */
static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint64_t b = rd_u(r, 1);

		if (r->bad)
			return 0;
		if (shift == 63 && (b & 0x7e)) {
			r->bad = 1;
			return 0;
		}
		v |= (b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static int64_t rd_sleb(struct rd *r)
{
	uint64_t v = 0, b = 0;
	unsigned shift = 0;

	do {
		if (shift >= 70) {
			r->bad = 1;
			return 0;
		}
		b = rd_u(r, 1);
		if (r->bad)
			return 0;
		if (shift < 64)
			v |= (b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

enum {
	PE_omit = 0xff,
	PE_absptr = 0x00, PE_uleb128 = 0x01, PE_udata2 = 0x02, PE_udata4 = 0x03,
	PE_udata8 = 0x04, PE_sleb128 = 0x09, PE_sdata2 = 0x0a, PE_sdata4 = 0x0b,
	PE_sdata8 = 0x0c,
	PE_pcrel = 0x10, PE_datarel = 0x30,
};

/* The value of a pointer in encoding @enc's format (no relocation). */
static uint64_t rd_enc_value(struct rd *r, uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_absptr: return rd_u(r, sizeof(uintptr_t));
	case PE_uleb128: return rd_uleb(r);
	case PE_udata2: return rd_u(r, 2);
	case PE_udata4: return rd_u(r, 4);
	case PE_udata8: return rd_u(r, 8);
	case PE_sleb128: return (uint64_t)rd_sleb(r);
	case PE_sdata2: return (uint64_t)rd_s(r, 2);
	case PE_sdata4: return (uint64_t)rd_s(r, 4);
	case PE_sdata8: return (uint64_t)rd_s(r, 8);
	default:
		r->bad = 1;
		return 0;
	}
}

/* A pointer encoded as @enc: absolute, pc-relative (to the field) or
 * data-relative (to @datarel, .eh_frame_hdr); indirect ones are not kept. */
static uintptr_t rd_ptr(struct rd *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = r->addr + r->pos;
	uint64_t v;

	if (enc == PE_omit || (enc & 0x80)) {
		r->bad = 1;
		return 0;
	}
	v = rd_enc_value(r, enc);
	switch (enc & 0x70) {
	case 0:
		return (uintptr_t)v;
	case PE_pcrel:
		return at + (uintptr_t)v;
	case PE_datarel:
		return datarel + (uintptr_t)v;
	default:
		r->bad = 1;
		return 0;
	}
}

/* Skip @n bytes. */
static void rd_skip(struct rd *r, uint64_t n)
{
	if (n > SIZE_MAX || !rd_has(r, (size_t)n))
		return;
	r->pos += (size_t)n;
}

/* ------------------------------------------------------ the CFA program */

/* a register's rule (R_SP: at sp + off; R_REG: in register off) */
enum { R_SAME, R_UNDEF, R_OFFSET, R_SP, R_REG, R_OTHER };
enum { C_REG, C_PLT, C_DEREF, C_OTHER };         /* the CFA's rule (C_DEREF: *(sp + off)) */

struct rule {
	uint8_t how;
	int64_t off;
};

struct state {
	int64_t cfa_off;
	struct rule ra, fp;
	struct rule sp;            /* R_SAME: the CFA (the default); R_REG */
	unsigned cfa_reg, plt_thr;
	int signed_ra;
	uint8_t cfa_how;
};

struct cie {
	size_t insn, insn_end;     /* initial instructions, offsets in mem */
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	int zaug, signal;
};

/* Rows of the module being parsed. */
struct ctx {
	struct shmstat_cfibuf *b;
	size_t first;              /* the module's first row in b */
	uintptr_t lo, hi;
	const struct shmstat_cfiarch *arch;
	uintptr_t loc, end;        /* the FDE's current location, its end */
	int signal;                /* the FDE is a signal trampoline's */
	int probe;                 /* parse_fde only finds its start: */
	uintptr_t begin;           /* here */
};

static int push_row(struct ctx *x, uintptr_t pc, int32_t cfa, int16_t ra, int16_t fp)
{
	struct shmstat_cfibuf *b = x->b;
	uint32_t off;

	if (pc < x->lo || pc > x->hi)
		return -1;
	off = (uint32_t)(pc - x->lo);
	/* a later row for the same or a lower pc replaces what it covers */
	while (b->n > x->first && b->rows[b->n - 1].pc >= off)
		b->n--;
	if (b->n > x->first) {
		const struct shmstat_cfirow *l = &b->rows[b->n - 1];

		if (l->cfa == cfa && l->ra == ra && l->fp == fp)
			return 0;
	} else if (SHMSTAT_CFA_KIND(cfa) == SHMSTAT_CFA_NONE) {
		return 0;                   /* nothing before the first row */
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct shmstat_cfirow *n = realloc(b->rows, cap * sizeof(*n));

		if (n == NULL) {
			b->oom = 1;
			return -1;
		}
		b->rows = n;
		b->cap = cap;
	}
	b->rows[b->n].pc = off;
	b->rows[b->n].cfa = cfa;
	b->rows[b->n].ra = ra;
	b->rows[b->n].fp = fp;
	b->n++;
	return 0;
}

static int16_t rule_of(const struct rule *r, int same_ok)
{
	if (r->how == R_OFFSET && r->off % 8 == 0 && r->off >= INT16_MIN && r->off <= INT16_MAX)
		return (int16_t)r->off;
	if (r->how == R_SAME && same_ok)
		return SHMSTAT_CFI_SAME;
	if (r->how == R_UNDEF)
		return SHMSTAT_CFI_UNDEF;
	return SHMSTAT_CFI_UNKNOWN;
}

/* A signal frame's row: CFA = *(sp + cfa_off), the return address (the
 * interrupted pc) and the frame pointer saved at sp + their offsets. */
static int emit_sig(struct ctx *x, const struct state *s, uintptr_t pc)
{
	int16_t fp = SHMSTAT_CFI_UNKNOWN;

	if (s->fp.how == R_SAME)
		fp = SHMSTAT_CFI_SAME;
	else if (s->fp.how == R_SP && s->fp.off >= 0 && s->fp.off % 8 == 0 && s->fp.off <= INT16_MAX)
		fp = (int16_t)s->fp.off;
	if (s->ra.how != R_SP || s->ra.off < 0 || s->ra.off % 8 != 0 || s->ra.off > INT16_MAX ||
	    s->cfa_off < 0 || s->cfa_off % 8 != 0 || s->cfa_off >= (1 << 23))
		return push_row(x, pc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
				SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN);
	return push_row(x, pc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_SIGFRAME,
						x->signal ? SHMSTAT_CFA_AUX_SIGNAL : 0, s->cfa_off),
			(int16_t)s->ra.off, fp);
}

/* A rule of a REGS row: an offset from the CFA (a multiple of 8), a
 * register, the same register (fp); UNKNOWN otherwise. */
static int16_t regs_rule(const struct rule *r, int same_ok)
{
	if (r->how == R_REG && r->off >= 0 && r->off < 4096)
		return SHMSTAT_CFI_INREG(r->off);
	return rule_of(r, same_ok);
}

/* A row whose CFA, caller's sp or return address is in a register the
 * walk knows only in the interrupted frame (cfi.h: REGS): CFA = reg + N
 * with 0 <= N < 2048, the sp the CFA or a register, the return address
 * at CFA + N or in a register. */
static int emit_regs(struct ctx *x, const struct state *s, uintptr_t pc)
{
	int16_t ra = regs_rule(&s->ra, 0), fp = regs_rule(&s->fp, 1);
	unsigned sp = 0;

	if (s->sp.how == R_REG && s->sp.off >= 0 && s->sp.off < 63)
		sp = (unsigned)s->sp.off + 1;
	if (fp == SHMSTAT_CFI_UNDEF)
		fp = SHMSTAT_CFI_UNKNOWN;
	if (s->cfa_reg >= 64 || s->cfa_off < 0 || s->cfa_off >= 2048 ||
	    (s->sp.how == R_REG && sp == 0) || ra == SHMSTAT_CFI_UNKNOWN || ra == SHMSTAT_CFI_UNDEF)
		return push_row(x, pc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
				SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN);
	return push_row(x, pc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_REGS, 0,
						SHMSTAT_CFA_REGS_MAKE(s->cfa_reg, sp, s->cfa_off)) |
			       (s->signed_ra ? SHMSTAT_CFA_SIGNED : 0), ra, fp);
}

/* The row for state @s at @pc. */
static int emit(struct ctx *x, const struct state *s, uintptr_t pc)
{
	const struct shmstat_cfiarch *a = x->arch;
	int kind = SHMSTAT_CFA_NONE, aux = 0;
	int16_t ra, fp;

	if (s->cfa_how == C_DEREF)
		return emit_sig(x, s, pc);
	if (s->cfa_how == C_REG && !x->signal &&
	    ((s->cfa_reg != a->sp && s->cfa_reg != a->fp) || s->sp.how == R_REG ||
	     s->ra.how == R_REG))
		return emit_regs(x, s, pc);
	if (s->cfa_off >= -(1 << 23) && s->cfa_off < (1 << 23) && !x->signal) {
		if (s->cfa_how == C_REG && s->cfa_reg == a->sp)
			kind = SHMSTAT_CFA_SP;
		else if (s->cfa_how == C_REG && s->cfa_reg == a->fp)
			kind = SHMSTAT_CFA_FP;
		else if (s->cfa_how == C_PLT)
			kind = SHMSTAT_CFA_PLT, aux = (int)s->plt_thr;
	}
	/* the return address "same value": in its register (arm64's x30) */
	ra = rule_of(&s->ra, a->arm64);
	fp = rule_of(&s->fp, 1);
	if (fp == SHMSTAT_CFI_UNDEF)
		fp = SHMSTAT_CFI_UNKNOWN;
	if (kind == SHMSTAT_CFA_NONE || ra == SHMSTAT_CFI_UNKNOWN)
		return push_row(x, pc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
				SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN);
	return push_row(x, pc, SHMSTAT_CFA_MAKE(kind, aux, s->cfa_off) |
			       (s->signed_ra ? SHMSTAT_CFA_SIGNED : 0), ra, fp);
}

static struct rule *reg_rule(struct state *s, const struct shmstat_cfiarch *a, uint64_t reg)
{
	if (reg == a->ra)
		return &s->ra;
	if (reg == a->fp)
		return &s->fp;
	if (reg == a->sp)
		return &s->sp;
	return NULL;               /* a register the walk does not need */
}

static void set_rule(struct state *s, const struct shmstat_cfiarch *a, uint64_t reg, uint8_t how,
		     int64_t off)
{
	struct rule *r = reg_rule(s, a, reg);

	/* the sp: the CFA, but where a rule puts it in another register (the
	 * walk reads no other rule of it, as before) */
	if (r == &s->sp && how != R_REG) {
		how = R_SAME;
		off = 0;
	}
	if (r) {
		r->how = how;
		r->off = off;
	}
}

/* x86-64 PLT entries (binutils): CFA = rsp + N + ((rip & 15) >= T) * 8,
 * as DW_OP_breg7 N; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litT;
 * DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus. */
static int plt_expr(const unsigned char *e, uint64_t n, struct state *s)
{
	static const unsigned char tail[] = { 0x80, 0x00, 0x3f, 0x1a };

	if (n != 11 || e[0] != 0x77 || e[1] > 0x3f || memcmp(e + 2, tail, 4) != 0 ||
	    e[6] < 0x30 || e[6] > 0x3f || e[7] != 0x2a || e[8] != 0x33 || e[9] != 0x24 ||
	    e[10] != 0x22)
		return 0;
	s->cfa_how = C_PLT;
	s->cfa_reg = 0;
	s->cfa_off = e[1];
	s->plt_thr = (unsigned)(e[6] - 0x30);
	return 1;
}

/* DW_OP_breg<sp> N, alone (@deref 0) or followed by DW_OP_deref (@deref 1):
 * N into *off. */
static int sp_expr(const unsigned char *e, uint64_t n, const struct shmstat_cfiarch *a, int deref,
		   int64_t *off)
{
	struct rd r = { .mem = e, .len = (size_t)n, .end = (size_t)n };

	if (a->sp > 31 || rd_u(&r, 1) != 0x70 + a->sp)
		return 0;
	*off = rd_sleb(&r);
	if (deref && rd_u(&r, 1) != 0x06)
		return 0;
	return !r.bad && r.pos == r.len;
}

#define STATE_DEPTH 8

/*
 * Run the CFA instructions in [r->pos, @to) on @s. @init is the state after
 * the CIE's instructions (DW_CFA_restore), NULL while running those; @x
 * the FDE's rows (NULL for a CIE: no location advances there). Return 0,
 * or -1 on an instruction outside the subset or a bad read.
 */
static int exec(struct rd *r, size_t to, const struct cie *c, const struct shmstat_cfiarch *a,
		struct state *s, const struct state *init, struct ctx *x)
{
	struct state stack[STATE_DEPTH];
	unsigned depth = 0;

	r->end = to;
	while (r->pos < to && !r->bad) {
		uint8_t op = (uint8_t)rd_u(r, 1);
		uint64_t reg = 0, u, delta = 0;
		int64_t sv;

		switch (op >> 6) {
		case 1:
			delta = (uint64_t)(op & 0x3f) * c->code_align;
			goto advance;
		case 2:
			u = rd_uleb(r);
			set_rule(s, a, op & 0x3f, R_OFFSET, (int64_t)u * c->data_align);
			continue;
		case 3:
			if (init == NULL)
				return -1;
			reg = op & 0x3f;
			goto restore;
		default:
			break;
		}
		switch (op) {
		case 0x00:      /* nop */
			continue;
		case 0x01: {    /* set_loc */
			uintptr_t to_loc;

			if (x == NULL)
				return -1;
			to_loc = rd_ptr(r, c->fde_enc, 0);
			if (r->bad || to_loc < x->loc)
				return -1;
			delta = to_loc - x->loc;
			goto advance;
		}
		case 0x02:
			delta = rd_u(r, 1) * c->code_align;
			goto advance;
		case 0x03:
			delta = rd_u(r, 2) * c->code_align;
			goto advance;
		case 0x04:
			delta = rd_u(r, 4) * c->code_align;
			goto advance;
		case 0x05:      /* offset_extended */
			reg = rd_uleb(r);
			u = rd_uleb(r);
			set_rule(s, a, reg, R_OFFSET, (int64_t)u * c->data_align);
			continue;
		case 0x06:      /* restore_extended */
			if (init == NULL)
				return -1;
			reg = rd_uleb(r);
			goto restore;
		case 0x07:      /* undefined */
			set_rule(s, a, rd_uleb(r), R_UNDEF, 0);
			continue;
		case 0x08:      /* same_value */
			set_rule(s, a, rd_uleb(r), R_SAME, 0);
			continue;
		case 0x09:      /* register */
			reg = rd_uleb(r);
			u = rd_uleb(r);
			set_rule(s, a, reg, u < 4096 ? R_REG : R_OTHER, (int64_t)u);
			continue;
		case 0x0a:      /* remember_state */
			if (depth == STATE_DEPTH)
				return -1;
			stack[depth++] = *s;
			continue;
		case 0x0b:      /* restore_state: the CFA rule too, as GCC means,
				 * and arm64's signing state (a pseudo register) */
			if (depth == 0)
				return -1;
			*s = stack[--depth];
			continue;
		case 0x0c:      /* def_cfa */
			s->cfa_how = C_REG;
			s->cfa_reg = (unsigned)rd_uleb(r);
			s->cfa_off = (int64_t)rd_uleb(r);
			continue;
		case 0x0d:      /* def_cfa_register */
			s->cfa_reg = (unsigned)rd_uleb(r);
			if (s->cfa_how != C_REG)
				s->cfa_how = C_OTHER;
			continue;
		case 0x0e:      /* def_cfa_offset */
			s->cfa_off = (int64_t)rd_uleb(r);
			if (s->cfa_how != C_REG)
				s->cfa_how = C_OTHER;
			continue;
		case 0x0f:      /* def_cfa_expression */
			u = rd_uleb(r);
			if (!rd_has(r, u))
				return -1;
			if (sp_expr(r->mem + r->pos, u, a, 1, &sv)) {
				s->cfa_how = C_DEREF;
				s->cfa_off = sv;
			} else if (a->arm64 || !plt_expr(r->mem + r->pos, u, s)) {
				s->cfa_how = C_OTHER;
			}
			r->pos += u;
			continue;
		case 0x10:      /* expression: at sp + N is the one kept */
			reg = rd_uleb(r);
			u = rd_uleb(r);
			if (!rd_has(r, u))
				return -1;
			if (sp_expr(r->mem + r->pos, u, a, 0, &sv))
				set_rule(s, a, reg, R_SP, sv);
			else
				set_rule(s, a, reg, R_OTHER, 0);
			r->pos += u;
			continue;
		case 0x16:      /* val_expression */
			reg = rd_uleb(r);
			rd_skip(r, rd_uleb(r));
			set_rule(s, a, reg, R_OTHER, 0);
			continue;
		case 0x11:      /* offset_extended_sf */
			reg = rd_uleb(r);
			sv = rd_sleb(r);
			set_rule(s, a, reg, R_OFFSET, sv * c->data_align);
			continue;
		case 0x12:      /* def_cfa_sf */
			s->cfa_how = C_REG;
			s->cfa_reg = (unsigned)rd_uleb(r);
			s->cfa_off = rd_sleb(r) * c->data_align;
			continue;
		case 0x13:      /* def_cfa_offset_sf */
			s->cfa_off = rd_sleb(r) * c->data_align;
			if (s->cfa_how != C_REG)
				s->cfa_how = C_OTHER;
			continue;
		case 0x14:      /* val_offset */
		case 0x15:      /* val_offset_sf */
			reg = rd_uleb(r);
			(void)(op == 0x14 ? (int64_t)rd_uleb(r) : rd_sleb(r));
			set_rule(s, a, reg, R_OTHER, 0);
			continue;
		case 0x2d:      /* AARCH64_negate_ra_state (GNU_window_save elsewhere) */
			if (!a->arm64)
				return -1;
			s->signed_ra ^= 1;
			continue;
		case 0x2e:      /* GNU_args_size */
			(void)rd_uleb(r);
			continue;
		case 0x2f:      /* GNU_negative_offset_extended */
			reg = rd_uleb(r);
			u = rd_uleb(r);
			set_rule(s, a, reg, R_OFFSET, -(int64_t)u * c->data_align);
			continue;
		default:
			return -1;
		}
restore:
		{
			struct rule *d = reg_rule(s, a, reg);

			if (d)
				*d = reg == a->ra ? init->ra : reg == a->fp ? init->fp : init->sp;
		}
		continue;
advance:
		if (x == NULL || r->bad)
			return -1;
		if (emit(x, s, x->loc) != 0 && x->b->oom)
			return -1;
		if (delta >= x->end - x->loc) {
			x->loc = x->end;   /* the rest covers nothing */
			return 0;
		}
		x->loc += (uintptr_t)delta;
	}
	return r->bad ? -1 : 0;
}

/* ------------------------------------------------------- CIEs and FDEs */

/* The length field at r->pos: the end of the entry (an offset in mem),
 * 0 for the terminator, or SIZE_MAX when it does not fit. */
static size_t entry_end(struct rd *r, int *is64)
{
	uint64_t len = rd_u(r, 4);

	*is64 = 0;
	if (len == 0xffffffffu) {
		len = rd_u(r, 8);
		*is64 = 1;
	}
	if (r->bad || len > r->len - r->pos)
		return SIZE_MAX;
	return len == 0 ? 0 : r->pos + (size_t)len;
}

/* Open the CIE or FDE at offset @off of @from's bytes into @r: r->pos
 * past its length field, r->end its end. 0, or -1 when there is none. */
static int open_entry(const struct rd *from, size_t off, struct rd *r, int *is64)
{
	size_t end;

	*r = *from;
	r->pos = off;
	r->end = r->len;
	end = entry_end(r, is64);
	if (end == 0 || end == SIZE_MAX)
		return -1;
	r->end = end;
	return 0;
}

/* Parse the CIE at offset @off: 0, or -1 when outside the subset. */
static int parse_cie(const struct rd *from, size_t off, const struct shmstat_cfiarch *a,
		     struct cie *c, struct state *init)
{
	struct rd r;
	int is64;
	size_t end, aug_end;
	uint64_t id, version;
	char aug[8];
	size_t na = 0;

	memset(c, 0, sizeof(*c));
	if (open_entry(from, off, &r, &is64) != 0)
		return -1;
	end = r.end;
	id = rd_u(&r, is64 ? 8 : 4);
	version = rd_u(&r, 1);
	if (r.bad || id != 0 || (version != 1 && version != 3 && version != 4))
		return -1;
	for (;;) {
		uint64_t ch = rd_u(&r, 1);

		if (r.bad || na == sizeof(aug))
			return -1;
		aug[na++] = (char)ch;
		if (ch == 0)
			break;
	}
	if (version == 4) {
		/* address size, then segment selector size */
		uint64_t asz = rd_u(&r, 1), ssz = rd_u(&r, 1);

		if (asz != sizeof(uintptr_t) || ssz != 0)
			return -1;
	}
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	if ((version == 1 ? rd_u(&r, 1) : rd_uleb(&r)) != a->ra)
		return -1;
	if (r.bad || c->code_align == 0 || c->code_align > 64 || c->data_align < -256 ||
	    c->data_align > 256)
		return -1;
	c->fde_enc = PE_absptr;
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&r);

		if (r.bad || alen > r.end - r.pos)
			return -1;
		aug_end = r.pos + (size_t)alen;
		c->zaug = 1;
		for (size_t i = 1; aug[i]; i++) {
			switch (aug[i]) {
			case 'R':
				c->fde_enc = (uint8_t)rd_u(&r, 1);
				break;
			case 'P': {
				uint8_t enc = (uint8_t)rd_u(&r, 1);

				(void)rd_enc_value(&r, enc);   /* the personality, unused */
				break;
			}
			case 'L':
				(void)rd_u(&r, 1);
				break;
			case 'S':
				c->signal = 1;
				break;
			case 'B':          /* arm64: B key for return addresses */
			case 'G':          /* arm64: MTE-tagged frames */
				break;
			default:
				return -1;  /* its data we cannot skip safely */
			}
			if (r.bad || r.pos > aug_end)
				return -1;
		}
		r.pos = aug_end;
	} else if (aug[0] != 0) {
		return -1;                  /* "eh" and other old forms */
	}
	if ((c->fde_enc & 0x70) != 0 && (c->fde_enc & 0x70) != PE_pcrel)
		return -1;
	c->insn = r.pos;
	c->insn_end = end;
	/* the initial rules: CFA unknown, every register unchanged */
	memset(init, 0, sizeof(*init));
	init->cfa_how = C_OTHER;
	init->ra.how = R_SAME;
	init->fp.how = R_SAME;
	init->sp.how = R_SAME;
	/* no location advances in a CIE: exec rejects them */
	return exec(&r, c->insn_end, c, a, init, NULL, NULL);
}

/* Parse the FDE at offset @off into rows of @x. */
static int parse_fde(const struct rd *from, size_t off, struct ctx *x, struct shmstat_cfistats *st)
{
	struct rd r;
	struct cie c;
	struct state init, s;
	int is64;
	size_t end, idpos;
	uint64_t cie_ptr, range;
	uintptr_t begin;

	if (open_entry(from, off, &r, &is64) != 0)
		return -1;
	end = r.end;
	idpos = r.pos;
	cie_ptr = rd_u(&r, is64 ? 8 : 4);
	if (r.bad || cie_ptr == 0 || cie_ptr > idpos)
		return -1;
	if (parse_cie(&r, idpos - (size_t)cie_ptr, x->arch, &c, &init) != 0) {
		st->cies_bad++;
		return -1;
	}
	r.end = end;                /* parse_cie used its own copy */
	begin = rd_ptr(&r, c.fde_enc, 0);
	range = rd_enc_value(&r, c.fde_enc & 0x0f);
	if (r.bad || begin < x->lo || begin > x->hi || range > x->hi - begin || range == 0)
		return -1;
	if (c.zaug)
		rd_skip(&r, rd_uleb(&r));
	if (r.bad)
		return -1;
	if (x->probe) {
		x->begin = begin;
		return 0;
	}
	x->loc = begin;
	/* a signal trampoline: its signal frame rows, none else */
	x->signal = c.signal;
	x->end = begin + (uintptr_t)range;
	s = init;
	if (exec(&r, end, &c, x->arch, &s, &init, x) != 0) {
		/* what ran is right up to here; no rule from here on */
		if (x->b->oom)
			return -1;
		(void)push_row(x, x->loc, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
			       SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN);
		(void)push_row(x, x->end, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
			       SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN);
		return -1;
	}
	if (x->loc < x->end && emit(x, &s, x->loc) != 0 && x->b->oom)
		return -1;
	return push_row(x, x->end, SHMSTAT_CFA_MAKE(SHMSTAT_CFA_NONE, 0, 0),
			SHMSTAT_CFI_UNKNOWN, SHMSTAT_CFI_UNKNOWN) != 0 && x->b->oom ? -1 : 0;
}

struct fde_at {
	uintptr_t pc;
	size_t off;
};

static int cmp_fde_at(const void *a, const void *b)
{
	const struct fde_at *x = a, *y = b;

	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* Without .eh_frame_hdr: the FDEs found by walking .eh_frame's entries
 * (each at least 8 bytes: its length and CIE pointer), parsed in the
 * order of the pcs they start at (push_row wants rows in order). */
static void parse_frames(const struct shmstat_cfisrc *src, const struct rd *r, struct ctx *x,
			 struct shmstat_cfistats *st)
{
	struct fde_at *v = malloc((src->frame_len / 8 + 1) * sizeof(*v));
	size_t n = 0, pos = src->frame - src->addr, stop = pos + src->frame_len;

	if (v == NULL) {
		x->b->oom = 1;
		return;
	}
	x->probe = 1;
	while (pos < stop) {
		struct rd e;
		int is64;

		if (open_entry(r, pos, &e, &is64) != 0 || e.end > stop)
			break;          /* the terminator, or a bad length */
		if (rd_u(&e, is64 ? 8 : 4) != 0 && !e.bad) {
			if (parse_fde(r, pos, x, st) != 0) {
				st->fdes_bad++;
			} else {
				v[n].pc = x->begin;
				v[n++].off = pos;
			}
		}
		pos = e.end;
	}
	x->probe = 0;
	qsort(v, n, sizeof(*v), cmp_fde_at);
	st->fdes = (uint32_t)(n + st->fdes_bad);
	for (size_t i = 0; i < n && !x->b->oom; i++) {
		if (parse_fde(r, v[i].off, x, st) != 0)
			st->fdes_bad++;
		else
			st->fdes_used++;
	}
	free(v);
}

size_t shmstat__cfi_parse(const struct shmstat_cfisrc *src, struct shmstat_cfibuf *b,
			  struct shmstat_cfistats *st)
{
	struct shmstat_cfistats dummy;
	struct rd r = { .mem = src->mem, .len = src->len, .end = src->len, .addr = src->addr };
	struct ctx x = { .b = b, .first = b->n, .lo = src->lo, .hi = src->hi, .arch = src->arch };
	uint8_t ptr_enc, count_enc, table_enc;
	uint64_t count, size;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (src->hdr == 0) {
		if (src->frame < src->addr || src->frame - src->addr > src->len ||
		    src->frame_len > src->len - (src->frame - src->addr) || src->lo >= src->hi ||
		    src->hi - src->lo > UINT32_MAX)
			return 0;
		parse_frames(src, &r, &x, st);
		goto done;
	}
	if (src->hdr < src->addr || src->hdr - src->addr >= src->len || src->lo >= src->hi ||
	    src->hi - src->lo > UINT32_MAX)
		return 0;
	r.pos = src->hdr - src->addr;
	if (rd_u(&r, 1) != 1)
		return 0;
	ptr_enc = (uint8_t)rd_u(&r, 1);
	count_enc = (uint8_t)rd_u(&r, 1);
	table_enc = (uint8_t)rd_u(&r, 1);
	(void)rd_ptr(&r, ptr_enc, src->hdr);     /* .eh_frame: each FDE is found by the table */
	count = rd_ptr(&r, count_enc, src->hdr);
	/* the binary search table: fixed-size entries */
	switch (table_enc & 0x0f) {
	case PE_udata2: case PE_sdata2: size = 2; break;
	case PE_udata4: case PE_sdata4: size = 4; break;
	case PE_udata8: case PE_sdata8: size = 8; break;
	default: return 0;
	}
	if (r.bad || table_enc == PE_omit || count > (r.len - r.pos) / (2 * size))
		return 0;
	st->fdes = (uint32_t)count;
	for (uint64_t i = 0; i < count && !b->oom; i++) {
		uintptr_t fde;

		(void)rd_ptr(&r, table_enc, src->hdr);     /* its pc: the FDE has it */
		fde = rd_ptr(&r, table_enc, src->hdr);
		if (r.bad)
			break;
		if (fde < src->addr || fde - src->addr >= src->len ||
		    parse_fde(&r, fde - src->addr, &x, st) != 0) {
			st->fdes_bad++;
			continue;
		}
		st->fdes_used++;
	}
done:
	if (b->oom) {
		b->n = x.first;
		return 0;
	}
	return b->n - x.first;
}
