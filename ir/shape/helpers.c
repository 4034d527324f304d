/* helpers.c - shape arithmetic shared by every op family: setting output
 * types, fresh symbols, dim/shape text for messages, axis normalization,
 * numpy broadcasting with symbolic dims, products of dims and the sliding
 * window size of Conv and pools.  No op-specific rule lives here. */
#include <stdio.h>
#include <string.h>

#include "shape/shape_internal.h"
#include "tessel/util.h"

void tsl_sh_set(struct tsl_node *n, uint32_t i, enum tsl_dtype dt, const struct tsl_shape *s)
{
    struct tsl_value *v = n->outputs[i];
    v->type.dtype = dt;
    v->type.shape = *s;
}

enum tsl_status tsl_sh_fresh(struct tsl_infer_ctx *cx, int64_t *d)
{
    uint32_t k;
    TSL_TRY(tsl_graph_fresh_symbol(cx->g, "unk", &k));
    *d = TSL_DIM_SYM(k);
    return TSL_STATUS_OK;
}

const char *tsl_sh_dim_str(const struct tsl_graph *g, int64_t d, char *buf, size_t size)
{
    if (!TSL_DIM_IS_SYM(d))
        snprintf(buf, size, "%lld", (long long)d);
    else if (TSL_DIM_SYM_INDEX(d) < g->n_symbols)
        snprintf(buf, size, "%s", g->symbols[TSL_DIM_SYM_INDEX(d)]);
    else
        snprintf(buf, size, "?%u", TSL_DIM_SYM_INDEX(d));
    return buf;
}

const char *tsl_sh_shape_str(const struct tsl_graph *g, const struct tsl_shape *s, char *buf,
                             size_t size)
{
    if (s->rank < 0) {
        snprintf(buf, size, "[?]");
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i <= s->rank && i <= TSL_MAX_RANK && used + 1 < size; i++) {
        char d[64] = "";
        if (i < s->rank)
            tsl_sh_dim_str(g, s->dims[i], d, sizeof d);
        int w = snprintf(buf + used, size - used, "%s%s%s", i == 0 ? "[" : "",
                         (i > 0 && i < s->rank) ? "," : "", i == s->rank ? "]" : d);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

enum tsl_status tsl_sh_axis(struct tsl_infer_ctx *cx, int64_t axis, int32_t rank,
                            const char *what, int32_t *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return tsl_sh_error(cx, "%s %lld out of range [%d, %d) for rank %d", what,
                            (long long)axis, -rank, rank, rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_sh_broadcast(struct tsl_infer_ctx *cx, const struct tsl_shape *a,
                                 const struct tsl_shape *b, struct tsl_shape *out)
{
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    struct tsl_shape s = {.rank = r};
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db || db == 1)
            d = da;
        else if (da == 1)
            d = db;
        else if (TSL_DIM_IS_SYM(da) && TSL_DIM_IS_SYM(db))
            TSL_TRY(tsl_sh_fresh(cx, &d));
        else if (TSL_DIM_IS_SYM(da))
            d = db;
        else if (TSL_DIM_IS_SYM(db))
            d = da;
        else {
            char sa[256], sb[256];
            return tsl_sh_error(cx, "cannot broadcast %s with %s (dim %lld vs %lld)",
                                tsl_sh_shape_str(cx->g, a, sa, sizeof sa),
                                tsl_sh_shape_str(cx->g, b, sb, sizeof sb), (long long)da,
                                (long long)db);
        }
        s.dims[i] = d;
    }
    *out = s;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_sh_dim_product(struct tsl_infer_ctx *cx, const int64_t *dims, int32_t n,
                                   int64_t *out)
{
    int64_t p = 1, sym = 0;
    int n_sym = 0;
    for (int32_t i = 0; i < n; i++) {
        if (TSL_DIM_IS_SYM(dims[i])) {
            n_sym++;
            sym = dims[i];
        } else if (!tsl_mul_i64(p, dims[i], &p)) {
            return tsl_sh_error(cx, "element count overflows int64");
        }
    }
    if (n_sym == 0)
        *out = p;
    else if (p == 0)
        *out = 0;
    else if (n_sym == 1 && p == 1)
        *out = sym;
    else
        TSL_TRY(tsl_sh_fresh(cx, out));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_sh_need_rank(struct tsl_infer_ctx *cx, const struct tsl_node *n, uint32_t i,
                                 int32_t lo, int32_t hi)
{
    const struct tsl_value *v = tsl_in(n, i);
    if (!v)
        return tsl_sh_error(cx, "input %u is missing", i);
    int32_t r = v->type.shape.rank;
    if (r < lo || (hi >= 0 && r > hi)) {
        if (hi == lo)
            return tsl_sh_error(cx, "input %u ('%s') must have rank %d, got %d", i, v->name,
                                lo, r);
        if (hi < 0)
            return tsl_sh_error(cx, "input %u ('%s') must have rank >= %d, got %d", i,
                                v->name, lo, r);
        return tsl_sh_error(cx, "input %u ('%s') must have rank in [%d, %d], got %d", i,
                            v->name, lo, hi, r);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_sh_dims_agree(struct tsl_infer_ctx *cx, int64_t a, int64_t b,
                                  const char *what)
{
    if (!TSL_DIM_IS_SYM(a) && !TSL_DIM_IS_SYM(b) && a != b)
        return tsl_sh_error(cx, "%s: %lld vs %lld", what, (long long)a, (long long)b);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_sh_elem_to_dim(struct tsl_infer_ctx *cx, const struct tsl_kelem *e,
                                   const char *what, int64_t *out)
{
    if (e->kind == TSL_K_DIM) {
        *out = e->v;
        return TSL_STATUS_OK;
    }
    if (e->kind == TSL_K_INT) {
        if (e->v < 0)
            return tsl_sh_error(cx, "%s has negative dim %lld", what, (long long)e->v);
        *out = e->v;
        return TSL_STATUS_OK;
    }
    return tsl_sh_fresh(cx, out);
}

/* ceil(a / b) for a >= 0, b > 0 */
static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

enum tsl_status tsl_sh_window(struct tsl_infer_ctx *cx, int64_t in, int64_t kernel,
                              int64_t stride, int64_t dilation, int64_t pad_b, int64_t pad_e,
                              int auto_pad, bool ceil_mode, int32_t axis, int64_t *out)
{
    int64_t ek; /* effective kernel: (k - 1) * d + 1 */
    if (TSL_DIM_IS_SYM(kernel) || !tsl_mul_i64(kernel - 1, dilation, &ek) ||
        !tsl_add_i64(ek, 1, &ek)) {
        if (TSL_DIM_IS_SYM(kernel))
            return tsl_sh_fresh(cx, out);
        return tsl_sh_error(cx, "kernel size overflows on spatial axis %d", axis);
    }
    bool same = auto_pad == TSL_auto_pad_SAME_UPPER || auto_pad == TSL_auto_pad_SAME_LOWER;
    if (TSL_DIM_IS_SYM(in)) {
        /* Size-preserving windows keep the symbol; anything else is fresh. */
        if (stride == 1 && (same || (auto_pad == TSL_auto_pad_NOTSET && pad_b + pad_e == ek - 1)))
            *out = in;
        else
            TSL_TRY(tsl_sh_fresh(cx, out));
        return TSL_STATUS_OK;
    }
    if (same) {
        *out = ceil_div(in, stride);
        return TSL_STATUS_OK;
    }
    int64_t padded = in;
    if (auto_pad == TSL_auto_pad_NOTSET &&
        (!tsl_add_i64(padded, pad_b, &padded) || !tsl_add_i64(padded, pad_e, &padded)))
        return tsl_sh_error(cx, "padded size overflows on spatial axis %d", axis);
    if (padded < ek)
        return tsl_sh_error(cx,
                            "kernel larger than padded input on spatial axis %d: effective "
                            "kernel %lld > padded input %lld",
                            axis, (long long)ek, (long long)padded);
    int64_t span = padded - ek;
    *out = (ceil_mode ? ceil_div(span, stride) : span / stride) + 1;
    /* ceil_mode: a last window that would start in the end padding is
     * dropped (ONNX reference, ONNX Runtime and PyTorch agree). */
    if (ceil_mode && (*out - 1) * stride >= in + pad_b)
        (*out)--;
    return TSL_STATUS_OK;
}
