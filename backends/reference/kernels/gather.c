/* gather.c - Gather (any axis, negative indices), GatherElements and
 * GatherND (batch_dims).  Indices are i32 or i64; an index outside
 * [-dim, dim) is an error naming the node.  Any data dtype (copied by
 * element size). */
#include <string.h>

#include "../ref_internal.h"

static enum tsl_status index_input(struct tsl_ref_call *c, const struct tsl_tensor **ind)
{
    TSL_TRY(tsl_ref_need(c, 1, ind));
    if ((*ind)->dtype != TSL_DTYPE_I64 && (*ind)->dtype != TSL_DTYPE_I32)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "indices must be i32 or i64, got %s",
                            tsl_dtype_name((*ind)->dtype));
    return TSL_STATUS_OK;
}

static enum tsl_status fix_index(struct tsl_ref_call *c, int64_t *k, int64_t dim)
{
    int64_t v = *k;
    if (v < -dim || v >= dim)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "index %lld out of range [-%lld, %lld)",
                            (long long)v, (long long)dim, (long long)dim);
    *k = v < 0 ? v + dim : v;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_gather(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *ind;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(index_input(c, &ind));
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.axis.axis, x->shape.rank, "axis", &axis));
    int32_t r = x->shape.rank + ind->shape.rank - 1;
    if (r > TSL_MAX_RANK)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "result rank %d", r);
    int64_t dims[TSL_MAX_RANK];
    int32_t k = 0;
    for (int32_t d = 0; d < axis; d++)
        dims[k++] = x->shape.dims[d];
    for (int32_t d = 0; d < ind->shape.rank; d++)
        dims[k++] = ind->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        dims[k++] = x->shape.dims[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    size_t es = tsl_ref_elem_size(x->dtype);
    int64_t outer = 1, inner = 1, len = x->shape.dims[axis], ni = tsl_ref_numel(ind);
    for (int32_t d = 0; d < axis; d++)
        outer *= x->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    size_t chunk = (size_t)inner * es;
    uint8_t *y = c->out[0].data;
    for (int64_t j = 0; j < ni; j++) {
        int64_t idx = tsl_ref_geti(ind, j);
        TSL_TRY(fix_index(c, &idx, len));
        for (int64_t o = 0; o < outer && chunk; o++)
            memcpy(y + ((size_t)(o * ni + j)) * chunk,
                   (const uint8_t *)x->data + ((size_t)(o * len + idx)) * chunk, chunk);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_gather_elements(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *ind;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(index_input(c, &ind));
    int32_t r = x->shape.rank, axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.axis.axis, r, "axis", &axis));
    if (ind->shape.rank != r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "indices must have rank %d", r);
    for (int32_t d = 0; d < r; d++)
        if (d != axis && ind->shape.dims[d] > x->shape.dims[d])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "indices dim %d (%lld) exceeds data dim (%lld)", d,
                                (long long)ind->shape.dims[d], (long long)x->shape.dims[d]);
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, ind->shape.dims));
    size_t es = tsl_ref_elem_size(x->dtype);
    int64_t n = tsl_ref_numel(ind), xs[TSL_MAX_RANK];
    tsl_ref_strides(&x->shape, xs);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = 0;
        for (int32_t d = r - 1; d >= 0; d--) {
            int64_t coord = rem % ind->shape.dims[d];
            rem /= ind->shape.dims[d];
            if (d == axis) {
                coord = tsl_ref_geti(ind, i);
                TSL_TRY(fix_index(c, &coord, x->shape.dims[d]));
            }
            off += coord * xs[d];
        }
        memcpy((uint8_t *)c->out[0].data + (size_t)i * es,
               (const uint8_t *)x->data + (size_t)off * es, es);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_gather_nd(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *ind;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(index_input(c, &ind));
    int64_t b = c->node->attrs.gathernd.batch_dims;
    int32_t r = x->shape.rank, q = ind->shape.rank;
    if (q < 1 || b < 0 || b >= q || b >= r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad batch_dims %lld for ranks %d, %d",
                            (long long)b, r, q);
    int64_t k = ind->shape.dims[q - 1];
    if (k < 1 || b + k > r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "index depth %lld with batch_dims %lld exceeds data rank %d",
                            (long long)k, (long long)b, r);
    for (int64_t d = 0; d < b; d++)
        if (ind->shape.dims[d] != x->shape.dims[d])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "batch dim %lld differs",
                                (long long)d);
    int32_t orank = (int32_t)(q - 1 + r - b - k);
    if (orank > TSL_MAX_RANK)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "result rank %d", orank);
    int64_t dims[TSL_MAX_RANK];
    int32_t o = 0;
    for (int32_t d = 0; d < q - 1; d++)
        dims[o++] = ind->shape.dims[d];
    for (int64_t d = b + k; d < r; d++)
        dims[o++] = x->shape.dims[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, orank, dims));
    int64_t xs[TSL_MAX_RANK], batch = 1, per = 1, slice = 1;
    tsl_ref_strides(&x->shape, xs);
    for (int64_t d = 0; d < b; d++)
        batch *= ind->shape.dims[d];
    for (int32_t d = (int32_t)b; d < q - 1; d++)
        per *= ind->shape.dims[d];
    for (int64_t d = b + k; d < r; d++)
        slice *= x->shape.dims[d];
    size_t es = tsl_ref_elem_size(x->dtype), chunk = (size_t)slice * es;
    uint8_t *y = c->out[0].data;
    for (int64_t bi = 0; bi < batch; bi++) {
        /* data offset of batch bi: its coordinates in the first b dims */
        int64_t boff = 0, rem = bi;
        for (int64_t d = b - 1; d >= 0; d--) {
            boff += (rem % x->shape.dims[d]) * xs[d];
            rem /= x->shape.dims[d];
        }
        for (int64_t j = 0; j < per; j++) {
            int64_t row = bi * per + j, off = boff;
            for (int64_t t = 0; t < k; t++) {
                int64_t idx = tsl_ref_geti(ind, row * k + t);
                TSL_TRY(fix_index(c, &idx, x->shape.dims[b + t]));
                off += idx * xs[b + t];
            }
            if (chunk)
                memcpy(y + (size_t)row * chunk, (const uint8_t *)x->data + (size_t)off * es,
                       chunk);
        }
    }
    return TSL_STATUS_OK;
}
