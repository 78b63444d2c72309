/* The same program as C++ (test_header.c): the headers under g++ and
 * clang++ with -Wold-style-cast, -Wshadow and the like. */
#include "test_header.c"
