/*
 * textsafe.h - strings that came from a segment (or any file another user
 * controls), made safe for a terminal and for JSON.
 *
 * Writers choose metric label values, help texts, signature-table owners
 * and keys, and process names: any of them may hold ESC, BEL, CR or bytes
 * that are not UTF-8. Human-readable output (show, list, top, watch,
 * hist, flame warnings, error messages) prints them through text_safe();
 * JSON through json_put() (tools/cli.c), which replaces bytes that are
 * not UTF-8.
 */
#ifndef SHMSTAT_TEXTSAFE_H
#define SHMSTAT_TEXTSAFE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length of the well-formed UTF-8 sequence at @s (of at most @n bytes),
 * its code point in *@cp; 0 when the bytes there are not UTF-8. */
size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* Flags of text_safe(). */
enum {
	TS_KEEP_NL = 1,         /* newline and tab kept (multi-line messages) */
	TS_BACKSLASH = 2,       /* a backslash is \x5c too: for strings that are
				 * not escaped labels (signature owners), so
				 * that the byte 0xff and the text \xff differ */
};

/* The first @n bytes of @s (up to a NUL) into @dst (capacity @cap > 0,
 * always NUL-terminated, an escape never cut): valid UTF-8 as it is,
 * except control characters (C0 including tab and newline, DEL, C1
 * U+0080..U+009F) and bytes that are not UTF-8, which become \xNN (one
 * per byte). Backslashes are kept: canonical labels already escape
 * theirs (a literal \ in a value is \\), so \xNN cannot be forged there.
 * Return @dst. */
char *text_safe_n(char *dst, size_t cap, const char *s, size_t n, int flags);
char *text_safe(char *dst, size_t cap, const char *s);
/* text_safe() with TS_BACKSLASH: a signature-table owner's name, printed
 * next to keys (which fmt_sigkey() escapes the same way). */
char *owner_safe(char *dst, size_t cap, const char *s);

/* The terminal columns of the first @n bytes of @s as text_safe() leaves
 * it: a character each, or its wcwidth() when the locale (LC_CTYPE) has
 * multibyte characters: a CJK character two, a combining accent none.
 * For columns that line up (strlen() counts bytes: "東京支店", 12 bytes,
 * takes 8 columns). */
int text_cols(const char *s, size_t n);
/* The columns of the character at @s (@n > 0 bytes there), as above; its
 * bytes in *@len (1 for a byte that is not UTF-8). */
int text_cp_cols(const char *s, size_t n, size_t *len);

/* The same, written to @f whatever the length. */
void put_safe(FILE *f, const char *s, int flags);

#endif
