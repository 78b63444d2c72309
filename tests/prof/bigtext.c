/* bigtext - a plugin with 1 MiB of code, dlopen()ed and dlclose()d by
 * test_stale_text.c so that its range is a hole afterwards. */
void bigtext(void);
void bigtext(void)
{
	__asm__ volatile(".fill 0x100000,1,0x90");
}
