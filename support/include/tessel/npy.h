/* npy.h - reading and writing numpy .npy arrays (format versions 1.0, 2.0
 * and 3.0), little-endian only.
 *
 * Example:
 *     struct tsl_npy a;
 *     if (tsl_npy_read_file("x.npy", &a, &diag) == TSL_STATUS_OK) {
 *         ... a.type, a.rank, a.dims, a.data (a.data_bytes) ...
 *         tsl_npy_fini(&a);
 *     }
 *
 * The reader treats files as hostile: the header must be exactly the dict
 * numpy writes ({'descr': ..., 'fortran_order': ..., 'shape': (...)}; keys
 * in any order, each once, nothing else), sizes are checked, big-endian and
 * fortran_order True are rejected, the data must be exactly as long as the
 * shape says.  Errors are PARSE (IO for file system problems) with the file
 * name as `where` and a message naming what was expected.
 *
 * support/ does not know the IR: element types are enum tsl_npy_type, whose
 * names ("f32", "i64", "bool", ...) are spelled like IR dtype names so
 * callers can map with tsl_dtype_from_name(). */
#ifndef TESSEL_NPY_H
#define TESSEL_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"

#define TSL_NPY_MAX_RANK 8

/* Columns: ident, name, numpy descr (little-endian), item size. */
#define TSL_NPY_TYPES(X)                                                       \
    X(F32, "f32", "<f4", 4)                                                    \
    X(F64, "f64", "<f8", 8)                                                    \
    X(F16, "f16", "<f2", 2)                                                    \
    X(I64, "i64", "<i8", 8)                                                    \
    X(I32, "i32", "<i4", 4)                                                    \
    X(I16, "i16", "<i2", 2)                                                    \
    X(I8, "i8", "|i1", 1)                                                      \
    X(U8, "u8", "|u1", 1)                                                      \
    X(U16, "u16", "<u2", 2)                                                    \
    X(U32, "u32", "<u4", 4)                                                    \
    X(U64, "u64", "<u8", 8)                                                    \
    X(BOOL, "bool", "|b1", 1)

enum tsl_npy_type {
#define TSL_NPY_ENUM_(id, name, descr, size) TSL_NPY_##id,
    TSL_NPY_TYPES(TSL_NPY_ENUM_)
#undef TSL_NPY_ENUM_
    TSL_NPY_TYPE_COUNT
};

struct tsl_npy {
    enum tsl_npy_type type;
    int32_t rank;
    int64_t dims[TSL_NPY_MAX_RANK];
    void *data;        /* data_bytes bytes, row-major, little-endian (owned) */
    size_t data_bytes; /* numel * item size */
};

/* "f32", ...; "?" if out of range. */
const char *tsl_npy_type_name(enum tsl_npy_type t);
/* Item size in bytes (0 if out of range). */
size_t tsl_npy_type_size(enum tsl_npy_type t);
/* Map an IR-style dtype name to a type; -1 if .npy cannot hold it. */
int tsl_npy_type_from_name(const char *name);

/* Parse a whole .npy image.  `where` names it in diagnostics.  On success
 * *out owns a copy of the data (tsl_npy_fini). */
enum tsl_status tsl_npy_parse(const void *buf, size_t len, const char *where,
                              struct tsl_npy *out, struct tsl_diag *diag);
/* Read and parse a file (at most 16 GiB). */
enum tsl_status tsl_npy_read_file(const char *path, struct tsl_npy *out, struct tsl_diag *diag);

/* Serialize a (version 1.0, or 2.0 if the header needs it) .npy image;
 * *buf_out is malloc'ed, caller frees.  a->data_bytes must match the shape
 * (INVALID_ARG otherwise). */
enum tsl_status tsl_npy_encode(const struct tsl_npy *a, uint8_t **buf_out, size_t *len_out,
                               struct tsl_diag *diag);
/* Write `a` to a fresh temporary file next to `path` ("<path>.tmpXXXXXX")
 * and return its malloc'ed name in *tmp_out; the caller renames it over
 * `path` (rename(2)) or removes it.  Nothing is left behind on failure. */
enum tsl_status tsl_npy_write_temp(const char *path, const struct tsl_npy *a, char **tmp_out,
                                   struct tsl_diag *diag);
/* Write atomically: temp file + rename. */
enum tsl_status tsl_npy_write_file(const char *path, const struct tsl_npy *a,
                                   struct tsl_diag *diag);

/* Free the data; NULL is a no-op. */
void tsl_npy_fini(struct tsl_npy *a);

#endif
