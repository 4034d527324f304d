/* ref_test_util.h - helpers for the reference-kernel unit tests: build a
 * one-node graph whose inputs are graph inputs, run it with tsl_ref_run and
 * compare outputs.  Header-only (static functions) so each test file stays
 * one executable. */
#ifndef TESSEL_REF_TEST_UTIL_H
#define TESSEL_REF_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/ir.h"
#include "tessel/reference.h"

/* A test tensor: dtype UNDEF = omitted optional input. */
struct tt {
    enum tsl_dtype dt;
    int32_t rank;
    int64_t dims[TSL_MAX_RANK];
    const void *data;
};

#define TT(dt_, rank_, data_, ...) \
    ((struct tt){TSL_DTYPE_##dt_, rank_, {__VA_ARGS__}, data_})
#define TT_NONE ((struct tt){TSL_DTYPE_UNDEF, 0, {0}, NULL})

static inline union tsl_attrs attrs_of(enum tsl_op op)
{
    union tsl_attrs a;
    memset(&a, 0, sizeof a);
    tsl_attrs_set_defaults(tsl_op_info(op)->attr_kind, &a);
    return a;
}

/* Run op on ins; returns the status, outputs in *outs (caller frees with
 * tsl_tensors_free(*outs, n_out)) and the first error message in msg. */
static inline enum tsl_status run_op_msg(enum tsl_op op, const union tsl_attrs *attrs,
                                         uint32_t n_in, const struct tt *ins, uint32_t n_out,
                                         struct tsl_tensor **outs, char *msg, size_t msg_cap)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    struct tsl_value *vals[16] = {0};
    struct tsl_tensor tins[16];
    uint32_t n_bound = 0;
    for (uint32_t i = 0; i < n_in; i++) {
        if (ins[i].dt == TSL_DTYPE_UNDEF)
            continue;
        char name[16];
        snprintf(name, sizeof name, "in%u", i);
        struct tsl_type t = tsl_type_make(ins[i].dt, ins[i].rank, ins[i].dims);
        assert_int_equal(tsl_graph_add_input(g, name, &t, &vals[i]), TSL_STATUS_OK);
        tins[n_bound] = (struct tsl_tensor){.dtype = ins[i].dt, .data = (void *)ins[i].data};
        tins[n_bound].shape = t.shape;
        n_bound++;
    }
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, "node", n_in, vals, n_out, &n, NULL),
                     TSL_STATUS_OK);
    if (attrs)
        n->attrs = *attrs;
    for (uint32_t i = 0; i < n_out; i++)
        assert_int_equal(tsl_graph_add_output(g, n->outputs[i]), TSL_STATUS_OK);
    struct tsl_diag d;
    tsl_diag_init(&d);
    uint32_t got_n = 0;
    struct tsl_ref_stats st;
    *outs = NULL;
    enum tsl_status s = tsl_ref_run(g, tins, n_bound, outs, &got_n, &st, &d);
    if (s == TSL_STATUS_OK)
        assert_int_equal(got_n, n_out);
    if (msg && msg_cap) {
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        snprintf(msg, msg_cap, "%s: %s", e ? e->where : "", e ? e->message : "");
    }
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
    return s;
}

static inline struct tsl_tensor *run_op(enum tsl_op op, const union tsl_attrs *attrs,
                                        uint32_t n_in, const struct tt *ins, uint32_t n_out)
{
    struct tsl_tensor *outs;
    char msg[512];
    enum tsl_status s = run_op_msg(op, attrs, n_in, ins, n_out, &outs, msg, sizeof msg);
    if (s != TSL_STATUS_OK)
        fail_msg("%s failed: %s", tsl_op_name(op), msg);
    return outs;
}

static inline void check_shape(const struct tsl_tensor *t, int32_t rank, const int64_t *dims)
{
    assert_int_equal(t->shape.rank, rank);
    for (int32_t i = 0; i < rank; i++)
        assert_int_equal(t->shape.dims[i], dims[i]);
}

static inline void check_f32(const struct tsl_tensor *t, const float *want, int64_t n, float tol)
{
    assert_int_equal(t->dtype, TSL_DTYPE_F32);
    for (int64_t i = 0; i < n; i++) {
        float g = ((const float *)t->data)[i];
        if (!(fabsf(g - want[i]) <= tol) && !(isnan(g) && isnan(want[i])))
            fail_msg("element %lld: got %.9g want %.9g", (long long)i, g, want[i]);
    }
}

static inline void check_i64(const struct tsl_tensor *t, const int64_t *want, int64_t n)
{
    assert_int_equal(t->dtype, TSL_DTYPE_I64);
    for (int64_t i = 0; i < n; i++)
        if (((const int64_t *)t->data)[i] != want[i])
            fail_msg("element %lld: got %lld want %lld", (long long)i,
                     (long long)((const int64_t *)t->data)[i], (long long)want[i]);
}

static inline void check_bytes(const struct tsl_tensor *t, enum tsl_dtype dt, const void *want,
                               size_t n)
{
    assert_int_equal(t->dtype, dt);
    assert_memory_equal(t->data, want, n);
}

#endif
