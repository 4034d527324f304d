/* util.h - small allocation and arithmetic helpers shared by every module.
 *
 * Checked 64-bit arithmetic (tensor sizes come from untrusted files), a
 * growable-array helper and string duplication.  Nothing here prints, exits or
 * keeps state. */
#ifndef TESSEL_UTIL_H
#define TESSEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a*b and a+b on int64, false on overflow (result untouched then). */
static inline bool tsl_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}
static inline bool tsl_add_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}
static inline bool tsl_mul_size(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* Make room for `need` elements of `elem` bytes in *p (capacity *cap).
 * Returns false on overflow or allocation failure; *p is then unchanged. */
bool tsl_grow(void **p, size_t *cap, size_t need, size_t elem);

/* malloc'ed copy of s (NULL in, NULL out; NULL also on allocation failure). */
char *tsl_strdup(const char *s);
/* malloc'ed printf; NULL on failure. */
char *tsl_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TSL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
