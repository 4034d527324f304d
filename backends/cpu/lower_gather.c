/* lower_gather.c - data-movement ops whose source element for every output
 * element is fixed at compile time: Slice, Pad (constant, edge, reflect,
 * wrap), Tile, Expand, Gather, GatherElements, GatherND (constant indices),
 * DepthToSpace, SpaceToDepth, Split-free nearest Resize.
 *
 * The index map is computed once at compile time by running the node through
 * the reference interpreter (the oracle) on an int64 tensor holding each
 * input element's flat index plus one (Pad's value and Resize's extrapolation
 * value replaced by 0, which marks padding), so the map has
 * exactly the reference's semantics, attributes and edge cases included.
 * The map is then compressed into blocks: the largest block length L such
 * that every output block of L elements reads L consecutive input elements
 * (or is all padding); the blob holds one int32 source offset per block
 * (-1: fill with the pad value) and the generated code copies each block
 * with a memcpy of L elements (any dtype of whole bytes: f32 as floats,
 * the others by bytes, padding filled with the pad value's bits).  Slice of rows, Pad, Tile and Gather on axis 0
 * get long blocks; element-wise permutations degrade to L = 1.
 *
 * Also the helpers shared with the other late families (lower_ext.h):
 * constant-input checks, compile-time reference evaluation, entry allocas.
 * Not here: op semantics (the reference owns them), affine strided views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_ext.h"
#include "tessel/reference.h"
#include "tessel/util.h"

enum tsl_status tsl_cpu_require_const_inputs(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                             uint32_t first)
{
    for (uint32_t i = first; i < n->n_inputs; i++)
        if (n->inputs[i] && !n->inputs[i]->constant)
            return tsl_cpu_unsupported(cg, n, "input %u ('%s') must be a constant", i,
                                       n->inputs[i]->name);
    return TSL_STATUS_OK;
}

/* Copy constant v into graph h as `name` (same type; one node may use the
 * same constant for several inputs, so names are per input slot). */
static enum tsl_status copy_const(struct tsl_cpu_cg *cg, struct tsl_graph *h,
                                  const struct tsl_value *v, const char *name,
                                  struct tsl_value **out)
{
    void *dense = NULL;
    TSL_TRY(tsl_const_decode(v, &dense, cg->diag));
    enum tsl_status st = tsl_graph_add_dense_constant(h, name, &v->type, dense, out);
    free(dense);
    if (st != TSL_STATUS_OK)
        return tsl_diag_error(cg->diag, st, v->name, "cpu backend: copying a constant");
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_ref_eval(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                 const struct tsl_tensor *const *over,
                                 const union tsl_attrs *attrs, struct tsl_tensor **out)
{
    char wb[64];
    const char *where = tsl_cpu_node_where(n, wb, sizeof wb);
    struct tsl_graph *h = NULL;
    if (tsl_graph_create("cpu_eval", &h) != TSL_STATUS_OK)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, where, "cpu backend: eval graph");
    struct tsl_value *ins[TSL_CPU_NEST_MAX * 2] = {0};
    enum tsl_status st = TSL_STATUS_OK;
    if (n->n_inputs > TSL_ARRAY_LEN(ins))
        st = tsl_cpu_unsupported(cg, n, "too many inputs");
    for (uint32_t i = 0; i < n->n_inputs && st == TSL_STATUS_OK; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v)
            continue;
        if (i == 0) {
            struct tsl_type t = tsl_type_make(over[0]->dtype, over[0]->shape.rank,
                                              over[0]->shape.dims);
            st = tsl_graph_add_input(h, "x", &t, &ins[0]);
        } else if (over[i]) {
            struct tsl_type t = tsl_type_make(over[i]->dtype, over[i]->shape.rank,
                                              over[i]->shape.dims);
            char nm[32];
            snprintf(nm, sizeof nm, "c%u", i);
            st = tsl_graph_add_dense_constant(h, nm, &t, over[i]->data, &ins[i]);
        } else {
            char nm[32];
            snprintf(nm, sizeof nm, "c%u", i);
            st = copy_const(cg, h, v, nm, &ins[i]);
        }
    }
    struct tsl_node *nn = NULL;
    if (st == TSL_STATUS_OK)
        st = tsl_graph_add_node(h, n->op, "eval", n->n_inputs, ins, n->n_outputs, &nn, NULL);
    if (st == TSL_STATUS_OK) {
        nn->attrs = attrs ? *attrs : n->attrs;
        st = tsl_graph_add_output(h, nn->outputs[0]);
    }
    if (st != TSL_STATUS_OK && !tsl_diag_first_error(cg->diag))
        st = tsl_diag_error(cg->diag, st, where, "cpu backend: building the eval graph");
    struct tsl_tensor *res = NULL;
    uint32_t n_res = 0;
    struct tsl_ref_stats rs;
    if (st == TSL_STATUS_OK)
        st = tsl_ref_run(h, over[0], 1, &res, &n_res, &rs, cg->diag);
    tsl_graph_destroy(h);
    TSL_TRY(st);
    if (n_res > 1) {
        for (uint32_t i = 1; i < n_res; i++)
            tsl_tensor_fini(&res[i]);
    }
    *out = res;
    return TSL_STATUS_OK;
}

/* ---- the index-table lowering ------------------------------------------- */

struct table {
    int32_t *src;    /* per block: flat input offset or -1 */
    int64_t blocks, len;
    bool any_pad;
    float pad;       /* f32 data */
    uint64_t pad_bits; /* other dtypes: the pad value's storage bits */
};

/* Bytes per element of the table lowering's data: whole bytes only. */
static int elem_bytes(enum tsl_dtype dt)
{
    int bits = tsl_dtype_bits(dt);
    return dt == TSL_DTYPE_F16 || dt == TSL_DTYPE_BF16 || (bits >= 8 && bits % 8 == 0)
               ? bits / 8
               : 0;
}

static bool is_pad_op(const struct tsl_node *n)
{
    return n->op == TSL_OP_PAD && n->attrs.pad.mode == TSL_pad_mode_CONSTANT;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static enum tsl_status table_check_node(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                        const struct tsl_value *out)
{
    const struct tsl_value *x = n->inputs[0];
    if (x->type.dtype == TSL_DTYPE_F32 || out->type.dtype == TSL_DTYPE_F32) {
        TSL_TRY(tsl_cpu_require_f32(cg, n, x));
        TSL_TRY(tsl_cpu_require_f32(cg, n, out));
    } else if (x->type.dtype != out->type.dtype || !elem_bytes(x->type.dtype) ||
               !tsl_shape_is_static(&x->type.shape) || !tsl_shape_is_static(&out->type.shape)) {
        return tsl_cpu_unsupported(cg, n, "data dtype %s is not lowered",
                                   tsl_dtype_name(x->type.dtype));
    }
    TSL_TRY(tsl_cpu_require_const_inputs(cg, n, 1));
    if (n->op == TSL_OP_RESIZE && n->attrs.resize.mode != TSL_resize_mode_NEAREST)
        return tsl_cpu_unsupported(cg, n, "internal: non-nearest Resize in the table path");
    int64_t in_n = tsl_cpu_numel(n->inputs[0]);
    if (in_n >= INT32_MAX || tsl_cpu_numel(out) >= INT32_MAX)
        return tsl_cpu_unsupported(cg, n, "more than 2^31 elements");
    return TSL_STATUS_OK;
}

static enum tsl_status build_table(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                   const struct tsl_value *out, struct table *t)
{
    memset(t, 0, sizeof *t);
    const struct tsl_value *x = n->inputs[0];
    int64_t in_n = tsl_cpu_numel(x), on = tsl_cpu_numel(out);
    struct tsl_tensor idx = {.dtype = TSL_DTYPE_I64, .shape = x->type.shape};
    idx.data = malloc((size_t)(in_n ? in_n : 1) * sizeof(int64_t));
    if (!idx.data)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "index table");
    /* element i holds i + 1, so 0 marks padding / extrapolation */
    for (int64_t i = 0; i < in_n; i++)
        ((int64_t *)idx.data)[i] = i + 1;
    union tsl_attrs at = n->attrs;
    int pad_in = n->op == TSL_OP_PAD && n->n_inputs > 2 && n->inputs[2] ? 2 : -1;
    const struct tsl_tensor *over[8] = {&idx};
    int64_t zero = 0;
    struct tsl_tensor padv = {.dtype = TSL_DTYPE_I64, .data = &zero};
    if (pad_in > 0) {
        if (tsl_cpu_numel(n->inputs[2]) != 1) {
            free(idx.data);
            return tsl_cpu_unsupported(cg, n, "pad value must be a scalar");
        }
        padv.shape = n->inputs[2]->type.shape;
        over[2] = &padv;
    }
    if (n->op == TSL_OP_RESIZE)
        at.resize.extrapolation_value = 0.0f;
    if (n->n_inputs > TSL_ARRAY_LEN(over)) {
        free(idx.data);
        return tsl_cpu_unsupported(cg, n, "too many inputs");
    }
    struct tsl_tensor *res = NULL;
    enum tsl_status st = tsl_cpu_ref_eval(cg, n, over, &at, &res);
    free(idx.data);
    TSL_TRY(st);
    int64_t rn = 0;
    if (!tsl_shape_equal(&res->shape, &out->type.shape) || res->dtype != TSL_DTYPE_I64 ||
        !tsl_shape_numel(&res->shape, &rn) || rn != on) {
        tsl_tensors_free(res, 1);
        return tsl_cpu_unsupported(cg, n, "reference output shape differs from the inferred one");
    }
    int64_t *m = res->data;
    for (int64_t i = 0; i < on; i++)
        m[i] -= 1;
    /* block length: gcd of the output size and every run break */
    int64_t L = on;
    for (int64_t i = 1; i < on && L > 1; i++) {
        bool cont = (m[i] < 0 && m[i - 1] < 0) || (m[i] >= 0 && m[i - 1] >= 0 && m[i] == m[i - 1] + 1);
        if (!cont)
            L = gcd64(L, i);
    }
    if (L < 1)
        L = 1;
    t->len = L;
    t->blocks = on / L;
    t->src = malloc((size_t)(t->blocks ? t->blocks : 1) * sizeof *t->src);
    if (!t->src) {
        tsl_tensors_free(res, 1);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "index table");
    }
    for (int64_t b = 0; b < t->blocks; b++) {
        int64_t s = m[b * L];
        if (s < -1 || s >= in_n) {
            tsl_tensors_free(res, 1);
            free(t->src);
            t->src = NULL;
            return tsl_cpu_unsupported(cg, n, "index map out of range");
        }
        t->src[b] = (int32_t)s;
        if (s < 0)
            t->any_pad = true;
    }
    tsl_tensors_free(res, 1);
    if (t->any_pad && pad_in > 0 && is_pad_op(n) && x->type.dtype != TSL_DTYPE_F32) {
        void *pv = NULL;
        TSL_TRY(tsl_const_decode(n->inputs[2], &pv, cg->diag));
        if (n->inputs[2]->type.dtype != x->type.dtype) {
            free(pv);
            return tsl_cpu_unsupported(cg, n, "pad value dtype differs from the data's");
        }
        memcpy(&t->pad_bits, pv, (size_t)elem_bytes(x->type.dtype)); /* little-endian */
        free(pv);
    } else if (t->any_pad && pad_in > 0 && is_pad_op(n)) {
        float *pv = NULL;
        TSL_TRY(tsl_cpu_const_f32(cg, n->inputs[2], &pv));
        t->pad = pv[0];
        free(pv);
    } else if (n->op == TSL_OP_RESIZE) {
        t->pad = n->attrs.resize.extrapolation_value;
    }
    return TSL_STATUS_OK;
}

static enum tsl_status table_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    TSL_TRY(table_check_node(cg, st->node, st->out));
    struct table t;
    TSL_TRY(build_table(cg, st->node, st->out, &t));
    free(t.src);
    return TSL_STATUS_OK;
}

/* The table's copy loop for data of es bytes per element (not f32): blocks
 * are memcpy'd by bytes, padding blocks filled with the pad value's bits. */
static enum tsl_status emit_bytes(struct tsl_cpu_cg *cg, const struct table *t, int64_t off,
                                  LLVMValueRef src, LLVMValueRef dst, int es)
{
    LLVMBuilderRef bld = cg->b;
    LLVMTypeRef ety = LLVMIntTypeInContext(cg->ctx, (unsigned)es * 8);
    LLVMValueRef s8 = LLVMBuildBitCast(bld, src, cg->t_pi8, "");
    LLVMValueRef d8 = LLVMBuildBitCast(bld, dst, cg->t_pi8, "");
    LLVMTypeRef pi32 = LLVMPointerType(cg->t_i32, 0);
    LLVMValueRef tbl = LLVMBuildBitCast(bld, tsl_cpu_weight_ptr(cg, off), pi32, "");
    struct tsl_cpu_loop lb;
    LLVMValueRef b = tsl_cpu_loop_begin(cg, &lb, 0, t->blocks, 1, "blk");
    LLVMValueRef sv = LLVMBuildLoad2(bld, cg->t_i32, LLVMBuildInBoundsGEP2(bld, cg->t_i32, tbl, &b,
                                                                         1, ""), "");
    LLVMSetAlignment(sv, 4);
    LLVMValueRef s64 = LLVMBuildSExt(bld, sv, cg->t_i64, "");
    LLVMValueRef doff = LLVMBuildNSWMul(bld, b, tsl_cpu_i64(cg, t->len * es), "");
    LLVMValueRef dp = LLVMBuildInBoundsGEP2(bld, cg->t_i8, d8, &doff, 1, "");
    LLVMBasicBlockRef done = NULL;
    if (t->any_pad) {
        LLVMBasicBlockRef fill = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "fill");
        LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "copy");
        done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "next");
        LLVMValueRef neg = LLVMBuildICmp(bld, LLVMIntSLT, s64, tsl_cpu_i64(cg, 0), "");
        LLVMBuildCondBr(bld, neg, fill, copy);
        LLVMPositionBuilderAtEnd(bld, fill);
        LLVMValueRef de = LLVMBuildBitCast(bld, dp, LLVMPointerType(ety, 0), "");
        struct tsl_cpu_loop lf;
        LLVMValueRef j = tsl_cpu_loop_begin(cg, &lf, 0, t->len, 1, "f");
        tsl_cpu_typed_store(cg, LLVMConstInt(ety, t->pad_bits, 0),
                            LLVMBuildInBoundsGEP2(bld, ety, de, &j, 1, ""));
        tsl_cpu_loop_end(cg, &lf);
        LLVMBuildBr(bld, done);
        LLVMPositionBuilderAtEnd(bld, copy);
    }
    LLVMValueRef soff = LLVMBuildNSWMul(bld, s64, tsl_cpu_i64(cg, es), "");
    LLVMBuildMemCpy(bld, dp, 1, LLVMBuildInBoundsGEP2(bld, cg->t_i8, s8, &soff, 1, ""), 1,
                    tsl_cpu_i64(cg, t->len * es));
    if (done) {
        LLVMBuildBr(bld, done);
        LLVMPositionBuilderAtEnd(bld, done);
    }
    tsl_cpu_loop_end(cg, &lb);
    return TSL_STATUS_OK;
}

static enum tsl_status table_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    struct table t;
    TSL_TRY(build_table(cg, n, st->out, &t));
    LLVMValueRef src, dst;
    enum tsl_status s = tsl_cpu_ptr(cg, n->inputs[0], &src);
    if (s == TSL_STATUS_OK)
        s = tsl_cpu_ptr(cg, st->out, &dst);
    int64_t off = 0;
    if (s == TSL_STATUS_OK)
        s = tsl_cpu_blob_add(cg, t.src, (size_t)t.blocks * sizeof *t.src, &off);
    free(t.src);
    TSL_TRY(s);
    if (t.blocks == 0)
        return TSL_STATUS_OK;
    enum tsl_dtype dt = n->inputs[0]->type.dtype;
    if (dt != TSL_DTYPE_F32)
        return emit_bytes(cg, &t, off, src, dst, elem_bytes(dt));
    LLVMTypeRef pi32 = LLVMPointerType(cg->t_i32, 0);
    LLVMValueRef tbl = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, off), pi32, "");
    struct tsl_cpu_loop lb;
    LLVMValueRef b = tsl_cpu_loop_begin(cg, &lb, 0, t.blocks, 1, "blk");
    LLVMValueRef sp = LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, tbl, &b, 1, "");
    LLVMValueRef sv = LLVMBuildLoad2(cg->b, cg->t_i32, sp, "");
    LLVMSetAlignment(sv, 4);
    LLVMValueRef s64 = LLVMBuildSExt(cg->b, sv, cg->t_i64, "");
    LLVMValueRef dp = tsl_cpu_gep(cg, dst, LLVMBuildNSWMul(cg->b, b, tsl_cpu_i64(cg, t.len), ""));
    LLVMBasicBlockRef done = NULL;
    if (t.any_pad) {
        LLVMBasicBlockRef fill = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "fill");
        LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "copy");
        done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "next");
        LLVMValueRef neg = LLVMBuildICmp(cg->b, LLVMIntSLT, s64, tsl_cpu_i64(cg, 0), "");
        LLVMBuildCondBr(cg->b, neg, fill, copy);
        LLVMPositionBuilderAtEnd(cg->b, fill);
        struct tsl_cpu_loop lf;
        LLVMValueRef j = tsl_cpu_loop_begin(cg, &lf, 0, t.len, 1, "f");
        tsl_cpu_store(cg, tsl_cpu_f32c(cg, t.pad), dp, j);
        tsl_cpu_loop_end(cg, &lf);
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, copy);
    }
    tsl_cpu_copy_floats(cg, dp, tsl_cpu_gep(cg, src, s64), t.len);
    if (done) {
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, done);
    }
    tsl_cpu_loop_end(cg, &lb);
    return TSL_STATUS_OK;
}

/* any_dtype: table_check_node accepts f32 and any whole-byte dtype (same in
 * and out). */
const struct tsl_cpu_lowering tsl_cpu_lower_gather_table = {table_check, table_emit, false,
                                                            true, false};
