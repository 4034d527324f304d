/* shape_ops.c - shape rules of the ops that compute or rearrange shapes:
 * Reshape (0 copies, -1 resolved with symbol cancellation), Flatten,
 * Transpose, Squeeze, Unsqueeze, Shape, Size, Cast, ConstantOfShape, Expand,
 * Tile and Range, with the known-value propagation through them.  Data
 * movement with indices (Concat, Slice, Gather, Pad, Resize...) lives in
 * movement.c. */
#include <stdio.h>

#include "shape/shape_internal.h"
#include "tessel/util.h"

/* A 1-D integer operand whose elements give a shape (Reshape, Expand, Tile,
 * ConstantOfShape).  *len_out = -1 when even its length is unknown;
 * otherwise k holds len elements (possibly TSL_K_UNKNOWN). */
static enum tsl_status shape_operand(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                     uint32_t i, struct tsl_known *k, int64_t *len_out)
{
    const struct tsl_value *v = n->inputs[i];
    if (v->type.dtype != TSL_DTYPE_I64)
        return tsl_sh_error(cx, "input %u ('%s') must be i64, got %s", i, v->name,
                            tsl_dtype_name(v->type.dtype));
    if (v->type.shape.rank != 1)
        return tsl_sh_error(cx, "input %u ('%s') must have rank 1, got %d", i, v->name,
                            v->type.shape.rank);
    int64_t len = v->type.shape.dims[0];
    const struct tsl_known *kv = tsl_known_get(cx, v);
    if (TSL_DIM_IS_SYM(len)) {
        *len_out = -1;
        return TSL_STATUS_OK;
    }
    if (len > TSL_MAX_RANK)
        return tsl_sh_error(cx, "input %u ('%s') has %lld entries: rank would exceed %d", i,
                            v->name, (long long)len, TSL_MAX_RANK);
    if (kv && kv->n == (uint32_t)len)
        *k = *kv;
    else
        *k = (struct tsl_known){.n = (uint32_t)len};
    *len_out = len;
    return TSL_STATUS_OK;
}

static enum tsl_status unknown_rank(struct tsl_node *n, enum tsl_dtype dt)
{
    struct tsl_shape s = {.rank = -1};
    tsl_sh_set(n, 0, dt, &s);
    return TSL_STATUS_OK;
}

static enum tsl_status copy_known(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_known *k = tsl_known_get(cx, n->inputs[0]);
    return k ? tsl_known_put(cx, n->outputs[0], k) : TSL_STATUS_OK;
}

/* Split a product of dims into its numeric part and its symbols. */
struct dim_product {
    int64_t num;
    int n_sym;
    int64_t sym[TSL_MAX_RANK];
};

static enum tsl_status product_of(struct tsl_infer_ctx *cx, const int64_t *d, int32_t n,
                                  int32_t skip, struct dim_product *p)
{
    p->num = 1;
    p->n_sym = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i == skip)
            continue;
        if (TSL_DIM_IS_SYM(d[i]))
            p->sym[p->n_sym++] = d[i];
        else if (!tsl_mul_i64(p->num, d[i], &p->num))
            return tsl_sh_error(cx, "element count overflows int64");
    }
    return TSL_STATUS_OK;
}

/* Remove symbols present in both products. */
static void cancel_symbols(struct dim_product *a, struct dim_product *b)
{
    for (int i = 0; i < a->n_sym; i++)
        for (int j = 0; j < b->n_sym; j++)
            if (a->sym[i] == b->sym[j]) {
                a->sym[i] = a->sym[--a->n_sym];
                b->sym[j] = b->sym[--b->n_sym];
                i--;
                break;
            }
}

enum tsl_status tsl_infer_reshape(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    enum tsl_dtype dt = n->inputs[0]->type.dtype;
    struct tsl_known k;
    int64_t len;
    TSL_TRY(shape_operand(cx, n, 1, &k, &len));
    if (len < 0)
        return unknown_rank(n, dt);
    struct tsl_shape s = {.rank = (int32_t)len};
    int32_t minus = -1;
    for (int32_t j = 0; j < s.rank; j++) {
        const struct tsl_kelem *e = &k.e[j];
        if (e->kind == TSL_K_INT && e->v == 0 && !n->attrs.reshape.allowzero) {
            if (j >= xs->rank)
                return tsl_sh_error(cx, "shape[%d] = 0 copies input dim %d, but input rank is %d",
                                    j, j, xs->rank);
            s.dims[j] = xs->dims[j];
        } else if (e->kind == TSL_K_INT && e->v == -1) {
            if (minus >= 0)
                return tsl_sh_error(cx, "shape has more than one -1 (entries %d and %d)", minus,
                                    j);
            minus = j;
            s.dims[j] = 1;
        } else if (e->kind == TSL_K_INT && e->v < -1) {
            return tsl_sh_error(cx, "shape[%d] = %lld is invalid", j, (long long)e->v);
        } else {
            TSL_TRY(tsl_sh_elem_to_dim(cx, e, "shape", &s.dims[j]));
        }
    }
    struct dim_product pin, pout;
    TSL_TRY(product_of(cx, xs->dims, xs->rank, -1, &pin));
    TSL_TRY(product_of(cx, s.dims, s.rank, minus, &pout));
    cancel_symbols(&pin, &pout);
    char a[256], b[256];
    if (minus >= 0) {
        if (pout.n_sym > 0 || (pin.n_sym > 1) || (pin.n_sym == 1 && pin.num != pout.num)) {
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[minus]));
        } else if (pin.n_sym == 1) {
            s.dims[minus] = pin.sym[0];
        } else if (pout.num == 0 || pin.num % pout.num != 0) {
            s.dims[minus] = 0;
            return tsl_sh_error(cx, "cannot reshape %s (%lld elements) to %s with -1",
                                tsl_sh_shape_str(cx->g, xs, a, sizeof a), (long long)pin.num,
                                tsl_sh_shape_str(cx->g, &s, b, sizeof b));
        } else {
            s.dims[minus] = pin.num / pout.num;
        }
    } else if (pin.n_sym == 0 && pout.n_sym == 0 && pin.num != pout.num) {
        return tsl_sh_error(cx, "element count mismatch: cannot reshape %s (%lld elements) to "
                                "%s (%lld elements)",
                            tsl_sh_shape_str(cx->g, xs, a, sizeof a), (long long)pin.num,
                            tsl_sh_shape_str(cx->g, &s, b, sizeof b), (long long)pout.num);
    }
    tsl_sh_set(n, 0, dt, &s);
    return copy_known(cx, n);
}

enum tsl_status tsl_infer_flatten(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t axis = n->attrs.axis.axis;
    if (axis < -(int64_t)xs->rank || axis > xs->rank)
        return tsl_sh_error(cx, "axis %lld out of range [%d, %d] for rank %d", (long long)axis,
                            -xs->rank, xs->rank, xs->rank);
    int32_t ax = (int32_t)(axis < 0 ? axis + xs->rank : axis);
    struct tsl_shape s = {.rank = 2};
    TSL_TRY(tsl_sh_dim_product(cx, xs->dims, ax, &s.dims[0]));
    TSL_TRY(tsl_sh_dim_product(cx, xs->dims + ax, xs->rank - ax, &s.dims[1]));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return copy_known(cx, n);
}

enum tsl_status tsl_infer_transpose(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_ints *p = &n->attrs.transpose.perm;
    if (p->n != 0 && p->n != (uint32_t)xs->rank)
        return tsl_sh_error(cx, "perm has %u entries for an input of rank %d", p->n, xs->rank);
    struct tsl_shape s = {.rank = xs->rank};
    for (int32_t i = 0; i < xs->rank; i++) {
        int64_t src = p->n ? p->v[i] : xs->rank - 1 - i;
        if (src < 0 || src >= xs->rank)
            return tsl_sh_error(cx, "perm is not a permutation (entry %d = %lld)", i,
                                (long long)src);
        s.dims[i] = xs->dims[src];
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_squeeze(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_ints *a = &n->attrs.axes.axes;
    bool drop[TSL_MAX_RANK] = {false};
    for (uint32_t i = 0; i < a->n; i++) {
        int32_t ax;
        TSL_TRY(tsl_sh_axis(cx, a->v[i], xs->rank, "axes entry", &ax));
        if (!TSL_DIM_IS_SYM(xs->dims[ax]) && xs->dims[ax] != 1)
            return tsl_sh_error(cx, "cannot squeeze axis %d of size %lld", ax,
                                (long long)xs->dims[ax]);
        drop[ax] = true;
    }
    if (a->n == 0)
        for (int32_t i = 0; i < xs->rank; i++)
            drop[i] = xs->dims[i] == 1;
    struct tsl_shape s = {.rank = 0};
    for (int32_t i = 0; i < xs->rank; i++)
        if (!drop[i])
            s.dims[s.rank++] = xs->dims[i];
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return copy_known(cx, n);
}

enum tsl_status tsl_infer_unsqueeze(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_ints *a = &n->attrs.axes.axes;
    int64_t r = (int64_t)xs->rank + a->n;
    if (r > TSL_MAX_RANK)
        return tsl_sh_error(cx, "output rank %lld exceeds %d", (long long)r, TSL_MAX_RANK);
    bool ins[TSL_MAX_RANK] = {false};
    for (uint32_t i = 0; i < a->n; i++) {
        int32_t ax;
        TSL_TRY(tsl_sh_axis(cx, a->v[i], (int32_t)r, "axes entry", &ax));
        if (ins[ax])
            return tsl_sh_error(cx, "axes names axis %d twice", ax);
        ins[ax] = true;
    }
    struct tsl_shape s = {.rank = (int32_t)r};
    for (int32_t i = 0, j = 0; i < s.rank; i++)
        s.dims[i] = ins[i] ? 1 : xs->dims[j++];
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return copy_known(cx, n);
}

enum tsl_status tsl_infer_shape(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t r = xs->rank, st = n->attrs.shape.start, en = n->attrs.shape.end;
    if (st < 0)
        st += r;
    if (en < 0)
        en += r;
    st = st < 0 ? 0 : st > r ? r : st;
    en = en < 0 ? 0 : en > r ? r : en;
    int64_t len = en > st ? en - st : 0;
    struct tsl_shape s = {.rank = 1, .dims = {len}};
    tsl_sh_set(n, 0, TSL_DTYPE_I64, &s);
    struct tsl_known k = {.n = (uint32_t)len};
    for (int64_t i = 0; i < len; i++) {
        int64_t d = xs->dims[st + i];
        k.e[i] = (struct tsl_kelem){d, TSL_DIM_IS_SYM(d) ? TSL_K_DIM : TSL_K_INT};
    }
    return tsl_known_put(cx, n->outputs[0], &k);
}

enum tsl_status tsl_infer_size(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    struct tsl_shape s = {.rank = 0};
    tsl_sh_set(n, 0, TSL_DTYPE_I64, &s);
    struct dim_product p;
    TSL_TRY(product_of(cx, xs->dims, xs->rank, -1, &p));
    struct tsl_known k = {.n = 1};
    if (p.n_sym == 0 || p.num == 0)
        k.e[0] = (struct tsl_kelem){p.num, TSL_K_INT};
    else if (p.n_sym == 1 && p.num == 1)
        k.e[0] = (struct tsl_kelem){p.sym[0], TSL_K_DIM};
    return tsl_known_put(cx, n->outputs[0], &k);
}

enum tsl_status tsl_infer_cast(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    enum tsl_dtype to = n->attrs.cast.to;
    tsl_sh_set(n, 0, to, &n->inputs[0]->type.shape);
    const struct tsl_known *k = tsl_known_get(cx, n->inputs[0]);
    if (!k)
        return TSL_STATUS_OK;
    struct tsl_known r = *k;
    int bits = tsl_dtype_bits(to);
    for (uint32_t i = 0; i < r.n; i++) {
        if (r.e[i].kind != TSL_K_INT)
            continue;
        if (to == TSL_DTYPE_BOOL)
            r.e[i].v = r.e[i].v != 0;
        else if (!tsl_dtype_is_float(to) && bits < 64) /* values that wrap are dropped */
            if (r.e[i].v >= ((int64_t)1 << (bits - 1)) || r.e[i].v < -((int64_t)1 << (bits - 1)))
                r.e[i].kind = TSL_K_UNKNOWN;
    }
    return tsl_known_put(cx, n->outputs[0], &r);
}

enum tsl_status tsl_infer_constant_of_shape(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_scalar *val = &n->attrs.constant_of_shape.value;
    enum tsl_dtype dt = val->dtype == TSL_DTYPE_UNDEF ? TSL_DTYPE_F32 : val->dtype;
    struct tsl_known k;
    int64_t len;
    TSL_TRY(shape_operand(cx, n, 0, &k, &len));
    if (len < 0)
        return unknown_rank(n, dt);
    struct tsl_shape s = {.rank = (int32_t)len};
    for (int32_t j = 0; j < s.rank; j++)
        TSL_TRY(tsl_sh_elem_to_dim(cx, &k.e[j], "shape", &s.dims[j]));
    tsl_sh_set(n, 0, dt, &s);
    int64_t numel;
    if (!tsl_shape_numel(&s, &numel) || numel > TSL_KNOWN_MAX)
        return TSL_STATUS_OK;
    int64_t v = tsl_dtype_is_float(dt) ? (int64_t)val->f : val->i;
    if (tsl_dtype_is_float(dt) && (double)v != val->f)
        return TSL_STATUS_OK;
    struct tsl_known out = {.n = (uint32_t)numel};
    for (int64_t i = 0; i < numel; i++)
        out.e[i] = (struct tsl_kelem){v, TSL_K_INT};
    return tsl_known_put(cx, n->outputs[0], &out);
}

enum tsl_status tsl_infer_expand(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    struct tsl_known k;
    int64_t len;
    TSL_TRY(shape_operand(cx, n, 1, &k, &len));
    if (len < 0)
        return unknown_rank(n, n->inputs[0]->type.dtype);
    struct tsl_shape t = {.rank = (int32_t)len}, s;
    for (int32_t j = 0; j < t.rank; j++)
        TSL_TRY(tsl_sh_elem_to_dim(cx, &k.e[j], "shape", &t.dims[j]));
    TSL_TRY(tsl_sh_broadcast(cx, &n->inputs[0]->type.shape, &t, &s));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_tile(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    struct tsl_known k;
    int64_t len;
    TSL_TRY(shape_operand(cx, n, 1, &k, &len));
    if (len >= 0 && len != xs->rank)
        return tsl_sh_error(cx, "repeats has %lld entries for an input of rank %d",
                            (long long)len, xs->rank);
    struct tsl_shape s = *xs;
    for (int32_t j = 0; j < s.rank; j++) {
        const struct tsl_kelem *e = len >= 0 ? &k.e[j] : NULL;
        if (e && e->kind == TSL_K_INT && e->v < 0)
            return tsl_sh_error(cx, "repeats[%d] = %lld is negative", j, (long long)e->v);
        if (e && e->kind == TSL_K_INT) {
            if (e->v == 1)
                continue;
            if (!TSL_DIM_IS_SYM(xs->dims[j])) {
                if (!tsl_mul_i64(xs->dims[j], e->v, &s.dims[j]))
                    return tsl_sh_error(cx, "tiled dim %d overflows", j);
            } else if (e->v == 0) {
                s.dims[j] = 0;
            } else {
                TSL_TRY(tsl_sh_fresh(cx, &s.dims[j]));
            }
        } else if (e && e->kind == TSL_K_DIM && xs->dims[j] == 1) {
            s.dims[j] = e->v;
        } else {
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[j]));
        }
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_range(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    enum tsl_dtype dt = n->inputs[0]->type.dtype;
    const struct tsl_known *k[3];
    for (uint32_t i = 0; i < 3; i++) {
        const struct tsl_value *v = n->inputs[i];
        int64_t numel;
        if (v->type.dtype != dt)
            return tsl_sh_error(cx, "input %u is %s, expected %s", i,
                                tsl_dtype_name(v->type.dtype), tsl_dtype_name(dt));
        if (v->type.shape.rank > 1 ||
            (tsl_shape_numel(&v->type.shape, &numel) && numel != 1))
            return tsl_sh_error(cx, "input %u ('%s') must be a scalar", i, v->name);
        k[i] = tsl_known_get(cx, v);
        if (k[i] && (k[i]->n != 1 || k[i]->e[0].kind != TSL_K_INT))
            k[i] = NULL;
    }
    struct tsl_shape s = {.rank = 1};
    if (!k[0] || !k[1] || !k[2]) {
        TSL_TRY(tsl_sh_fresh(cx, &s.dims[0]));
        tsl_sh_set(n, 0, dt, &s);
        return TSL_STATUS_OK;
    }
    int64_t start = k[0]->e[0].v, limit = k[1]->e[0].v, delta = k[2]->e[0].v, span;
    if (delta == 0)
        return tsl_sh_error(cx, "delta is 0");
    if (__builtin_sub_overflow(limit, start, &span))
        return tsl_sh_error(cx, "range length overflows");
    int64_t len = span / delta + (span % delta != 0 && ((span < 0) == (delta < 0)));
    s.dims[0] = len > 0 ? len : 0;
    tsl_sh_set(n, 0, dt, &s);
    if (s.dims[0] > TSL_KNOWN_MAX)
        return TSL_STATUS_OK;
    struct tsl_known r = {.n = (uint32_t)s.dims[0]};
    for (int64_t i = 0; i < s.dims[0]; i++)
        r.e[i] = (struct tsl_kelem){start + i * delta, TSL_K_INT};
    return tsl_known_put(cx, n->outputs[0], &r);
}
