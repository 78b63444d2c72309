/*
 * nomhd.c - a shared library that cli.sh installs as libmicrohttpd.so.12
 * in a directory of LD_LIBRARY_PATH: one without the functions serve
 * loads (tools/cmd/mhd.c), whose absence must be a clear error. The
 * flame test (tests/prof/flame.sh) installs it as libdw.so.1 likewise
 * (tools/symbolize/dw.c).
 */
int cli_nomhd_marker;
