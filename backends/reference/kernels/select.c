/* select.c - kernels whose output size depends on the data or that rank
 * elements: TopK (largest/smallest, ties broken by lower index, NaN ranks
 * above every number), NonZero ([rank, nnz] i64, row-major order) and
 * NonMaxSuppression with exact ONNX semantics (per batch and class; score
 * threshold strict >, only when given; a box is suppressed when its IoU
 * with a selected box is > iou_threshold; output [num_selected, 3] i64
 * ordered by batch, class, then selection order = descending score with
 * the lower box index first on ties). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

struct item {
    double f;
    int64_t i64;
    int64_t idx;
    bool fl;   /* compare f (float input) or i64 */
    bool desc; /* largest first */
};

static int item_cmp(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    int c = 0;
    if (a->fl) {
        bool na = a->f != a->f, nb = b->f != b->f;
        if (na || nb)
            c = na == nb ? 0 : na ? 1 : -1;
        else
            c = a->f > b->f ? 1 : a->f < b->f ? -1 : 0;
    } else {
        c = a->i64 > b->i64 ? 1 : a->i64 < b->i64 ? -1 : 0;
    }
    if (a->desc)
        c = -c;
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

enum tsl_status tsl_ref_topk(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    if (x->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool input");
    const struct tsl_attr_topk *at = &c->node->attrs.topk;
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, at->axis, x->shape.rank, "axis", &axis));
    int64_t kv[1], nk;
    TSL_TRY(tsl_ref_read_ints(c, 1, "K", kv, 1, &nk));
    int64_t len = x->shape.dims[axis], k = kv[0];
    if (nk != 1 || k < 0 || k > len)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "K must be one value in [0, %lld]",
                            (long long)len);
    int64_t dims[TSL_MAX_RANK];
    memcpy(dims, x->shape.dims, sizeof dims);
    dims[axis] = k;
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, dims));
    TSL_TRY(tsl_ref_alloc(c, 1, TSL_DTYPE_I64, x->shape.rank, dims));
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++)
        outer *= x->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    struct item *items = malloc((size_t)(len ? len : 1) * sizeof *items);
    if (!items)
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    bool fl = tsl_dtype_is_float(x->dtype);
    size_t es = tsl_ref_elem_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * len * inner + in;
            for (int64_t i = 0; i < len; i++) {
                int64_t xi = base + i * inner;
                items[i] = (struct item){.idx = i, .fl = fl, .desc = at->largest != 0};
                if (fl)
                    items[i].f = tsl_ref_getf(x, xi);
                else
                    items[i].i64 = tsl_ref_geti(x, xi);
            }
            qsort(items, (size_t)len, sizeof *items, item_cmp);
            for (int64_t j = 0; j < k; j++) {
                int64_t yo = o * k * inner + j * inner + in;
                memcpy((uint8_t *)c->out[0].data + (size_t)yo * es,
                       (const uint8_t *)x->data + (size_t)(base + items[j].idx * inner) * es, es);
                ((int64_t *)c->out[1].data)[yo] = items[j].idx;
            }
        }
    free(items);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_non_zero(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int64_t n = tsl_ref_numel(x), nnz = 0;
    bool fl = tsl_dtype_is_float(x->dtype);
    for (int64_t i = 0; i < n; i++)
        nnz += fl ? tsl_ref_getf(x, i) != 0 : tsl_ref_geti(x, i) != 0;
    int64_t dims[2] = {x->shape.rank, nnz};
    TSL_TRY(tsl_ref_alloc(c, 0, TSL_DTYPE_I64, 2, dims));
    int64_t *y = c->out[0].data, j = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(fl ? tsl_ref_getf(x, i) != 0 : tsl_ref_geti(x, i) != 0))
            continue;
        int64_t rem = i;
        for (int32_t d = x->shape.rank - 1; d >= 0; d--) {
            y[d * nnz + j] = rem % x->shape.dims[d];
            rem /= x->shape.dims[d];
        }
        j++;
    }
    return TSL_STATUS_OK;
}

/* Box as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2. */
static void get_box(const struct tsl_tensor *b, int64_t off, bool center, double *o)
{
    double v[4];
    for (int k = 0; k < 4; k++)
        v[k] = tsl_ref_getf(b, off + k);
    if (center) {
        /* [x_center, y_center, width, height] */
        o[0] = v[1] - v[3] / 2;
        o[1] = v[0] - v[2] / 2;
        o[2] = v[1] + v[3] / 2;
        o[3] = v[0] + v[2] / 2;
    } else {
        o[0] = fmin(v[0], v[2]);
        o[1] = fmin(v[1], v[3]);
        o[2] = fmax(v[0], v[2]);
        o[3] = fmax(v[1], v[3]);
    }
}

static double iou(const double *a, const double *b)
{
    double aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
    if (aa <= 0 || ab <= 0)
        return 0;
    double ih = fmin(a[2], b[2]) - fmax(a[0], b[0]), iw = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (ih <= 0 || iw <= 0)
        return 0;
    double inter = ih * iw;
    return inter / (aa + ab - inter);
}

enum tsl_status tsl_ref_nms(struct tsl_ref_call *c)
{
    const struct tsl_tensor *boxes, *scores;
    TSL_TRY(tsl_ref_need(c, 0, &boxes));
    TSL_TRY(tsl_ref_need(c, 1, &scores));
    TSL_TRY(tsl_ref_need_float(c, 0));
    TSL_TRY(tsl_ref_need_float(c, 1));
    if (boxes->shape.rank != 3 || boxes->shape.dims[2] != 4 || scores->shape.rank != 3 ||
        scores->shape.dims[0] != boxes->shape.dims[0] ||
        scores->shape.dims[2] != boxes->shape.dims[1])
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "boxes must be [B, N, 4] and scores [B, C, N]");
    int64_t B = boxes->shape.dims[0], N = boxes->shape.dims[1], C = scores->shape.dims[1];
    int64_t max_out = 0;
    double iou_th = 0, score_th = 0;
    bool has_score_th = c->n_in > 4 && c->in[4];
    if (c->n_in > 2 && c->in[2]) {
        int64_t v[1], n;
        TSL_TRY(tsl_ref_read_ints(c, 2, "max_output_boxes_per_class", v, 1, &n));
        max_out = n ? v[0] : 0;
    }
    if (c->n_in > 3 && c->in[3])
        TSL_TRY(tsl_ref_read_scalar(c, 3, "iou_threshold", &iou_th));
    if (has_score_th)
        TSL_TRY(tsl_ref_read_scalar(c, 4, "score_threshold", &score_th));
    if (max_out < 0)
        max_out = 0;
    if (max_out > N)
        max_out = N;
    bool center = c->node->attrs.nms.center_point_box != 0;
    int64_t cap, total = 0;
    if (!tsl_mul_i64(B * C, max_out, &cap) || cap > TSL_REF_MAX_TENSOR_BYTES / 24)
        return tsl_ref_fail(c, TSL_STATUS_LIMIT, "too many candidate outputs");
    int64_t *sel = malloc((size_t)(cap ? cap : 1) * 3 * sizeof(int64_t));
    struct item *items = malloc((size_t)(N ? N : 1) * sizeof *items);
    int64_t *kept = malloc((size_t)(max_out ? max_out : 1) * sizeof(int64_t));
    double *bx = malloc((size_t)(N ? N : 1) * 4 * sizeof(double));
    if (!sel || !items || !kept || !bx) {
        free(sel);
        free(items);
        free(kept);
        free(bx);
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    }
    for (int64_t b = 0; b < B; b++) {
        for (int64_t i = 0; i < N; i++)
            get_box(boxes, (b * N + i) * 4, center, bx + 4 * i);
        for (int64_t cl = 0; cl < C; cl++) {
            int64_t n = 0, nk = 0;
            for (int64_t i = 0; i < N && max_out > 0; i++) {
                double s = tsl_ref_getf(scores, (b * C + cl) * N + i);
                if (has_score_th && !(s > score_th))
                    continue;
                items[n++] = (struct item){.f = s, .idx = i, .fl = true, .desc = true};
            }
            qsort(items, (size_t)n, sizeof *items, item_cmp);
            for (int64_t j = 0; j < n && nk < max_out; j++) {
                const double *cand = bx + 4 * items[j].idx;
                bool keep = true;
                for (int64_t q = 0; q < nk && keep; q++)
                    if (iou(cand, bx + 4 * kept[q]) > iou_th)
                        keep = false;
                if (!keep)
                    continue;
                kept[nk++] = items[j].idx;
                sel[3 * total] = b;
                sel[3 * total + 1] = cl;
                sel[3 * total + 2] = items[j].idx;
                total++;
            }
        }
    }
    int64_t dims[2] = {total, 3};
    enum tsl_status st = tsl_ref_alloc(c, 0, TSL_DTYPE_I64, 2, dims);
    if (st == TSL_STATUS_OK && total)
        memcpy(c->out[0].data, sel, (size_t)total * 3 * sizeof(int64_t));
    free(sel);
    free(items);
    free(kept);
    free(bx);
    return st;
}
