/*
 * test_symbolize.c - the symbolizer (tools/symbolize/symbolize.c) on the test's own
 * process: its module map is built with dl_iterate_phdr the way a writer
 * publishes it (load bias, executable PT_LOAD range, path, the build-id
 * note read from memory), then addresses of known functions are named.
 *
 * Checked: a function of the test by its exact pc (leaf) and by a return
 * address inside it (pc - 1); the byte before it is not credited to it;
 * libc functions, without symbol versions; "[unknown]" for pc 0, an address in no module and a
 * process never declared; "+0x" names (offset = file address) and one
 * warning each for a module whose build-id differs, whose file is
 * missing, a FIFO (no hang) or not ELF; no warning for "[vdso]"; the
 * process's own vDSO named from the reader's copy of it; cached
 * results are the same pointer, also between a leaf pc and the return
 * address after it; modules with an empty range ignored, overlapping
 * ones found (random tables: the module the walk back before the range
 * index named); declaring a process again adds modules; many processes
 * sharing a file open it once (descriptors stay few); a file truncated
 * by its owner while it is open still names (a private copy, no SIGBUS).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "demangle.h"
#include "symbolize.h"
#include "../xorshift.h"

#define MAXMODS 256

struct modlist {
	struct sym_module m[MAXMODS];
	char *paths[MAXMODS];
	unsigned char ids[MAXMODS][64];
	size_t n;
};

/* The function the test looks for: not static, not inlined, long enough
 * that start + 4 and start + 8 are inside it. */
int sym_test_target(int x);
__attribute__((noinline)) int sym_test_target(int x)
{
	volatile int acc = 0;

	for (int i = 0; i < x; i++)
		acc += i * x;
	return acc;
}

/* A call through this executable's PLT (test_plt_stub): getppid() is
 * another module's, and not a tail call; no ASan code in between */
int sym_plt_caller(int x);
__attribute__((noinline, no_sanitize_address)) int sym_plt_caller(int x)
{
	return (int)getppid() + x;
}

/* Another, named after the file it is in was cut (test_truncated_file) */
int sym_test_other(int x);
__attribute__((noinline)) int sym_test_other(int x)
{
	volatile int acc = 1;

	for (int i = 0; i < x; i++)
		acc *= i + x;
	return acc;
}

/* Functions under C++ names (test_cxx_names): a valid one; one whose
 * demangled form doubles with each template argument (f<A<B, B>, A<A<B,
 * B>, A<B, B> >, ...>: 28 of them, about 2^28 bytes in full); one longer
 * than DEMANGLE_MAX_IN, valid ("aaaa...()"); one that is no valid name. */
#define X10 "aaaaaaaaaa"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100
#define CXX_BLOWUP "_Z1fI1AI1BS1_ES0_IS2_S2_ES0_IS3_S3_ES0_IS4_S4_ES0_IS5_S5_ES0_IS6_S6_ES0_IS7_S7_" \
	"ES0_IS8_S8_ES0_IS9_S9_ES0_ISA_SA_ES0_ISB_SB_ES0_ISC_SC_ES0_ISD_SD_ES0_ISE_SE_ES0_ISF_SF_" \
	"ES0_ISG_SG_ES0_ISH_SH_ES0_ISI_SI_ES0_ISJ_SJ_ES0_ISK_SK_ES0_ISL_SL_ES0_ISM_SM_ES0_ISN_SN_" \
	"ES0_ISO_SO_ES0_ISP_SP_ES0_ISQ_SQ_ES0_ISR_SR_ES0_ISS_SS_ES0_IST_ST_EE"
#define CXX_LONG "_Z1020" X1000 X10 X10 "v"
int sym_test_cxx(int x) __asm__("_ZN2ns3hotEi");
int sym_test_blowup(int x) __asm__(CXX_BLOWUP);
int sym_test_long(int x) __asm__(CXX_LONG);
int sym_test_bad(int x) __asm__("_Z2nsX");
#define CXX_FN(f, k) \
	__attribute__((noinline)) int f(int x) \
	{ \
		volatile int acc = k; \
		for (int i = 0; i < x; i++) \
			acc += i ^ x; \
		return acc; \
	}
CXX_FN(sym_test_cxx, 1)
CXX_FN(sym_test_blowup, 2)
CXX_FN(sym_test_long, 3)
CXX_FN(sym_test_bad, 4)

/* The NT_GNU_BUILD_ID note of a PT_NOTE segment in memory, if any. */
static size_t note_build_id(const char *p, size_t size, size_t align,
			    unsigned char *out, size_t outsz)
{
	size_t off = 0;

	while (off + sizeof(ElfW(Nhdr)) <= size) {
		ElfW(Nhdr) nh;
		size_t name_off, desc_off, next;

		memcpy(&nh, p + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + ((nh.n_namesz + align - 1) & ~(align - 1));
		next = desc_off + ((nh.n_descsz + align - 1) & ~(align - 1));
		if (desc_off + nh.n_descsz > size)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp(p + name_off, "GNU", 4) == 0 && nh.n_descsz <= outsz) {
			memcpy(out, p + desc_off, nh.n_descsz);
			return nh.n_descsz;
		}
		off = next;
	}
	return 0;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct modlist *ml = arg;
	struct sym_module *m;
	uint64_t lo = UINT64_MAX, hi = 0;
	char buf[PATH_MAX];

	(void)size;
	if (ml->n == MAXMODS)
		return 1;
	m = &ml->m[ml->n];
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uint64_t a = info->dlpi_addr + ph->p_vaddr;

			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE && !m->build_id_len) {
			/* the note as loaded: an address in this process */
			/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
			const char *note = (const char *)(info->dlpi_addr + ph->p_vaddr);

			m->build_id_len = note_build_id(note,
				ph->p_memsz, ph->p_align == 8 ? 8 : 4,
				ml->ids[ml->n], sizeof(ml->ids[0]));
		}
	}
	if (lo >= hi)
		return 0;
	m->base = info->dlpi_addr;
	m->lo = lo;
	m->hi = hi;
	m->build_id = m->build_id_len ? ml->ids[ml->n] : NULL;
	if (info->dlpi_name && info->dlpi_name[0])
		ml->paths[ml->n] = strdup(info->dlpi_name);
	else if (ml->n == 0 && realpath("/proc/self/exe", buf))
		ml->paths[ml->n] = strdup(buf);
	else
		return 0;
	assert_non_null(ml->paths[ml->n]);
	m->path = ml->paths[ml->n];
	ml->n++;
	return 0;
}

static struct modlist *modlist_get(void)
{
	struct modlist *ml = calloc(1, sizeof(*ml));

	assert_non_null(ml);
	dl_iterate_phdr(collect, ml);
	assert_true(ml->n >= 2);
	return ml;
}

static void modlist_free(struct modlist *ml)
{
	for (size_t i = 0; i < ml->n; i++)
		free(ml->paths[i]);
	free(ml);
}

static const struct sym_module *module_of(const struct modlist *ml, uint64_t a)
{
	for (size_t i = 0; i < ml->n; i++)
		if (a >= ml->m[i].lo && a < ml->m[i].hi)
			return &ml->m[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
}

static uint64_t fn_addr(int (*f)(int))
{
	return (uint64_t)(uintptr_t)f;
}

struct warnbuf {
	FILE *f;
	char *buf;
	size_t len;
};

static void warn_open(struct warnbuf *w)
{
	w->buf = NULL;
	w->len = 0;
	w->f = open_memstream(&w->buf, &w->len);
	assert_non_null(w->f);
}

static const char *warn_text(struct warnbuf *w)
{
	assert_int_equal(fflush(w->f), 0);
	return w->buf ? w->buf : "";
}

static void warn_close(struct warnbuf *w)
{
	assert_int_equal(fclose(w->f), 0);
	free(w->buf);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_own_function(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	uint64_t fn = fn_addr(sym_test_target);
	const char *before;

	(void)state;
	assert_non_null(s);
	assert_non_null(module_of(ml, fn));
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1 (test)", ml->m, ml->n), 0);
	assert_string_equal(symbolizer_name(s, 1, fn, 1), "sym_test_target");
	assert_string_equal(symbolizer_name(s, 1, fn + 4, 1), "sym_test_target");
	/* a return address: looked up at pc - 1 */
	assert_string_equal(symbolizer_name(s, 1, fn + 5, 0), "sym_test_target");
	assert_string_equal(symbolizer_name(s, 1, fn + 1, 0), "sym_test_target");
	/* a return address at the start: the call was in what comes before */
	before = symbolizer_name(s, 1, fn, 0);
	assert_string_not_equal(before, "sym_test_target");
	assert_ptr_equal(before, symbolizer_name(s, 1, fn - 1, 1));
	symbolizer_free(s);
	modlist_free(ml);
}

static void test_libc_function(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	/* libc's own qsort, not a sanitizer's interceptor of it */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	const struct sym_module *m;
	uint64_t fn;
	const char *name;

	(void)state;
	assert_non_null(s);
	assert_non_null(libc);
	fn = (uint64_t)(uintptr_t)dlsym(libc, "qsort");
	assert_true(fn != 0);
	m = module_of(ml, fn);
	assert_non_null(m);
	assert_non_null(strstr(base_name(m->path), "libc"));
	assert_int_equal(symbolizer_add_proc(s, 7, "pid 7 (test)", ml->m, ml->n), 0);
	name = symbolizer_name(s, 7, fn + 2, 1);
	/* "qsort", or an alias of it from libc's debug symbols */
	assert_non_null(strstr(name, "qsort"));
	assert_null(strstr(name, "+0x"));
	assert_string_equal(symbolizer_name(s, 7, fn + 3, 0), name);
	/* no symbol version ("fopen@@GLIBC_2.2.5" in libc's debug file) */
	fn = (uint64_t)(uintptr_t)dlsym(libc, "fopen");
	assert_true(fn != 0);
	name = symbolizer_name(s, 7, fn + 2, 1);
	assert_non_null(strstr(name, "fopen"));
	assert_null(strchr(name, '@'));
	assert_null(strstr(name, "+0x"));
	dlclose(libc);
	symbolizer_free(s);
	modlist_free(ml);
}

/* The vDSO ("linux-vdso.so.1") is no file: it is named from the reader's
 * own copy, the same image when the kernel is the same. */
static void test_vdso(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	const struct sym_module *v = NULL;
	int named = 0;

	(void)state;
	assert_non_null(s);
#ifdef SHMSTAT_TEST_QEMU_USER
	/* Under qemu-user the vDSO is qemu's own image, relocated in place
	 * (program headers and symbols at absolute addresses, where the
	 * kernel's is linked at 0), or none (QEMU 7.2): not what a writer on
	 * a kernel publishes. */
	symbolizer_free(s);
	modlist_free(ml);
	skip();
	return;
#endif
	for (size_t i = 0; i < ml->n; i++)
		if (strncmp(ml->m[i].path, "linux-vdso", 10) == 0)
			v = &ml->m[i];
	if (v == NULL) {
		symbolizer_free(s);
		modlist_free(ml);
		skip();         /* no vDSO on this system */
		return;         /* skip() longjmps; GCC does not know it */
	}
	assert_int_equal(symbolizer_add_proc(s, 9, "pid 9 (test)", ml->m, ml->n), 0);
	for (uint64_t a = v->lo; a < v->hi && !named; a += 4) {
		const char *name = symbolizer_name(s, 9, a, 1);

		assert_null(strstr(name, "[unknown]"));
		named = strstr(name, "gettime") != NULL;
	}
	assert_true(named);
	symbolizer_free(s);
	modlist_free(ml);
}

static void test_unknown(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new(NULL, NULL);
	uint64_t fn = fn_addr(sym_test_target);

	(void)state;
	assert_non_null(s);
	/* nothing declared yet */
	assert_string_equal(symbolizer_name(s, 1, fn, 1), "[unknown]");
	assert_int_equal(symbolizer_add_proc(s, 1, NULL, ml->m, ml->n), 0);
	assert_string_equal(symbolizer_name(s, 1, 0, 1), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, 0, 0), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, 1, 0), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, 0x10, 1), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, UINT64_MAX, 1), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, UINT64_MAX, 0), "[unknown]");
	/* a process never declared */
	assert_string_equal(symbolizer_name(s, 2, fn, 1), "[unknown]");
	assert_string_equal(symbolizer_name(NULL, 1, fn, 1), "[unknown]");
	/* no modules at all, NULL array */
	assert_int_equal(symbolizer_add_proc(s, 3, "x", NULL, 5), 0);
	assert_string_equal(symbolizer_name(s, 3, fn, 1), "[unknown]");
	assert_int_equal(symbolizer_add_proc(NULL, 3, "x", ml->m, ml->n), EINVAL);
	symbolizer_free(s);
	symbolizer_free(NULL);
	modlist_free(ml);
}

static void test_build_id_mismatch(void **state)
{
	struct modlist *ml = modlist_get();
	struct warnbuf w;
	struct symbolizer *s;
	uint64_t fn = fn_addr(sym_test_target);
	struct sym_module bad;
	unsigned char id[64];
	char want[PATH_MAX + 32];
	const char *text;

	(void)state;
	warn_open(&w);
	s = symbolizer_new("shmstat", w.f);
	assert_non_null(s);
	bad = *module_of(ml, fn);
	assert_true(bad.build_id_len > 0 && bad.build_id_len <= sizeof(id));
	memcpy(id, bad.build_id, bad.build_id_len);
	id[0] ^= 0xff;
	bad.build_id = id;
	assert_int_equal(symbolizer_add_proc(s, 42, "pid 42 (old)", &bad, 1), 0);
	assert_int_equal(symbolizer_add_proc(s, 43, "pid 43 (old)", &bad, 1), 0);
	/* the published id is copied: changing it afterwards changes nothing */
	id[0] ^= 0xff;
	snprintf(want, sizeof(want), "%s+0x%" PRIx64, base_name(bad.path), fn + 4 - bad.base);
	assert_string_equal(symbolizer_name(s, 42, fn + 4, 1), want);
	assert_string_equal(symbolizer_name(s, 43, fn + 4, 1), want);
	/* a return address: the offset of the byte looked up */
	assert_string_equal(symbolizer_name(s, 42, fn + 5, 0), want);

	text = warn_text(&w);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "shmstat: build-id of "));
	assert_non_null(strstr(text, bad.path));
	assert_non_null(strstr(text, " differs from the one pid 42 (old) loaded"));

	/* the right id in another process: names as usual, no new warning */
	assert_int_equal(symbolizer_add_proc(s, 44, "pid 44 (new)", ml->m, ml->n), 0);
	assert_string_equal(symbolizer_name(s, 44, fn + 4, 1), "sym_test_target");
	assert_int_equal(count_lines(warn_text(&w)), 1);
	symbolizer_free(s);
	warn_close(&w);
	modlist_free(ml);
}

static void test_unreadable_files(void **state)
{
	struct warnbuf w;
	struct symbolizer *s;
	char dir[] = "/tmp/test_symbolize.XXXXXX";
	char fifo[sizeof(dir) + 16], text_file[sizeof(dir) + 16];
	struct sym_module m[4] = {
		{ .base = 0x10000, .lo = 0x11000, .hi = 0x12000,
		  .path = "/nonexistent/dir/libnothere.so.1" },
		{ .base = 0x20000, .lo = 0x21000, .hi = 0x22000, .path = fifo },
		{ .base = 0x30000, .lo = 0x31000, .hi = 0x32000, .path = text_file },
		{ .base = 0x40000, .lo = 0x40000, .hi = 0x41000, .path = "[vdso]" },
	};
	FILE *f;
	const char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(text_file, sizeof(text_file), "%s/text", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	f = fopen(text_file, "w");
	assert_non_null(f);
	fputs("not an elf file at all\n", f);
	assert_int_equal(fclose(f), 0);

	warn_open(&w);
	s = symbolizer_new("shmstat", w.f);
	assert_non_null(s);
	assert_int_equal(symbolizer_add_proc(s, 5, "pid 5 (gone)", m, 4), 0);
	assert_int_equal(symbolizer_add_proc(s, 6, "pid 6 (gone)", m, 4), 0);
	assert_string_equal(symbolizer_name(s, 5, 0x11234, 1), "libnothere.so.1+0x1234");
	assert_string_equal(symbolizer_name(s, 6, 0x11235, 0), "libnothere.so.1+0x1234");
	assert_string_equal(symbolizer_name(s, 5, 0x21010, 1), "fifo+0x1010");
	assert_string_equal(symbolizer_name(s, 5, 0x31010, 1), "text+0x1010");
	assert_string_equal(symbolizer_name(s, 5, 0x40abc, 1), "[vdso]+0xabc");
	assert_string_equal(symbolizer_name(s, 5, 0x41000, 1), "[unknown]");
	text = warn_text(&w);
	/* one line per file, none for [vdso] */
	assert_int_equal(count_lines(text), 3);
	assert_non_null(strstr(text, "shmstat: cannot read /nonexistent/dir/libnothere.so.1 "
				     "for pid 5 (gone): missing, unreadable or not a regular elf file; "
				     "its frames are shown as addresses\n"));
	assert_non_null(strstr(text, "/fifo for pid 5 (gone): missing, unreadable or not a regular elf file;"));
	assert_non_null(strstr(text, "/text for pid 5 (gone): missing, unreadable or not a regular elf file;"));
	symbolizer_free(s);
	warn_close(&w);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(text_file), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* @text with every "PATH for" cut to " for": the warnings without their
 * paths, to compare them. */
static char *without_paths(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	assert_non_null(out);
	while (*text) {
		const char *r = strstr(text, "cannot read ");
		const char *f = r ? strstr(r, " for ") : NULL;

		if (!r || !f) {
			strcpy(o, text);
			return out;
		}
		r += strlen("cannot read ");
		memcpy(o, text, (size_t)(r - text));
		o += r - text;
		text = f;
	}
	*o = '\0';
	return out;
}

/*
 * Module paths a hostile writer publishes (issue 17): devices, a FIFO with
 * no writer, /proc/self/mem, a file only root can read, a missing one.
 * None is opened (inotify sees no open of the FIFO nor of /dev/zero and
 * /dev/null: only O_PATH descriptors, which open nothing), each gets a
 * warning, and the warnings are the same text whatever the cause, also
 * for uid 65534 looking into a directory it may search but not list, so
 * they do not tell which hidden files exist.
 */
static void test_hostile_paths(void **state)
{
	char dir[] = "/tmp/test_symbolize.XXXXXX";
	char fifo[sizeof(dir) + 16], secret[sizeof(dir) + 16], missing[sizeof(dir) + 16];
	char text_file[sizeof(dir) + 16];
	const char *paths[] = { "/dev/zero", "/dev/null", "/dev/tty", "/dev/urandom",
				"/proc/self/mem", "/proc/self/fd/0", fifo, secret, missing,
				text_file };
	enum { N = sizeof(paths) / sizeof(paths[0]) };
	struct sym_module m[N];
	struct warnbuf w;
	struct symbolizer *s;
	const char *text;
	char *bare, ev[4096], want[256];
	int in, fd;
	pid_t pid;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	snprintf(text_file, sizeof(text_file), "%s/text", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	/* an ELF header, so that root reads it as ELF (and libdwfl refuses it) */
	{
		Elf64_Ehdr eh = { 0 };

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		assert_int_equal(write(fd, &eh, sizeof(eh)), (ssize_t)sizeof(eh));
	}
	assert_int_equal(close(fd), 0);
	fd = open(text_file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an elf file, but long enough for a header of one\n", 53), 53);
	assert_int_equal(close(fd), 0);
	for (size_t i = 0; i < N; i++)
		m[i] = (struct sym_module){ .base = 0x100000 * (i + 1), .lo = 0x100000 * (i + 1),
					    .hi = 0x100000 * (i + 1) + 0x1000, .path = paths[i] };

	/* the fifo is ours: an event on it is the symbolizer's. /dev/zero
	 * and /dev/null are everyone's (the tests running beside this one
	 * open them): an event on them fails only when every one of three
	 * attempts has one, as an open by the symbolizer would */
	for (int attempt = 0;; attempt++) {
		int fifo_wd, dev_events = 0;
		ssize_t got;

		in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		assert_true(in >= 0);
		fifo_wd = inotify_add_watch(in, fifo, IN_OPEN | IN_ACCESS);
		assert_true(fifo_wd >= 0);
		assert_true(inotify_add_watch(in, "/dev/zero", IN_OPEN | IN_ACCESS) >= 0);
		assert_true(inotify_add_watch(in, "/dev/null", IN_OPEN | IN_ACCESS) >= 0);

		warn_open(&w);
		s = symbolizer_new("shmstat", w.f);
		assert_non_null(s);
		assert_int_equal(symbolizer_add_proc(s, 5, "pid 5", m, N), 0);
		for (size_t i = 0; i < N; i++)
			assert_non_null(strstr(symbolizer_name(s, 5, m[i].lo + 0x10, 1), "+0x10"));
		text = warn_text(&w);
		assert_int_equal(count_lines(text), N);
		for (size_t i = 0; i < N; i++) {
			snprintf(want, sizeof(want),
				 "shmstat: cannot read %s for pid 5: missing, unreadable or not a "
				 "regular elf file; its frames are shown as addresses\n", paths[i]);
			if (strstr(text, want) == NULL)
				fail_msg("no \"%s\" in:\n%s", want, text);
		}
		symbolizer_free(s);
		warn_close(&w);
		while ((got = read(in, ev, sizeof(ev))) > 0) {
			for (ssize_t o = 0; o + (ssize_t)sizeof(struct inotify_event) <= got;) {
				struct inotify_event ie;

				memcpy(&ie, ev + o, sizeof(ie));
				if (ie.wd == fifo_wd)
					fail_msg("the fifo was opened (inotify)");
				dev_events++;
				o += (ssize_t)sizeof(ie) + ie.len;
			}
		}
		assert_true(got == -1 && errno == EAGAIN);
		assert_int_equal(close(in), 0);
		if (dev_events == 0)
			break;
		if (attempt == 2)
			fail_msg("/dev/zero or /dev/null was opened in each of 3 attempts (inotify)");
	}

	/* uid 65534 in a directory it can search, not list: the warning for
	 * the root-only file is the warning for the missing one */
	if (geteuid() == 0) {
		int pfd[2];
		char got[4096];
		ssize_t n;
		size_t len = 0;

		assert_int_equal(chmod(dir, 0711), 0);
		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct sym_module two[2] = {
				{ .base = 0x10000, .lo = 0x10000, .hi = 0x11000, .path = secret },
				{ .base = 0x20000, .lo = 0x20000, .hi = 0x21000, .path = missing },
			};
			FILE *f = fdopen(pfd[1], "w");
			struct symbolizer *u;

			close(pfd[0]);
			if (f == NULL || setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
			    setuid(65534) != 0)
				_exit(10);
			u = symbolizer_new("shmstat", f);
			if (u == NULL || symbolizer_add_proc(u, 1, "pid 1", two, 2) != 0)
				_exit(11);
			(void)symbolizer_name(u, 1, 0x10010, 1);
			(void)symbolizer_name(u, 1, 0x20010, 1);
			symbolizer_free(u);
			_exit(fclose(f) == 0 ? 0 : 12);
		}
		close(pfd[1]);
		while ((n = read(pfd[0], got + len, sizeof(got) - 1 - len)) > 0)
			len += (size_t)n;
		got[len] = '\0';
		close(pfd[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(count_lines(got), 2);
		bare = without_paths(got);
		{
			char *nl = strchr(bare, '\n');

			assert_non_null(nl);
			if (strncmp(bare, nl + 1, (size_t)(nl - bare) + 1) != 0)
				fail_msg("warnings differ:\n%s", got);
		}
		free(bare);
	} else {
		fprintf(stderr, "test_hostile_paths: the uid 65534 part skipped: not root\n");
	}
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(secret), 0);
	assert_int_equal(unlink(text_file), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The .gnu_debuglink name in ELF file @path into @name; 0, or -1 when it
 * has none. */
static int debuglink_of(const char *path, char *name, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *e;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_getshdrstrndx(e, &shstrndx) == 0) {
		while ((scn = elf_nextscn(e, scn)) != NULL) {
			GElf_Shdr sh;
			const char *sn;
			Elf_Data *d;

			if (gelf_getshdr(scn, &sh) == NULL ||
			    (sn = elf_strptr(e, shstrndx, sh.sh_name)) == NULL ||
			    strcmp(sn, ".gnu_debuglink") != 0)
				continue;
			d = elf_getdata(scn, NULL);
			if (d && d->d_size > 0 && memchr(d->d_buf, '\0', d->d_size) &&
			    strlen(d->d_buf) > 0 && strlen(d->d_buf) < n && !strchr(d->d_buf, '/')) {
				strcpy(name, d->d_buf);
				rc = 0;
			}
			break;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

/*
 * A writer names its own binary, a copy of /bin/true (no .symtab, a
 * .gnu_debuglink), and beside it a FIFO with no writer under the
 * debuglink's name: looking a name up in it must not open the FIFO
 * (libdwfl's debuglink search opens blocking; alarm() ends a hang).
 */
static void test_debuglink_fifo(void **state)
{
	char dir[] = "/tmp/test_symbolize.XXXXXX";
	char exe[sizeof(dir) + 16], fifo[sizeof(dir) + 300], link[256];
	struct sym_module m = { .base = 0x400000, .lo = 0x400000, .hi = 0x500000, .path = exe };
	struct symbolizer *s;
	int in, src, dst;
	char buf[65536], ev[4096];
	ssize_t n;

	(void)state;
	if (debuglink_of("/bin/true", link, sizeof(link)) != 0) {
		fprintf(stderr, "test_debuglink_fifo: skipped: /bin/true has no .gnu_debuglink\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/true", dir);
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, link);
	src = open("/bin/true", O_RDONLY | O_CLOEXEC);
	dst = open(exe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	assert_true(src >= 0 && dst >= 0);
	while ((n = read(src, buf, sizeof(buf))) > 0)
		assert_int_equal(write(dst, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(src);
	assert_int_equal(close(dst), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, fifo, IN_OPEN) >= 0);

	s = symbolizer_new("shmstat", NULL);
	assert_non_null(s);
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1", &m, 1), 0);
	alarm(30);
	assert_non_null(symbolizer_name(s, 1, 0x401234, 1));
	alarm(0);
	symbolizer_free(s);
	if (read(in, ev, sizeof(ev)) != -1 || errno != EAGAIN)
		fail_msg("the debuglink FIFO was opened (inotify)");
	close(in);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(exe), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_cache(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	uint64_t fn = fn_addr(sym_test_target);
	const char *a, *b;

	(void)state;
	assert_non_null(s);
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1", ml->m, ml->n), 0);
	assert_int_equal(symbolizer_add_proc(s, 2, "pid 2", ml->m, ml->n), 0);
	a = symbolizer_name(s, 1, fn + 4, 1);
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(symbolizer_name(s, 1, fn + 4, 1), a);
	/* the return address after it is the same lookup */
	assert_ptr_equal(symbolizer_name(s, 1, fn + 5, 0), a);
	/* equal names are one string, also across processes */
	assert_ptr_equal(symbolizer_name(s, 1, fn + 6, 1), a);
	assert_ptr_equal(symbolizer_name(s, 2, fn + 4, 1), a);
	b = symbolizer_name(s, 1, 0x10, 1);
	assert_ptr_equal(symbolizer_name(s, 1, 0x10, 1), b);
	/* many distinct addresses: the tables grow, earlier results stay */
	for (uint64_t i = 0; i < 20000; i++)
		(void)symbolizer_name(s, 1, 0x1000 + i, 1);
	assert_ptr_equal(symbolizer_name(s, 1, fn + 4, 1), a);
	assert_string_equal(a, "sym_test_target");
	symbolizer_free(s);
	modlist_free(ml);
}

static void test_odd_modules(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	uint64_t fn = fn_addr(sym_test_target);
	struct sym_module main_mod = *module_of(ml, fn);
	struct sym_module m[3] = {
		/* empty and reversed ranges are ignored */
		{ .base = 0, .lo = 0x500, .hi = 0x500, .path = "/a" },
		{ .base = 0, .lo = 0x700, .hi = 0x600, .path = "/b" },
		/* a huge module that overlaps everything below fn */
		{ .base = 0x1000, .lo = 0x1000, .hi = fn - 64, .path = "big\n\x1b[1m" },
	};

	(void)state;
	assert_non_null(s);
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1", m, 3), 0);
	assert_string_equal(symbolizer_name(s, 1, 0x500, 1), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, 0x650, 1), "[unknown]");
	assert_string_equal(symbolizer_name(s, 1, 0x6800, 1), "big??[1m+0x5800");
	assert_string_equal(symbolizer_name(s, 1, fn, 1), "[unknown]");
	/* declaring again adds modules and drops the cached "[unknown]" */
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1", &main_mod, 1), 0);
	assert_string_equal(symbolizer_name(s, 1, fn, 1), "sym_test_target");
	/* the main program's start lies inside "big": both are found */
	if (main_mod.lo > 0x1000 && main_mod.lo < fn - 64)
		assert_null(strstr(symbolizer_name(s, 1, main_mod.lo, 1), "big"));
	assert_string_equal(symbolizer_name(s, 1, 0x6800, 1), "big??[1m+0x5800");
	symbolizer_free(s);
	modlist_free(ml);
}

/* Random tables of overlapping, nested, repeated, empty and reversed
 * modules (a hostile writer's): the module named for each address is the
 * one find_mod found before it was indexed, the last in (lo, hi) order
 * that holds the address; found here by that order's walk back, bounded
 * by the running max of hi. Modules of the same range are told apart
 * only by their range. */
#define ODD_N 80

struct odd {
	uint64_t lo, hi;
	unsigned rec;
};

static int odd_cmp(const void *pa, const void *pb)
{
	const struct odd *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return 0;
}

static uint64_t odd_end(uint64_t *x)
{
	uint64_t r = xorshift64(x);

	switch (r % 16) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	default:
		return 0x10000 + ((r >> 8) % 48) * 0x100 + ((r >> 20) % 3);
	}
}

static void test_overlapping_tables(void **state)
{
	FILE *quiet = fopen("/dev/null", "w");
	uint64_t x = 0x853c49e6748fea9bULL;
	size_t asked = 0;

	(void)state;
	assert_non_null(quiet);
	for (int round = 0; round < 40; round++) {
		struct symbolizer *s = symbolizer_new("shmstat", quiet);
		struct sym_module m[ODD_N];
		struct odd sorted[ODD_N];
		uint64_t maxhi[ODD_N];
		char paths[ODD_N][32];
		size_t n = 1 + (size_t)(xorshift64(&x) % ODD_N), ns = 0;

		assert_non_null(s);
		for (size_t i = 0; i < n; i++) {
			uint64_t a = odd_end(&x), b = odd_end(&x);

			if (xorshift64(&x) % 8 != 0 && a > b) {
				uint64_t t = a;

				a = b;
				b = t;
			}
			snprintf(paths[i], sizeof(paths[i]), "/nonexistent/m%zu", i);
			m[i] = (struct sym_module){ .base = 0, .lo = a, .hi = b, .path = paths[i] };
			if (a < b)
				sorted[ns++] = (struct odd){ .lo = a, .hi = b, .rec = (unsigned)i };
		}
		qsort(sorted, ns, sizeof(*sorted), odd_cmp);
		for (size_t i = 0; i < ns; i++)
			maxhi[i] = i && maxhi[i - 1] > sorted[i].hi ? maxhi[i - 1] : sorted[i].hi;
		assert_int_equal(symbolizer_add_proc(s, 1, "pid 1", m, n), 0);
		for (size_t i = 0; i < 5 * n + 32; i++) {
			const struct sym_module *e = &m[i / 5 % n];
			uint64_t a = i >= 5 * n ? odd_end(&x) + (i % 2)
				     : (uint64_t[]){ e->lo, e->lo - 1, e->hi, e->hi - 1, e->hi + 1 }[i % 5];
			size_t lo = 0, hi = ns, want = SIZE_MAX;
			const char *got = symbolizer_name(s, 1, a, 1);
			unsigned long rec;
			uint64_t off;
			char *end;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (sorted[mid].lo <= a)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t k = lo; k-- > 0;) {
				if (maxhi[k] <= a)
					break;
				if (a < sorted[k].hi) {
					want = k;
					break;
				}
			}
			if (want == SIZE_MAX || a == 0) {
				/* pc 0 is no frame */
				assert_string_equal(got, "[unknown]");
			} else {
				/* "m<record>+0x<offset>" */
				if (got[0] != 'm')
					fail_msg("0x%" PRIx64 ": \"%s\"", a, got);
				rec = strtoul(got + 1, &end, 10);
				if (strncmp(end, "+0x", 3) != 0)
					fail_msg("0x%" PRIx64 ": \"%s\"", a, got);
				off = strtoull(end + 3, &end, 16);
				assert_int_equal(*end, 0);
				assert_true(rec < n);
				/* the same range as the walk's (and its offset) */
				assert_int_equal(m[rec].lo, sorted[want].lo);
				assert_int_equal(m[rec].hi, sorted[want].hi);
				assert_int_equal(off, a);
			}
			asked++;
		}
		symbolizer_free(s);
	}
	assert_true(asked > 1000);
	(void)fclose(quiet);
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_many_procs(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	uint64_t fn = fn_addr(sym_test_target);
	size_t fds = open_fds();
	const char *name = NULL;

	(void)state;
	assert_non_null(s);
	/* 500 processes of one program, each at its own (made-up) base */
	for (size_t p = 0; p < 500; p++) {
		struct sym_module m[MAXMODS];
		uint64_t shift = (uint64_t)p << 32;

		memcpy(m, ml->m, ml->n * sizeof(m[0]));
		for (size_t i = 0; i < ml->n; i++) {
			m[i].base += shift;
			m[i].lo += shift;
			m[i].hi += shift;
		}
		assert_int_equal(symbolizer_add_proc(s, p, NULL, m, ml->n), 0);
	}
	for (size_t p = 0; p < 500; p++) {
		const char *n = symbolizer_name(s, p, fn + ((uint64_t)p << 32) + 4, 1);

		if (!name)
			name = n;
		assert_ptr_equal(n, name);
	}
	assert_string_equal(name, "sym_test_target");
	assert_true(open_fds() <= fds + 8);
	symbolizer_free(s);
	assert_true(open_fds() <= fds);
	modlist_free(ml);
}

/*
 * A module file that its owner (a writer) truncates while the symbolizer
 * has it open: libdwfl maps the files it is given, so its next look into
 * the symbol table faulted (SIGBUS, `shmstat flame` killed). A file that
 * someone else than root may change is read into a private copy first:
 * names still come, from the copy.
 */
static void test_truncated_file(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	uint64_t fn = fn_addr(sym_test_target), other = fn_addr(sym_test_other);
	char path[] = "/tmp/test_symbolize.XXXXXX";
	struct sym_module m;
	FILE *in = fopen("/proc/self/exe", "rb");
	int fd = mkstemp(path);
	char buf[65536];
	size_t n;

	(void)state;
	assert_non_null(s);
	assert_non_null(in);
	assert_true(fd >= 0);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(fclose(in), 0);
	/* as root, the file of another user (root's own are not copied) */
	if (geteuid() == 0)
		assert_int_equal(fchown(fd, 65534, 65534), 0);
	m = *module_of(ml, fn);
	assert_ptr_equal(module_of(ml, other), module_of(ml, fn));
	m.path = path;
	assert_int_equal(symbolizer_add_proc(s, 7, "pid 7 (copy)", &m, 1), 0);
	assert_string_equal(symbolizer_name(s, 7, fn + 4, 1), "sym_test_target");
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_string_equal(symbolizer_name(s, 7, other + 4, 1), "sym_test_other");
	assert_int_equal(sym_test_other(2), 6);
	symbolizer_free(s);
	assert_int_equal(close(fd), 0);
	assert_int_equal(unlink(path), 0);
	modlist_free(ml);
}

/* C++ names demangled as perf and gdb show them; a name whose demangled
 * form grows exponentially, one too long to try and one that is not a
 * valid name come back as they are (a hostile writer's files name its
 * functions). */
static void test_cxx_names(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	char out[DEMANGLE_MAX + 1];

	(void)state;
	assert_non_null(s);
	assert_int_equal(symbolizer_add_proc(s, 1, "pid 1 (test)", ml->m, ml->n), 0);
	assert_string_equal(symbolizer_name(s, 1, fn_addr(sym_test_cxx) + 4, 1), "ns::hot(int)");
	assert_string_equal(symbolizer_name(s, 1, fn_addr(sym_test_blowup) + 4, 1), CXX_BLOWUP);
	assert_string_equal(symbolizer_name(s, 1, fn_addr(sym_test_long) + 4, 1), CXX_LONG);
	assert_string_equal(symbolizer_name(s, 1, fn_addr(sym_test_bad) + 4, 1), "_Z2nsX");
	assert_int_equal(sym_test_cxx(3) + sym_test_blowup(3) + sym_test_long(3) + sym_test_bad(3),
			 1 + 2 + 3 + 4 + 4 * (3 + 2 + 1));
	/* the limits themselves: a name of DEMANGLE_MAX_IN bytes is tried,
	 * a result of DEMANGLE_MAX bytes kept, one byte more of either not */
	for (size_t in = DEMANGLE_MAX_IN - 1; in <= DEMANGLE_MAX_IN + 1; in++) {
		char name[DEMANGLE_MAX_IN + 2];
		int n = snprintf(name, sizeof(name), "_Z%zu", in - 7);

		memset(name + n, 'a', in - 1 - (size_t)n);
		name[in - 1] = 'v';
		assert_int_equal(demangle(name, in, out), in <= DEMANGLE_MAX_IN ? in - 7 + 2 : 0);
	}
	/* "f..f(X..X, ...)", the type named once and referred to 9 times:
	 * 8191 bytes from 997, with a name of 171 bytes; of 172, one more */
	for (int f = 171; f <= 172; f++) {
		char name[1024];
		int n = snprintf(name, sizeof(name), "_Z%d", f);

		memset(name + n, 'f', (size_t)f);
		n += f + snprintf(name + n + f, sizeof(name) - (size_t)(n + f), "800");
		memset(name + n, 'X', 800);
		n += 800;
		for (int r = 0; r < 9; r++, n += 2)
			memcpy(name + n, "S_", 2);
		assert_int_equal(demangle(name, (size_t)n, out), f == 171 ? DEMANGLE_MAX : 0);
	}
	assert_int_equal(demangle("_ZN2ns3hotEi", 12, out), 12);
	assert_string_equal(out, "ns::hot(int)");
	assert_int_equal(demangle("_ZN2ns3hotEi", 9, out), 0); /* "_ZN2ns3ho": cut in a name */
	assert_int_equal(demangle("sym_test_target", 15, out), 0);
	symbolizer_free(s);
	modlist_free(ml);
}

/* A sample in a PLT stub is named "SYMBOL@plt", as perf and gdb name
 * it (it was "[file]": 16% of perf's samples in a loop calling a small
 * library function). The stub is found the way the CPU finds it: the
 * target of sym_plt_caller's call (e8 rel32) into this executable. */
static void test_plt_stub(void **state)
{
	struct modlist *ml = modlist_get();
	struct symbolizer *s = symbolizer_new("shmstat", NULL);
	const unsigned char *code = (const unsigned char *)(uintptr_t)fn_addr(sym_plt_caller);
	const struct sym_module *self = module_of(ml, fn_addr(sym_plt_caller));
	uint64_t stub = 0;

	(void)state;
	assert_non_null(s);
	assert_non_null(self);
	for (int i = 0; i < 32 && !stub; i++) {
		int32_t rel;
		uint64_t t;

		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, sizeof(rel));
		t = fn_addr(sym_plt_caller) + (uint64_t)i + 5 + (uint64_t)(int64_t)rel;
		if (t >= self->lo && t < self->hi)
			stub = t;
	}
	assert_true(stub != 0);
	assert_int_equal(symbolizer_add_proc(s, 3, "pid 3 (test)", ml->m, ml->n), 0);
	assert_string_equal(symbolizer_name(s, 3, stub, 1), "getppid@plt");
	/* inside the stub, and as a return address after its first byte */
	assert_string_equal(symbolizer_name(s, 3, stub + 6, 1), "getppid@plt");
	assert_string_equal(symbolizer_name(s, 3, stub + 1, 0), "getppid@plt");
	/* the function itself is still its own */
	assert_string_equal(symbolizer_name(s, 3, fn_addr(sym_plt_caller), 1), "sym_plt_caller");
	symbolizer_free(s);
	modlist_free(ml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_function),
		cmocka_unit_test(test_libc_function),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_build_id_mismatch),
		cmocka_unit_test(test_unreadable_files),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_debuglink_fifo),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_odd_modules),
		cmocka_unit_test(test_overlapping_tables),
		cmocka_unit_test(test_many_procs),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_cxx_names),
		cmocka_unit_test(test_plt_stub),
	};

	return cmocka_run_group_tests_name("symbolize", tests, NULL, NULL);
}
