/* test_util.h - small helpers shared by the C tests (tests/ only): reading a
 * whole file.  Tests include it through the tests/ include directory that
 * tessel_add_unit_test adds. */
#ifndef TESSEL_TEST_UTIL_H
#define TESSEL_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file, NUL-terminated, malloc'ed; NULL if it cannot be read.
 * *len_out gets its length. */
static inline char *tsl_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s) {
        s[n] = 0;
        *len_out = (size_t)n;
    }
    return s;
}

#endif
