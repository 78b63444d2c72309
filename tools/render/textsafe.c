/*
 * textsafe.c - segment-derived strings made safe for a terminal
 * (textsafe.h).
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "textsafe.h"

size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) { len = 2; v = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { len = 3; v = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { len = 4; v = c & 0x07; min = 0x10000; }
	else return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[k] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static int is_control(uint32_t cp, int flags)
{
	if ((flags & TS_KEEP_NL) && (cp == '\n' || cp == '\t'))
		return 0;
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* One piece of @s at @i: bytes to copy (*esc 0) or one byte to escape
 * (*esc 1). */
static size_t piece(const unsigned char *s, size_t n, size_t i, int flags, int *esc)
{
	uint32_t cp;
	size_t l = utf8_seq(s + i, n - i, &cp);

	*esc = l == 0 || is_control(cp, flags) || ((flags & TS_BACKSLASH) && cp == '\\');
	return *esc ? 1 : l;
}

static size_t len_to_nul(const char *s, size_t n)
{
	const char *z = memchr(s, '\0', n);

	return z ? (size_t)(z - s) : n;
}

char *text_safe_n(char *dst, size_t cap, const char *s, size_t n, int flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	n = s ? len_to_nul(s, n) : 0;
	for (size_t i = 0, l; i < n; i += l) {
		int esc;

		l = piece(u, n, i, flags, &esc);
		if (esc) {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[u[i] >> 4];
			dst[o++] = hex[u[i] & 15];
		} else {
			if (o + l >= cap)
				break;
			memcpy(dst + o, s + i, l);
			o += l;
		}
	}
	dst[o] = '\0';
	return dst;
}

char *text_safe(char *dst, size_t cap, const char *s)
{
	return text_safe_n(dst, cap, s, s ? strlen(s) : 0, 0);
}

char *owner_safe(char *dst, size_t cap, const char *s)
{
	return text_safe_n(dst, cap, s, s ? strlen(s) : 0, TS_BACKSLASH);
}

void put_safe(FILE *f, const char *s, int flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0, l; i < n; i += l) {
		int esc;

		l = piece(u, n, i, flags, &esc);
		if (esc)
			fprintf(f, "\\x%02x", u[i]);
		else
			(void)fwrite(s + i, 1, l, f);
	}
}

int text_cp_cols(const char *s, size_t n, size_t *len)
{
	uint32_t cp;
	int w;

	/* a byte that is not UTF-8 (text_safe() leaves none): one column */
	*len = utf8_seq((const unsigned char *)s, n, &cp);
	if (*len == 0) {
		*len = 1;
		return 1;
	}
	if (MB_CUR_MAX == 1 || (w = wcwidth((wchar_t)cp)) < 0)
		return 1;
	return w;
}

int text_cols(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0, l; i < n && s[i]; i += l)
		c += text_cp_cols(s + i, n - i, &l);
	return c;
}
