/* cg.c - IR-building helpers shared by every lowering of the CPU backend:
 * diagnostics naming nodes, the weight blob, value pointers inside a step
 * function, constants, loads/stores with explicit alignment, intrinsics and
 * libm calls, fused activations, counted loops and generic loop nests.
 *
 * It does not decide what to generate for an op (lower_*.c), nor plan memory
 * (plan.c) or drive LLVM (compile.c, target.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "tessel/util.h"

const char *tsl_cpu_node_where(const struct tsl_node *n, char *buf, size_t len)
{
    if (n->name && n->name[0])
        return n->name;
    snprintf(buf, len, "%s#%u", tsl_op_name(n->op), n->id);
    return buf;
}

enum tsl_status tsl_cpu_unsupported(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                    const char *fmt, ...)
{
    char where[64], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tsl_diag_error(cg->diag, TSL_STATUS_UNSUPPORTED,
                          tsl_cpu_node_where(n, where, sizeof where),
                          "cpu backend: %s: %s", tsl_op_name(n->op), msg);
}

enum tsl_status tsl_cpu_require_f32(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                    const struct tsl_value *v)
{
    if (!v)
        return tsl_cpu_unsupported(cg, n, "omitted input is not supported here");
    if (v->type.dtype != TSL_DTYPE_F32)
        return tsl_cpu_unsupported(cg, n, "value '%s' has dtype %s (only f32 is lowered)",
                                   v->name, tsl_dtype_name(v->type.dtype));
    int64_t numel;
    if (!tsl_shape_numel(&v->type.shape, &numel) || numel < 0)
        return tsl_cpu_unsupported(cg, n, "value '%s' has no static shape", v->name);
    return TSL_STATUS_OK;
}

int64_t tsl_cpu_numel(const struct tsl_value *v)
{
    int64_t n = 0;
    if (!tsl_shape_numel(&v->type.shape, &n))
        return 0;
    return n;
}

static bool blob_reserve(struct tsl_cpu_cg *cg, size_t need)
{
    if (need <= cg->blob_cap)
        return true;
    size_t ncap = cg->blob_cap ? cg->blob_cap : 4096;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 4)
            return false;
        ncap *= 2;
    }
    size_t old_pad = cg->blob ? (size_t)(cg->blob - cg->blob_raw) : 0;
    uint8_t *raw = realloc(cg->blob_raw, ncap + TSL_CPU_ALIGN);
    if (!raw)
        return false;
    size_t pad = (TSL_CPU_ALIGN - ((uintptr_t)raw & (TSL_CPU_ALIGN - 1))) & (TSL_CPU_ALIGN - 1);
    if (pad != old_pad && cg->blob_len)
        memmove(raw + pad, raw + old_pad, cg->blob_len);
    cg->blob_raw = raw;
    cg->blob = raw + pad;
    cg->blob_cap = ncap;
    return true;
}

enum tsl_status tsl_cpu_blob_add(struct tsl_cpu_cg *cg, const void *data, size_t bytes,
                                 int64_t *off_out)
{
    size_t off = (cg->blob_len + TSL_CPU_ALIGN - 1) & ~(size_t)(TSL_CPU_ALIGN - 1);
    size_t need = off + bytes;
    if (need < off || need > (size_t)INT64_MAX)
        return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, cg->g->name, "weight blob too large");
    if (!blob_reserve(cg, need ? need : 1))
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "weight blob");
    memset(cg->blob + cg->blob_len, 0, off - cg->blob_len);
    if (bytes)
        memcpy(cg->blob + off, data, bytes);
    cg->blob_len = need;
    *off_out = (int64_t)off;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_const_f32(struct tsl_cpu_cg *cg, const struct tsl_value *v, float **out)
{
    if (!v->constant || v->type.dtype != TSL_DTYPE_F32)
        return tsl_diag_error(cg->diag, TSL_STATUS_INTERNAL, v->name, "not an f32 constant");
    void *dense = NULL;
    TSL_TRY(tsl_const_decode(v, &dense, cg->diag));
    *out = dense;
    return TSL_STATUS_OK;
}

LLVMValueRef tsl_cpu_i64(struct tsl_cpu_cg *cg, int64_t v)
{
    return LLVMConstInt(cg->t_i64, (unsigned long long)v, 1);
}

LLVMValueRef tsl_cpu_f32c(struct tsl_cpu_cg *cg, double v)
{
    return LLVMConstReal(cg->t_f32, v);
}

/* float* to weights/arena + off (step-relative inside a step, reloc.c) */
static LLVMValueRef byte_ptr_to_f32(struct tsl_cpu_cg *cg, bool weights, int64_t off)
{
    return LLVMBuildBitCast(cg->b, tsl_cpu_reloc_ptr(cg, weights, off), cg->t_pf32, "");
}

LLVMValueRef tsl_cpu_weight_ptr(struct tsl_cpu_cg *cg, int64_t off)
{
    return byte_ptr_to_f32(cg, true, off);
}

LLVMValueRef tsl_cpu_scratch(struct tsl_cpu_cg *cg, int64_t off)
{
    return byte_ptr_to_f32(cg, false, cg->step->scratch_off + off);
}

LLVMValueRef tsl_cpu_thread_scratch(struct tsl_cpu_cg *cg, int64_t off)
{
    const struct tsl_cpu_step *st = cg->step;
    int64_t shared = (st->scratch_bytes + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
    int64_t per = (st->thread_scratch_bytes + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
    LLVMValueRef base = tsl_cpu_reloc_ptr(cg, false, st->scratch_off + shared + off);
    LLVMValueRef idx = LLVMBuildNSWMul(cg->b, cg->p_tid, tsl_cpu_i64(cg, per), "");
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, cg->t_i8, base, &idx, 1, "");
    return LLVMBuildBitCast(cg->b, p, cg->t_pf32, "");
}

static LLVMValueRef slot_ptr(struct tsl_cpu_cg *cg, LLVMValueRef arr, uint32_t i)
{
    LLVMValueRef idx = tsl_cpu_i64(cg, i);
    LLVMValueRef pp = LLVMBuildInBoundsGEP2(cg->b, cg->t_pi8, arr, &idx, 1, "");
    LLVMValueRef p = LLVMBuildLoad2(cg->b, cg->t_pi8, pp, "");
    LLVMSetAlignment(p, 8);
    return LLVMBuildBitCast(cg->b, p, cg->t_pf32, "");
}

enum tsl_status tsl_cpu_ptr(struct tsl_cpu_cg *cg, const struct tsl_value *v, LLVMValueRef *out)
{
    if (v->id >= cg->n_locs)
        return tsl_diag_error(cg->diag, TSL_STATUS_INTERNAL, v->name, "value id out of range");
    struct tsl_cpu_loc *l = &cg->locs[v->id];
    if (l->kind == TSL_LOC_NONE && v->constant) {
        void *d = NULL;
        int64_t bytes = 0, off;
        if (!tsl_dtype_storage_bytes(v->type.dtype, tsl_cpu_numel(v), &bytes))
            return tsl_diag_error(cg->diag, TSL_STATUS_UNSUPPORTED, v->name,
                                  "cpu backend: constant of dtype %s has no storage size",
                                  tsl_dtype_name(v->type.dtype));
        TSL_TRY(tsl_const_decode(v, &d, cg->diag));
        enum tsl_status st = tsl_cpu_blob_add(cg, d, (size_t)bytes, &off);
        free(d);
        TSL_TRY(st);
        l->kind = TSL_LOC_WEIGHT;
        l->off = off;
    }
    switch (l->kind) {
    case TSL_LOC_WEIGHT: *out = byte_ptr_to_f32(cg, true, l->off); break;
    case TSL_LOC_ARENA: *out = byte_ptr_to_f32(cg, false, l->off); break;
    case TSL_LOC_INPUT: *out = slot_ptr(cg, cg->p_inputs, l->index); break;
    case TSL_LOC_OUTPUT: *out = slot_ptr(cg, cg->p_outputs, l->index); break;
    default:
        return tsl_diag_error(cg->diag, TSL_STATUS_INTERNAL, v->name, "value has no location");
    }
    return TSL_STATUS_OK;
}

LLVMValueRef tsl_cpu_gep(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    return LLVMBuildInBoundsGEP2(cg->b, cg->t_f32, p, &idx, 1, "");
}

LLVMValueRef tsl_cpu_load(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_f32, tsl_cpu_gep(cg, p, idx), "");
    LLVMSetAlignment(v, 4);
    return v;
}

void tsl_cpu_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef s = LLVMBuildStore(cg->b, v, tsl_cpu_gep(cg, p, idx));
    LLVMSetAlignment(s, 4);
}

LLVMValueRef tsl_cpu_intrinsic(struct tsl_cpu_cg *cg, const char *name, LLVMTypeRef ty,
                               LLVMValueRef *args, unsigned n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &ty, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, &ty, 1);
    return LLVMBuildCall2(cg->b, fty, fn, args, n, "");
}

LLVMValueRef tsl_cpu_libm(struct tsl_cpu_cg *cg, const char *name, LLVMValueRef *args,
                          unsigned n)
{
    LLVMTypeRef params[3] = {cg->t_f32, cg->t_f32, cg->t_f32};
    LLVMTypeRef fty = LLVMFunctionType(cg->t_f32, params, n, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
    if (!fn)
        fn = LLVMAddFunction(cg->mod, name, fty);
    return LLVMBuildCall2(cg->b, fty, fn, args, n, "");
}

static LLVMValueRef splat_like(struct tsl_cpu_cg *cg, LLVMValueRef x, float c)
{
    LLVMTypeRef ty = LLVMTypeOf(x);
    if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind)
        return tsl_cpu_f32c(cg, c);
    unsigned n = LLVMGetVectorSize(ty);
    LLVMValueRef e[64];
    for (unsigned i = 0; i < n && i < 64; i++)
        e[i] = tsl_cpu_f32c(cg, c);
    return LLVMConstVector(e, n);
}

struct tsl_cpu_act tsl_cpu_act_relu(void)
{
    struct tsl_cpu_act a;
    memset(&a, 0, sizeof a);
    a.n = 1;
    a.op[0].kind = TSL_CPU_ACT_RELU;
    a.op[0].src = -1;
    return a;
}

struct tsl_cpu_act tsl_cpu_act_clip(float lo, float hi)
{
    struct tsl_cpu_act a = tsl_cpu_act_relu();
    a.op[0].kind = TSL_CPU_ACT_CLIP;
    a.op[0].a = lo;
    a.op[0].b = hi;
    return a;
}

bool tsl_cpu_act_none(const struct tsl_cpu_act *a)
{
    return a->n == 0;
}

bool tsl_cpu_act_equal(const struct tsl_cpu_act *x, const struct tsl_cpu_act *y)
{
    if (x->n != y->n)
        return false;
    for (uint32_t i = 0; i < x->n; i++) {
        const struct tsl_cpu_act_op *p = &x->op[i], *q = &y->op[i];
        /* bitwise float compare: NaN/-0 parameters are distinct kernels */
        if (p->kind != q->kind || memcmp(&p->a, &q->a, sizeof p->a) ||
            memcmp(&p->b, &q->b, sizeof p->b) || p->src != q->src || p->rev != q->rev)
            return false;
    }
    return true;
}

static LLVMValueRef clip_value(struct tsl_cpu_cg *cg, LLVMValueRef x, float lo, float hi)
{
    LLVMValueRef l = splat_like(cg, x, lo), h = splat_like(cg, x, hi);
    LLVMValueRef y = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, x, l, ""), l, x, "");
    return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, y, h, ""), h, y, "");
}

static LLVMValueRef act_op(struct tsl_cpu_cg *cg, const struct tsl_cpu_act_op *op, LLVMValueRef x,
                           LLVMValueRef other)
{
    LLVMValueRef z = splat_like(cg, x, 0.0f), args[2];
    switch (op->kind) {
    case TSL_CPU_ACT_RELU: /* x < 0 ? 0 : x, as the reference: NaN and -0 pass through */
        return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, x, z, ""), z, x, "");
    case TSL_CPU_ACT_CLIP:
        return clip_value(cg, x, op->a, op->b);
    case TSL_CPU_ACT_HARD_SIGMOID: {
        LLVMValueRef t = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, x, splat_like(cg, x, op->a), ""),
                                       splat_like(cg, x, op->b), "");
        return clip_value(cg, t, 0.0f, 1.0f);
    }
    case TSL_CPU_ACT_LEAKY_RELU: {
        LLVMValueRef neg = LLVMBuildFMul(cg->b, x, splat_like(cg, x, op->a), "");
        return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, x, z, ""), neg, x, "");
    }
    case TSL_CPU_ACT_SIGMOID: {
        LLVMValueRef nx = LLVMBuildFNeg(cg->b, x, ""), one = splat_like(cg, x, 1.0f);
        LLVMValueRef e = tsl_cpu_intrinsic(cg, "llvm.exp", LLVMTypeOf(x), &nx, 1);
        return LLVMBuildFDiv(cg->b, one, LLVMBuildFAdd(cg->b, one, e, ""), "");
    }
    default:
        break;
    }
    LLVMValueRef a = x, b = other;
    if (op->rev)
        a = other, b = x;
    args[0] = a, args[1] = b;
    switch (op->kind) {
    case TSL_CPU_ACT_ADD: return LLVMBuildFAdd(cg->b, a, b, "");
    case TSL_CPU_ACT_SUB: return LLVMBuildFSub(cg->b, a, b, "");
    case TSL_CPU_ACT_MUL: return LLVMBuildFMul(cg->b, a, b, "");
    case TSL_CPU_ACT_DIV: return LLVMBuildFDiv(cg->b, a, b, "");
    case TSL_CPU_ACT_MAX: return tsl_cpu_intrinsic(cg, "llvm.maxnum", LLVMTypeOf(x), args, 2);
    case TSL_CPU_ACT_MIN: return tsl_cpu_intrinsic(cg, "llvm.minnum", LLVMTypeOf(x), args, 2);
    default: return x;
    }
}

LLVMValueRef tsl_cpu_apply_act(struct tsl_cpu_cg *cg, const struct tsl_cpu_act *act,
                               LLVMValueRef x)
{
    LLVMValueRef v[TSL_CPU_ACT_MAX_OPS + 1];
    uint32_t n = act->n < TSL_CPU_ACT_MAX_OPS ? act->n : TSL_CPU_ACT_MAX_OPS;
    v[0] = x;
    for (uint32_t i = 0; i < n; i++) {
        const struct tsl_cpu_act_op *op = &act->op[i];
        LLVMValueRef other = op->src >= 0 && (uint32_t)op->src <= i ? v[op->src]
                                                                    : splat_like(cg, x, op->a);
        v[i + 1] = act_op(cg, op, v[i], other);
    }
    return v[n];
}

void tsl_cpu_copy_floats(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef src, int64_t n)
{
    if (n <= 0)
        return;
    LLVMValueRef d = LLVMBuildBitCast(cg->b, dst, cg->t_pi8, "");
    LLVMValueRef s = LLVMBuildBitCast(cg->b, src, cg->t_pi8, "");
    LLVMBuildMemCpy(cg->b, d, 4, s, 4, tsl_cpu_i64(cg, n * 4));
}

LLVMValueRef tsl_cpu_loop_begin(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l, int64_t start,
                                int64_t end, int64_t step, const char *name)
{
    return tsl_cpu_loop_begin_v(cg, l, tsl_cpu_i64(cg, start), tsl_cpu_i64(cg, end), step, name);
}

LLVMValueRef tsl_cpu_loop_begin_v(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l,
                                  LLVMValueRef start, LLVMValueRef end, int64_t step,
                                  const char *name)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
    l->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
    l->body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "");
    l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "");
    l->step = tsl_cpu_i64(cg, step);
    LLVMBuildBr(cg->b, l->header);
    LLVMPositionBuilderAtEnd(cg->b, l->header);
    l->iv = LLVMBuildPhi(cg->b, cg->t_i64, name);
    LLVMAddIncoming(l->iv, &start, &pre, 1);
    LLVMValueRef c = LLVMBuildICmp(cg->b, LLVMIntSLT, l->iv, end, "");
    LLVMBuildCondBr(cg->b, c, l->body, l->exit);
    LLVMPositionBuilderAtEnd(cg->b, l->body);
    return l->iv;
}

void tsl_cpu_loop_end(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l)
{
    LLVMValueRef next = LLVMBuildNSWAdd(cg->b, l->iv, l->step, "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(cg->b);
    LLVMBuildBr(cg->b, l->header);
    LLVMAddIncoming(l->iv, &next, &from, 1);
    LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

void tsl_cpu_strides(const struct tsl_shape *s, int64_t *strides)
{
    int64_t acc = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        strides[d] = acc;
        acc *= s->dims[d];
    }
}

bool tsl_cpu_bcast_strides(const struct tsl_shape *in, const struct tsl_shape *out,
                           int64_t *strides)
{
    int64_t own[TSL_MAX_RANK];
    if (in->rank > out->rank)
        return false;
    tsl_cpu_strides(in, own);
    int off = out->rank - in->rank;
    for (int d = 0; d < out->rank; d++) {
        if (d < off) {
            strides[d] = 0;
            continue;
        }
        int64_t id = in->dims[d - off];
        if (id == out->dims[d])
            strides[d] = id == 1 ? 0 : own[d - off];
        else if (id == 1)
            strides[d] = 0;
        else
            return false;
    }
    return true;
}

void tsl_cpu_nest_coalesce(struct tsl_cpu_nest *n)
{
    struct tsl_cpu_nest r = *n;
    r.rank = 0;
    for (int d = 0; d < n->rank; d++) {
        if (n->dims[d] == 1)
            continue;
        if (r.rank > 0) {
            int p = r.rank - 1;
            bool ok = true;
            for (int o = 0; o < n->n_ops; o++)
                if (r.strides[o][p] != n->strides[o][d] * n->dims[d])
                    ok = false;
            if (ok) {
                r.dims[p] *= n->dims[d];
                for (int o = 0; o < n->n_ops; o++)
                    r.strides[o][p] = n->strides[o][d];
                continue;
            }
        }
        r.dims[r.rank] = n->dims[d];
        for (int o = 0; o < n->n_ops; o++)
            r.strides[o][r.rank] = n->strides[o][d];
        r.rank++;
    }
    *n = r;
}

void tsl_cpu_typed_nest_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                             const LLVMTypeRef *tys, tsl_cpu_nest_body body, void *ud)
{
    struct tsl_cpu_loop loops[TSL_MAX_RANK];
    LLVMValueRef off[TSL_CPU_NEST_MAX], base[TSL_CPU_NEST_MAX];
    for (int o = 0; o < n->n_ops; o++) {
        off[o] = tsl_cpu_i64(cg, 0);
        base[o] = LLVMBuildBitCast(cg->b, n->base[o], LLVMPointerType(tys[o], 0), "");
    }
    for (int d = 0; d < n->rank; d++) {
        LLVMValueRef iv = tsl_cpu_loop_begin(cg, &loops[d], 0, n->dims[d], 1, "i");
        for (int o = 0; o < n->n_ops; o++) {
            if (n->strides[o][d] == 0)
                continue;
            LLVMValueRef t = LLVMBuildNSWMul(cg->b, iv, tsl_cpu_i64(cg, n->strides[o][d]), "");
            off[o] = LLVMBuildNSWAdd(cg->b, off[o], t, "");
        }
    }
    LLVMValueRef ptrs[TSL_CPU_NEST_MAX];
    for (int o = 0; o < n->n_ops; o++)
        ptrs[o] = LLVMBuildInBoundsGEP2(cg->b, tys[o], base[o], &off[o], 1, "");
    body(cg, ptrs, ud);
    for (int d = n->rank - 1; d >= 0; d--)
        tsl_cpu_loop_end(cg, &loops[d]);
}

void tsl_cpu_nest_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                       tsl_cpu_nest_body body, void *ud)
{
    LLVMTypeRef tys[TSL_CPU_NEST_MAX];
    for (int o = 0; o < n->n_ops; o++)
        tys[o] = cg->t_f32;
    tsl_cpu_typed_nest_emit(cg, n, tys, body, ud);
}

/* An alloca in the entry block of the function being emitted (so it is
 * allocated once, not per loop iteration); the builder stays where it was. */
LLVMValueRef tsl_cpu_entry_alloca(struct tsl_cpu_cg *cg, LLVMTypeRef ty, const char *name)
{
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(cg->b);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(cg->b, first);
    else
        LLVMPositionBuilderAtEnd(cg->b, entry);
    LLVMValueRef a = LLVMBuildAlloca(cg->b, ty, name);
    LLVMPositionBuilderAtEnd(cg->b, cur);
    return a;
}

int64_t tsl_cpu_floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int64_t ceil_div(int64_t a, int64_t b) /* ceil(a / b), b > 0, any a */
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

struct tsl_cpu_phase tsl_cpu_phase_range(int64_t H, int64_t W, int64_t pt, int64_t pl,
                                         int64_t sh, int64_t sw, int64_t a, int64_t b,
                                         int64_t rows, int64_t qw)
{
    struct tsl_cpu_phase r = {ceil_div(pt - a, sh), ceil_div(H + pt - a, sh),
                              ceil_div(pl - b, sw), ceil_div(W + pl - b, sw)};
    r.ilo = r.ilo < 0 ? 0 : r.ilo, r.jlo = r.jlo < 0 ? 0 : r.jlo;
    r.ihi = r.ihi > rows ? rows : r.ihi, r.jhi = r.jhi > qw ? qw : r.jhi;
    return r;
}
