/* tsl_select.c - the two selections whose output size depends on the data,
 * called by code the CPU backend generates (lower_select.c): NonZero (the
 * coordinates of the non-zero elements) and NonMaxSuppression (greedy
 * per-class selection of boxes by score and overlap).  Like tsl_pool.c it
 * is one self-contained C11 file: tessel compiles it into itself for the
 * JIT (prefix `tsl_rt`) and `tessel compile` compiles it, appended to
 * tsl_pool.c, into every artifact under the model's prefix.
 *
 * Both write into a buffer sized by the caller for the largest possible
 * result and return how many entries they wrote; they allocate nothing (NMS
 * gets its work space from the caller), never print and never fail.  The
 * semantics are ONNX's, with the reference interpreter's choices where ONNX
 * leaves one: scores compared in double, ties and NaN ordered like the
 * reference's TopK (descending, NaN first, then by index).  It is written
 * apart from the reference's kernels on purpose: the reference interpreter
 * is the oracle the generated code is tested against, so the two must not
 * share the code under test.  The prefix macros repeat tsl_pool.c's because
 * tessel compiles the files separately; artifacts compile them as one
 * translation unit, where the identical redefinitions are allowed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef TSL_RT_PREFIX
#define TSL_RT_PREFIX tsl_rt
#endif
#define TSL_RT_CAT2(a, b) a##_##b
#define TSL_RT_CAT(a, b) TSL_RT_CAT2(a, b)
#define TSL_RT(name) TSL_RT_CAT(TSL_RT_PREFIX, name)

#ifdef TSL_RT_CHECK_HEADER
#include "tsl_rt.h" /* tessel's own build: the declarations must match */
#endif

/* Element kinds of NonZero's input (kind argument). */
enum { SEL_F32, SEL_F64, SEL_F16, SEL_BF16, SEL_BYTES };

static int sel_nonzero_at(const unsigned char *x, int64_t kind, int64_t es, int64_t i)
{
    const unsigned char *p = x + i * es;
    switch (kind) {
    case SEL_F32: {
        float v;
        memcpy(&v, p, sizeof v);
        return v != 0.0f;
    }
    case SEL_F64: {
        double v;
        memcpy(&v, p, sizeof v);
        return v != 0.0;
    }
    case SEL_F16:
    case SEL_BF16: { /* +-0 are the only zeros; NaN is non-zero */
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return (v & 0x7fffu) != 0;
    }
    default:
        for (int64_t b = 0; b < es; b++)
            if (p[b])
                return 1;
        return 0;
    }
}

int64_t TSL_RT(nonzero)(const void *x, int64_t kind, int64_t es, const int64_t *dims,
                        int64_t rank, int64_t *y)
{
    const unsigned char *xb = x;
    int64_t n = 1, nnz = 0;
    for (int64_t d = 0; d < rank; d++)
        n *= dims[d];
    for (int64_t i = 0; i < n; i++)
        nnz += sel_nonzero_at(xb, kind, es, i);
    /* y is [rank, nnz]: row d holds coordinate d of every hit */
    int64_t j = 0;
    for (int64_t i = 0; i < n && j < nnz; i++) {
        if (!sel_nonzero_at(xb, kind, es, i))
            continue;
        int64_t rem = i;
        for (int64_t d = rank - 1; d >= 0; d--) {
            y[d * nnz + j] = rem % dims[d];
            rem /= dims[d];
        }
        j++;
    }
    return nnz;
}

struct sel_item {
    double score;
    int64_t idx;
};

/* Descending score, NaN before numbers, then ascending index. */
static int sel_item_cmp(const void *pa, const void *pb)
{
    const struct sel_item *a = pa, *b = pb;
    int na = a->score != a->score, nb = b->score != b->score, c;
    if (na || nb)
        c = na == nb ? 0 : na ? -1 : 1;
    else
        c = a->score > b->score ? -1 : a->score < b->score ? 1 : 0;
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Box i of a batch as (y1, x1, y2, x2) with y1 <= y2 and x1 <= x2. */
static void sel_box(const float *b, int center, double *o)
{
    double v[4] = {b[0], b[1], b[2], b[3]};
    if (center) { /* [x_center, y_center, width, height] */
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

static double sel_iou(const double *a, const double *b)
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

int64_t TSL_RT(nms)(const float *boxes, const float *scores, int64_t B, int64_t N, int64_t C,
                    int64_t max_out, double iou_th, double score_th, int64_t flags, void *work,
                    int64_t *sel)
{
    const int has_score = (flags & 1) != 0, center = (flags & 2) != 0;
    if (max_out < 0)
        max_out = 0;
    if (max_out > N)
        max_out = N;
    /* work: N items, N boxes, N kept indices (tsl_rt_nms_work_bytes) */
    struct sel_item *items = work;
    double *bx = (double *)(items + N);
    int64_t *kept = (int64_t *)(bx + 4 * N), total = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t i = 0; i < N; i++)
            sel_box(boxes + (b * N + i) * 4, center, bx + 4 * i);
        for (int64_t cl = 0; cl < C; cl++) {
            int64_t n = 0, nk = 0;
            const float *s = scores + (b * C + cl) * N;
            for (int64_t i = 0; i < N && max_out > 0; i++) {
                double v = s[i];
                if (has_score && !(v > score_th))
                    continue;
                items[n].score = v;
                items[n++].idx = i;
            }
            qsort(items, (size_t)n, sizeof *items, sel_item_cmp);
            for (int64_t j = 0; j < n && nk < max_out; j++) {
                const double *cand = bx + 4 * items[j].idx;
                int keep = 1;
                for (int64_t q = 0; q < nk && keep; q++)
                    if (sel_iou(cand, bx + 4 * kept[q]) > iou_th)
                        keep = 0;
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
    return total;
}
