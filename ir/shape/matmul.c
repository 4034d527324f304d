/* matmul.c - shape rules of Gemm (transA/transB, C broadcastable to
 * [M, N]) and MatMul (numpy matmul: 1-D operands promoted and the added axis
 * removed again, batch dims broadcast); QLinearMatMul reuses the MatMul core.
 * No knowledge of how products are computed. */
#include <stdio.h>

#include "shape/shape_internal.h"

enum tsl_status tsl_sh_matmul_like(struct tsl_infer_ctx *cx, const struct tsl_shape *a,
                                   const struct tsl_shape *b, struct tsl_shape *out)
{
    if (a->rank < 1 || b->rank < 1)
        return tsl_sh_error(cx, "MatMul operands must have rank >= 1, got %d and %d", a->rank,
                            b->rank);
    struct tsl_shape pa = *a, pb = *b;
    bool a1 = a->rank == 1, b1 = b->rank == 1;
    if (a1) { /* [K] -> [1, K] */
        pa.rank = 2;
        pa.dims[1] = a->dims[0];
        pa.dims[0] = 1;
    }
    if (b1) { /* [K] -> [K, 1] */
        pb.rank = 2;
        pb.dims[1] = 1;
    }
    int64_t ka = pa.dims[pa.rank - 1], kb = pb.dims[pb.rank - 2];
    if (!TSL_DIM_IS_SYM(ka) && !TSL_DIM_IS_SYM(kb) && ka != kb)
        return tsl_sh_error(cx, "inner dimensions differ: K=%lld vs %lld", (long long)ka,
                            (long long)kb);
    struct tsl_shape ba = {.rank = pa.rank - 2}, bb = {.rank = pb.rank - 2}, bo;
    for (int32_t i = 0; i < ba.rank; i++)
        ba.dims[i] = pa.dims[i];
    for (int32_t i = 0; i < bb.rank; i++)
        bb.dims[i] = pb.dims[i];
    TSL_TRY(tsl_sh_broadcast(cx, &ba, &bb, &bo));
    struct tsl_shape s = bo;
    if (!a1)
        s.dims[s.rank++] = pa.dims[pa.rank - 2];
    if (!b1)
        s.dims[s.rank++] = pb.dims[pb.rank - 1];
    *out = s;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_matmul(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    if (n->inputs[0]->type.dtype != n->inputs[1]->type.dtype)
        return tsl_sh_error(cx, "input 0 is %s but input 1 is %s",
                            tsl_dtype_name(n->inputs[0]->type.dtype),
                            tsl_dtype_name(n->inputs[1]->type.dtype));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_matmul_like(cx, &n->inputs[0]->type.shape, &n->inputs[1]->type.shape, &s));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_gemm(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 2, 2));
    TSL_TRY(tsl_sh_need_rank(cx, n, 1, 2, 2));
    const struct tsl_shape *as = &n->inputs[0]->type.shape, *bs = &n->inputs[1]->type.shape;
    if (n->inputs[0]->type.dtype != n->inputs[1]->type.dtype)
        return tsl_sh_error(cx, "A is %s but B is %s", tsl_dtype_name(n->inputs[0]->type.dtype),
                            tsl_dtype_name(n->inputs[1]->type.dtype));
    bool ta = n->attrs.gemm.transA != 0, tb = n->attrs.gemm.transB != 0;
    int64_t m = as->dims[ta ? 1 : 0], ka = as->dims[ta ? 0 : 1];
    int64_t kb = bs->dims[tb ? 1 : 0], nn = bs->dims[tb ? 0 : 1];
    if (!TSL_DIM_IS_SYM(ka) && !TSL_DIM_IS_SYM(kb) && ka != kb)
        return tsl_sh_error(cx, "inner dimensions differ: K=%lld vs %lld", (long long)ka,
                            (long long)kb);
    struct tsl_shape s = {.rank = 2, .dims = {m, nn}};
    const struct tsl_value *c = tsl_in(n, 2);
    if (c) {
        struct tsl_shape t;
        if (c->type.shape.rank > 2)
            return tsl_sh_error(cx, "C must have rank <= 2, got %d", c->type.shape.rank);
        TSL_TRY(tsl_sh_broadcast(cx, &s, &c->type.shape, &t));
        for (int32_t i = 0; i < 2; i++)
            if (!TSL_DIM_IS_SYM(s.dims[i]) && !TSL_DIM_IS_SYM(t.dims[i]) &&
                t.dims[i] != s.dims[i])
                return tsl_sh_error(cx, "C does not broadcast to [M, N] on axis %d", i);
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}
