/* shape_test_util.h - small graph-building helpers shared by the shape
 * inference tests (header-only, static functions; tests only). */
#ifndef TESSEL_SHAPE_TEST_UTIL_H
#define TESSEL_SHAPE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/ir.h"
#include "tessel/shape.h"

static inline struct tsl_graph *new_graph(void)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    return g;
}

static inline int64_t sym(struct tsl_graph *g, const char *name)
{
    uint32_t k;
    assert_int_equal(tsl_graph_symbol(g, name, &k), TSL_STATUS_OK);
    return TSL_DIM_SYM(k);
}

static inline struct tsl_value *input(struct tsl_graph *g, const char *name, enum tsl_dtype dt,
                                      int32_t rank, const int64_t *dims)
{
    struct tsl_type t = tsl_type_make(dt, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_input(g, name, &t, &v), TSL_STATUS_OK);
    return v;
}

/* 1-D i64 constant (rank 0 when n is 0 and scalar is set). */
static inline struct tsl_value *const_i64(struct tsl_graph *g, const char *name, int32_t n,
                                          const int64_t *vals)
{
    int64_t dims[1] = {n};
    struct tsl_type t = tsl_type_make(TSL_DTYPE_I64, 1, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, vals, &v), TSL_STATUS_OK);
    return v;
}

static inline struct tsl_value *scalar_i64(struct tsl_graph *g, const char *name, int64_t x)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_I64, 0, NULL);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, &x, &v), TSL_STATUS_OK);
    return v;
}

static inline struct tsl_value *const_f32(struct tsl_graph *g, const char *name, int32_t rank,
                                          const int64_t *dims, const float *vals)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, vals, &v), TSL_STATUS_OK);
    return v;
}

static inline struct tsl_node *add(struct tsl_graph *g, enum tsl_op op, const char *name,
                                   uint32_t n_in, struct tsl_value *const *ins, uint32_t n_out)
{
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, name, n_in, ins, n_out, &n, NULL), TSL_STATUS_OK);
    return n;
}

static inline void set_ints(struct tsl_ints *l, uint32_t n, const int64_t *v)
{
    l->n = n;
    for (uint32_t i = 0; i < n; i++)
        l->v[i] = v[i];
}

static inline void infer_ok(struct tsl_graph *g)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    enum tsl_status st = tsl_infer_shapes(g, &d);
    if (st != TSL_STATUS_OK) {
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        print_error("unexpected: %s: %s\n", e ? e->where : "", e ? e->message : "");
    }
    tsl_diag_fini(&d);
    assert_int_equal(st, TSL_STATUS_OK);
}

/* Inference must fail with VERIFY, at `where`, with `needle` in the message. */
static inline void infer_fails(struct tsl_graph *g, const char *where, const char *needle)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    enum tsl_status st = tsl_infer_shapes(g, &d);
    const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
    assert_int_equal(st, TSL_STATUS_VERIFY);
    assert_non_null(e);
    if (!strstr(e->message, needle) || strcmp(e->where, where) != 0)
        print_error("got '%s: %s', want '%s: ...%s...'\n", e->where, e->message, where, needle);
    assert_string_equal(e->where, where);
    assert_non_null(strstr(e->message, needle));
    tsl_diag_fini(&d);
}

static inline void assert_type(const struct tsl_value *v, enum tsl_dtype dt, int32_t rank,
                               const int64_t *dims)
{
    assert_int_equal(v->type.dtype, dt);
    assert_int_equal(v->type.shape.rank, rank);
    for (int32_t i = 0; i < rank; i++) {
        if (v->type.shape.dims[i] != dims[i])
            print_error("dim %d: got %lld want %lld\n", i, (long long)v->type.shape.dims[i],
                        (long long)dims[i]);
        assert_int_equal(v->type.shape.dims[i], dims[i]);
    }
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define VALS(...) ((struct tsl_value *const[]){__VA_ARGS__})

#endif
