/* opq.c - the `opq` pass: one-shot pruning-quantization (Hu et al., AAAI-21)
 * as reconstructed in docs/passes-opq.md.  From the weights alone it finds
 * every compressible weight (the weight input of Conv, ConvTranspose, Gemm
 * and MatMul with a constant f32 right-hand side), fits a Laplace scale per
 * layer, derives per-layer pruning ratios from one global threshold (the
 * Lagrange condition, bisection), normalizes each output channel, allocates
 * bits per layer with one shared codebook per layer by a Lagrangian
 * bisection, and searches the global pruning target for the least predicted
 * distortion that meets ctx->compress.opq_rate.  The result replaces each
 * weight by a TSL_ENC_CODEBOOK payload and is recorded in ctx->layers.
 *
 * Without --calib it never reads graph inputs, never runs the evaluator and
 * never looks at activations: the allocation is a pure function of the
 * graph's constants (the weights, and through opq_dfq.c's estimated input
 * moments, the biases and affines upstream of each layer).  With --calib (ctx->compress.calib_path) the fp32 model is run
 * once on the calibration batch (opq_calib.c): each weight's error is
 * weighted by the second moment of the input channel it multiplies, [out,
 * in] layers are rounded with error compensation from their input's second
 * moments (opq_gptq.c), and the quantized model is run once more to
 * correct every layer's bias in sequence.  Without --calib, the input
 * means and variances of Conv layers are instead estimated from the
 * graph's constants (opq_dfq.c): each weight's error is weighted by the
 * estimated E[x_c^2] of its input channel, [out, in] layers at few bits
 * are GPTQ-rounded against the estimated diag(Var[x]) + E[x]E[x]^T, and
 * each such layer's bias absorbs its mean output error.
 * The math lives in opq_math.c, opq_calib.c, opq_gptq.c and opq_dfq.c;
 * this file is the graph side only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opq_math.h"
#include "opq_calib.h"
#include "opq_gptq.h"
#include "opq_dfq.h"
#include "compress_common.h"
#include "tessel/util.h"

/* Global pruning targets P the outer search tries (over the non-kept
 * layers).  Pruned entries are masked: they cost no index bits, only their
 * share of the coded sparsity pattern (tsl_const_stored_bits), so the
 * search trades pruning against bits; see docs/passes-opq.md. */
static const double prune_grid[] = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};

/* Least bits of a kept (first/last) layer: keep_first_last means "never
 * pruned and at least this many bits"; above it the Lagrangian allocates
 * the layer like any other.  docs/passes-opq.md gives the measured effect
 * of 4 versus 8. */
static const int keep_min_bits = 4;
/* The same with Huffman-coded indices and no --calib, where a 5-bit grid
 * costs about what 4 packed bits do (the classifier of PP-OCRv4 rec: 4.6
 * bits per weight coded).  The data-free objective has no estimate for a
 * classifier's input and weighs its noise like any layer's, but its error
 * goes to the decision undamped: rec 8x with the classifier at a 4-bit
 * grid scored CER 3.61 / 3.52 / 2.36 / 2.83 / 26.1% on the test / val /
 * val2 / bold / long lines (the classifier alone swapped into fp32: long
 * lines 11.4%), at >= 5 bits 0.58 / 0.00 / 0.18 / 1.24 / 8.21%, at >= 6
 * bits 7.80 / 4.89 / 7.43 / 6.73 / 16.4%.  With --calib the measured
 * moments weigh it and the floor costs the other layers (>= 5 bits: 5.78 /
 * 4.59 / 3.80 / 5.31 / 1.90% against 0.87 / 1.07 / 1.27 / 0.53 / 4.24%),
 * so there kept layers stay at keep_min_bits.  docs/passes-opq.md. */
static const int keep_min_bits_huffman = 5;

/* How a layer's squared weight error counts in the objective.
 *   OPQ_OBJ_ABSOLUTE: sum (w - q)^2 as is (the reconstruction's objective;
 *     its Lagrange condition is "equal absolute step in every layer").
 *   OPQ_OBJ_RELATIVE: sum (w - q)^2 / sum w^2, the layer's noise-to-signal
 *     ratio, which is what reaches the layer's output when its inputs are
 *     roughly normalized (BN nets); equal slope then means "equal step
 *     relative to the layer's RMS weight".
 *   OPQ_OBJ_CHANNEL: RELATIVE times the number of output channels, i.e.
 *     the sum over output channels of their noise-to-signal ratios: a
 *     layer feeding many outputs (a 6625-way classifier) counts more.
 * docs/passes-opq.md gives the measured effect; RELATIVE is the default. */
enum opq_objective { OPQ_OBJ_ABSOLUTE, OPQ_OBJ_RELATIVE, OPQ_OBJ_CHANNEL };
static const enum opq_objective objective = OPQ_OBJ_RELATIVE;

/* Data-free bias correction (no --calib): every Conv layer whose input
 * mean can be estimated from the graph's constants gets the mean of its
 * output error, (W - What) * E[x], folded into its bias (opq_dfq.c).  The
 * inputs of some layers are dominated by their mean, and there a weight
 * error acts as a per-channel offset rather than noise; docs/passes-opq.md
 * has the measurements (rec 6x CER 11.6% -> 2.1% on validation lines). */
static const bool dfq_bias_correction = true;
/* With Huffman-coded indices, only layers at grids of at most this many
 * bits take the data-free correction.  Finer grids leave a rounding offset
 * smaller than the error of the estimated E[x] (the early layers' estimate
 * rests on the assumed input), and correcting them added error: rec 8x,
 * test / val / val2 / bold / long lines, every layer corrected 0.58 / 0.00
 * / 0.18 / 1.24 / 8.21% CER, <= 6 bits 0.58 / 0.15 / 0.72 / 1.59 / 8.38%,
 * <= 5 bits 0.87 / 0.92 / 0.54 / 1.42 / 3.63%, <= 4 bits 1.16 / 0.92 /
 * 0.72 / 1.24 / 3.54%.  Packed indices keep correcting every layer (not
 * re-measured with a cap). */
static const int dfq_bias_max_bits_huffman = 5;

/* Data-free importance weighting (no --calib): like --calib's, each weight's
 * squared error is multiplied by a second moment of the input channel it
 * multiplies, here the estimate of opq_dfq.c.
 *   DFQ_W_NONE: no weighting (every importance 1).
 *   DFQ_W_SECOND: E[x_c^2].
 *   DFQ_W_VAR: Var[x_c] where the bias is corrected, else E[x_c^2].
 * docs/passes-opq.md gives the measured effect. */
enum dfq_weighting { DFQ_W_NONE, DFQ_W_SECOND, DFQ_W_VAR };
static const enum dfq_weighting dfq_weighting = DFQ_W_SECOND;

/* Data-free GPTQ (no --calib): [out, in] layers with an input estimate are
 * rounded with error compensation (opq_gptq.c) against the estimated
 * H = diag(Var[x]) + E[x] E[x]^T (tsl_opq_dfq_cov), like --calib does with
 * the measured E[x x^T]: the rounding keeps each row's mean error
 * (W - What) E[x] small.  Only where the estimated variance carries at
 * least dfq_gptq_min_var of E[x^2]: a globally pooled input
 * (squeeze-excite) has variance 0, H is then rank one and the
 * compensation drives the weights far off the grid (rec 8x CER 91%).
 * And only for layers allocated at most dfq_gptq_max_bits: at more bits
 * the rounding error is small against the error of the estimated E[x],
 * and compensating it cost rec 4x 0.3 points on two line sets.
 * docs/passes-opq.md, "Data-free GPTQ", has the measurements, including
 * a propagated cross-channel correlation in H (worse; removed). */
static const bool dfq_gptq = true;
static const double dfq_gptq_min_var = 0.01;
static const int dfq_gptq_max_bits = 5;
/* With Huffman-coded indices the allocation puts most layers at 5-7-bit
 * grids, so the 5-bit cap would leave most of the model to plain rounding:
 * there GPTQ runs up to 7 bits (rec 8x, test / val lines CER: cap 5 6.21 /
 * 3.36%, cap 7 0.87 / 0.92%).  Not at 8 bits, where the rounding error is
 * far below the error of the estimated moments: rec 4x (every layer at 8
 * bits) scored 6.65% on the test lines with GPTQ there, 2.02% without
 * (fp32 2.02%). */
static const int dfq_gptq_max_bits_huffman = 7;

/* With Huffman-coded indices and no --calib, a layer whose estimated input
 * is mean-dominated (the expanding 1x1 convs of PP-OCRv4 rec's two
 * squeeze-excite blocks, conv2d_107 and conv2d_118, fed by a globally
 * pooled vector whose estimate has variance 0) gets at least this many
 * bits.  Such a layer's weight error is a constant offset into the gate,
 * which only the bias correction against the estimated mean removes, and
 * how well that goes at 3-4-bit grids is a coin toss (docs/passes-opq.md,
 * "How much a CER point is").  The two layers are 2.7% of rec's weights;
 * the floor costs about 1% of the 8x budget.  Rec, data-free, 600 unseen
 * lines (big1, fp32 0.42%): 6x / 7x / 8x CER 2.50 / 2.69 / 1.16% without
 * the floor, 1.99 / 2.47 / 0.70% with it; 8x on the five tuning sets went
 * from 0.87 / 0.92 / 0.54 / 1.42 / 3.63% to 1.01 / 0.46 / 0.91 / 1.24 /
 * 1.99%. */
static const int pooled_min_bits_huffman = 5;

/* Largest weight tensor the pass accepts (elements). */
#define OPQ_MAX_NUMEL ((int64_t)1 << 34)

struct opq_item {
    struct tsl_cweight *cw; /* in the caller's tsl_cweights */
    float *w;               /* decoded weights, pruned entries 0 (owned) */
    float *xw;              /* --calib: per-weight importance, else NULL (owned) */
    const double *cov;      /* E[x x^T] of the input for GPTQ rounding, or NULL (--calib:
                               the measured one; data-free: cov_own) */
    double *cov_own;        /* data-free: tsl_opq_dfq_cov's estimate, or NULL (owned) */
    bool bias_correct;      /* --calib: correct this layer's bias afterwards */
    struct tsl_opq_layer L;
};

static void items_free(struct opq_item *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(items[i].w);
        free(items[i].xw);
        free(items[i].cov_own);
        tsl_opq_layer_fini(&items[i].L);
    }
    free(items);
}

/* Load the compressible weights found by tsl_cw_find (in node order). */
static enum tsl_status collect(struct tsl_cweights *ws, struct tsl_pass_context *ctx,
                               struct opq_item **out)
{
    struct opq_item *items = calloc(ws->n ? ws->n : 1, sizeof *items);
    if (!items)
        return TSL_STATUS_NOMEM;
    enum tsl_status st = TSL_STATUS_OK;
    for (uint32_t k = 0; k < ws->n && st == TSL_STATUS_OK; k++) {
        struct tsl_cweight *cw = &ws->w[k];
        struct opq_item *it = &items[k];
        it->cw = cw;
        if (cw->numel > OPQ_MAX_NUMEL) {
            st = tsl_diag_error(ctx->diag, TSL_STATUS_LIMIT, cw->value->name,
                                "weight has %lld elements, more than opq accepts",
                                (long long)cw->numel);
            break;
        }
        uint8_t *mask = NULL;
        st = tsl_cw_load(cw, &it->w, &mask, ctx->diag);
        free(mask); /* entries pruned earlier read as 0 and stay 0 */
        for (int64_t i = 0; st == TSL_STATUS_OK && i < cw->numel; i++)
            if (!isfinite(it->w[i]))
                st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, cw->value->name,
                                    "weight element %lld is not finite", (long long)i);
        it->L.w = it->w;
        it->L.n = cw->numel;
        it->L.n_ch = cw->n_ch;
        it->L.inner = cw->inner;
        it->L.fixed = tsl_cw_skip(cw, &ctx->compress);
        it->L.huffman = ctx->compress.index_coding == TSL_CODING_HUFFMAN;
        it->L.min_B = !it->L.fixed ? 1
                      : it->L.huffman && !ctx->compress.calib_path ? keep_min_bits_huffman
                                                                   : keep_min_bits;
    }
    if (st != TSL_STATUS_OK) {
        items_free(items, ws->n);
        return st;
    }
    *out = items;
    return TSL_STATUS_OK;
}

/* ---- writing the payload ---- */

/* Build the CODEBOOK payload of one allocated layer (with L->keep as its
 * mask when L->masked) by rounding src (L->w, or the GPTQ values, which are
 * on the grid already) to the nearest code; counts the entries that decode
 * to zero. */
static struct tsl_const *encode(const struct opq_item *it, const float *src, int64_t *zeros_out)
{
    const struct tsl_opq_layer *L = &it->L;
    int B = L->B;
    bool masked = L->masked;
    double clip = L->clip[B];
    struct tsl_const *c = tsl_const_new();
    if (!c)
        return NULL;
    c->encoding = TSL_ENC_CODEBOOK;
    c->index_bits = (uint8_t)B;
    c->coding = (uint8_t)(L->huffman ? TSL_CODING_HUFFMAN : TSL_CODING_PACKED);
    c->n_codes = tsl_opq_n_codes(B, masked);
    c->indices_bytes = (size_t)((L->n * B + 7) / 8);
    c->axis = it->cw->ch_axis;
    c->n_channels = (uint32_t)L->n_ch;
    c->codebook = malloc(c->n_codes * sizeof *c->codebook);
    c->indices = calloc(c->indices_bytes, 1);
    c->channel_scale = malloc((size_t)L->n_ch * sizeof *c->channel_scale);
    if (masked) {
        c->mask_bytes = (size_t)tsl_bitset_bytes(L->n);
        c->mask = malloc(c->mask_bytes);
        if (c->mask)
            memcpy(c->mask, L->keep, c->mask_bytes);
    }
    if (!c->codebook || !c->indices || !c->channel_scale || (masked && !c->mask)) {
        tsl_const_free(c);
        return NULL;
    }
    for (uint32_t k = 0; k < c->n_codes; k++)
        c->codebook[k] = (float)tsl_opq_code_value(k, B, clip, masked);
    memcpy(c->channel_scale, L->scale, (size_t)L->n_ch * sizeof *L->scale);
    int64_t zeros = 0;
    for (int64_t i = 0; i < L->n; i++) {
        float s = L->scale[(i / L->inner) % L->n_ch];
        uint32_t idx = 0; /* masked entries keep index 0; it is not decoded */
        if (masked && !tsl_bit_get(L->keep, i))
            zeros++;
        else {
            idx = tsl_opq_quantize(s > 0 ? (double)src[i] / s : 0.0, B, clip, masked);
            if (s == 0 || c->codebook[idx] == 0.0f)
                zeros++;
        }
        tsl_bits_write(c->indices, i, (unsigned)B, idx);
    }
    *zeros_out = zeros;
    return c;
}

/* Effective absolute step of a layer: the normalized step times the RMS
 * channel scale. */
static double effective_step(const struct tsl_opq_layer *L)
{
    double s2 = 0;
    for (int64_t c = 0; c < L->n_ch; c++)
        s2 += (double)L->scale[c] * L->scale[c];
    double rms = L->n_ch ? sqrt(s2 / (double)L->n_ch) : 0, clip = L->clip[L->B];
    double step = L->B <= 1 ? 2 * clip : clip / (double)tsl_opq_levels(L->B, L->masked);
    return step * rms;
}

/* ---- calibration (--calib only) ---- */

/* Fewest observations per input channel for which a layer's importance is
 * the variance (mean part removed by bias correction): below it (a batch of
 * one image feeding a squeeze-excite layer gives 1) the variance estimate
 * is degenerate, often exactly 0, and E[x_c^2] is used instead. */
static const int64_t centered_min_count = 8;

/* Collect the activation statistics and give every observed layer its
 * importances: Var[x_c] where the bias will be corrected (the mean part of
 * the error is removed) and enough observations back it, E[x_c^2] where
 * not. */
static enum tsl_status calibrate(const struct tsl_graph *g, struct tsl_cweights *ws,
                                 struct opq_item *items, struct tsl_pass_context *ctx,
                                 struct tsl_opq_calib *cal)
{
    TSL_TRY(tsl_opq_calib_collect(g, ws, ctx, cal));
    for (uint32_t i = 0; i < ws->n; i++) {
        const struct tsl_opq_calib_layer *cl = &cal->layers[i];
        if (!cl->n_x)
            continue;
        items[i].bias_correct = tsl_opq_bias_correctable(&ws->w[i], cl);
        bool centered = items[i].bias_correct && cl->count >= centered_min_count;
        if (tsl_opq_calib_importance(&ws->w[i], cl, centered, &items[i].xw) != TSL_STATUS_OK)
            return tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
        items[i].L.xw = items[i].xw;
        items[i].cov = cl->cov;
    }
    return TSL_STATUS_OK;
}

/* Data-free importances from the estimated input moments of every layer
 * that has them (dfq_weighting). */
static enum tsl_status weigh_data_free(struct tsl_cweights *ws, struct opq_item *items,
                                       const struct tsl_opq_dfq *dfq, enum dfq_weighting how,
                                       struct tsl_diag *diag)
{
    if (how == DFQ_W_NONE)
        return TSL_STATUS_OK;
    for (uint32_t i = 0; i < ws->n && i < dfq->n; i++) {
        if (!dfq->mean[i])
            continue;
        const struct tsl_cweight *cw = &ws->w[i];
        struct tsl_opq_calib_layer cl = {
            .n_x = dfq->n_x[i],
            .group = cw->node->op == TSL_OP_CONV ? cw->node->attrs.conv.group : 1,
            .mean = dfq->mean[i],
            .var = dfq->var[i],
        };
        bool centered = how == DFQ_W_VAR && tsl_opq_dfq_correctable(cw);
        if (tsl_opq_calib_importance(cw, &cl, centered, &items[i].xw) != TSL_STATUS_OK)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, "opq", "out of memory");
        /* an estimate of zero (or non-finite) energy would make every
         * error of the layer free: keep it unweighted instead */
        double energy = 0;
        for (int64_t k = 0; k < cw->numel; k++)
            energy += (double)items[i].xw[k] * items[i].w[k] * items[i].w[k];
        if (!(energy > 0) || !isfinite(energy)) {
            free(items[i].xw);
            items[i].xw = NULL;
            continue;
        }
        items[i].L.xw = items[i].xw;
    }
    return TSL_STATUS_OK;
}

/* Whether layer i's estimated input carries less than dfq_gptq_min_var of
 * its second moment as variance (a globally pooled input). */
static bool mean_dominated(const struct tsl_opq_dfq *dfq, uint32_t i)
{
    double sv = 0, s2 = 0;
    for (int64_t j = 0; j < dfq->n_x[i]; j++) {
        sv += dfq->var[i][j];
        s2 += dfq->var[i][j] + dfq->mean[i][j] * dfq->mean[i][j];
    }
    return !(sv >= dfq_gptq_min_var * s2);
}

/* Huffman-coded indices: the pooled_min_bits_huffman floor of every layer
 * with a mean-dominated input estimate. */
static void floor_pooled(struct opq_item *items, uint32_t n, const struct tsl_opq_dfq *dfq)
{
    for (uint32_t i = 0; i < n && i < dfq->n; i++)
        if (items[i].L.huffman && dfq->mean[i] && mean_dominated(dfq, i) &&
            items[i].L.min_B < pooled_min_bits_huffman)
            items[i].L.min_B = pooled_min_bits_huffman;
}

/* Data-free GPTQ second moments of every [out, in] layer with an input
 * estimate (dfq_gptq), within the same memory budget as --calib's. */
static enum tsl_status cov_data_free(struct tsl_cweights *ws, struct opq_item *items,
                                     const struct tsl_opq_dfq *dfq, struct tsl_diag *diag)
{
    int64_t used = 0;
    for (uint32_t i = 0; i < ws->n && i < dfq->n; i++) {
        const struct tsl_cweight *cw = &ws->w[i];
        if (!dfq->mean[i] || !tsl_opq_gptq_fits(cw) || dfq->n_x[i] != cw->in_dim ||
            mean_dominated(dfq, i))
            continue;
        int64_t bytes = cw->in_dim * cw->in_dim * (int64_t)sizeof(double);
        if (used + bytes > TSL_OPQ_COV_BUDGET)
            break;
        if (tsl_opq_dfq_cov(dfq, i, &items[i].cov_own) != TSL_STATUS_OK)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, "opq", "out of memory");
        items[i].cov = items[i].cov_own;
        used += bytes;
    }
    return TSL_STATUS_OK;
}

/* Bias correction of every layer that calibrate() marked (sequential, one
 * run of the quantized model; opq_calib.c). */
static enum tsl_status correct_biases(struct tsl_graph *g, const struct tsl_cweights *ws,
                                      const struct opq_item *items, uint32_t n,
                                      const struct tsl_opq_calib *cal,
                                      struct tsl_pass_context *ctx)
{
    bool *marked = calloc(n ? n : 1, sizeof *marked);
    if (!marked)
        return tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    for (uint32_t i = 0; i < n; i++)
        marked[i] = items[i].bias_correct;
    enum tsl_status st = tsl_opq_bias_correct(g, ws, cal, marked, ctx);
    free(marked);
    return st;
}

/* Data-free bias correction of every layer with an input-mean estimate. */
static enum tsl_status correct_biases_data_free(struct tsl_graph *g, const struct tsl_cweights *ws,
                                                const struct opq_item *items, uint32_t n,
                                                const struct tsl_opq_dfq *dfq,
                                                struct tsl_pass_context *ctx)
{
    const float **w_orig = malloc((n ? n : 1) * sizeof *w_orig);
    if (!w_orig)
        return tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    for (uint32_t i = 0; i < n; i++) /* NULL: no correction */
        w_orig[i] = !items[i].L.huffman || items[i].L.B <= dfq_bias_max_bits_huffman
                        ? items[i].w
                        : NULL;
    uint32_t n_corrected = 0; /* not reported: the layer rows carry no bias */
    enum tsl_status st = tsl_opq_dfq_correct(g, ws, dfq, w_orig, &n_corrected, ctx->diag);
    free(w_orig);
    return st;
}

/* ---- the pass ---- */

/* Tables and allocation for pruning target P; false if the budget cannot be
 * met. */
static bool plan(struct tsl_opq_layer *layers, uint32_t n, double P, int64_t budget,
                 int64_t *min_bits)
{
    double t = tsl_opq_laplace_threshold(layers, n, P);
    for (uint32_t i = 0; i < n; i++) {
        struct tsl_opq_layer *L = &layers[i];
        L->prune_thr =
            L->fixed ? 0 : tsl_opq_quantile_threshold(L, tsl_opq_laplace_pruned(L->laplace_b, t));
        tsl_opq_tables(L);
    }
    return tsl_opq_allocate(layers, n, budget, min_bits);
}

/* Stored bits of payload c for the weight of item it. */
static int64_t payload_bits(const struct opq_item *it, const struct tsl_const *c)
{
    struct tsl_value v = *it->cw->value;
    v.constant = (struct tsl_const *)c;
    return tsl_const_stored_bits(&v);
}

/* Build the payload of every layer of the allocation (GPTQ-rounded where
 * it->cov is set) into cs[0..n-1]; *total gets their stored bits. */
static enum tsl_status build(struct opq_item *items, uint32_t n, struct tsl_const **cs,
                             int64_t *zeros, int64_t *total, struct tsl_pass_context *ctx)
{
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct opq_item *it = &items[i];
        float *g_w = NULL;
        int gmax = it->L.huffman ? dfq_gptq_max_bits_huffman : dfq_gptq_max_bits;
        if (it->cov && !(it->cov_own && it->L.B > gmax)) {
            /* error-compensating rounding */
            if (!(g_w = malloc((size_t)it->L.n * sizeof *g_w)) ||
                tsl_opq_gptq(it->cw, &it->L, it->cov, g_w) != TSL_STATUS_OK) {
                free(g_w);
                return tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
            }
        }
        cs[i] = encode(it, g_w ? g_w : it->L.w, &zeros[i]);
        free(g_w);
        if (!cs[i])
            return TSL_STATUS_NOMEM;
        *total += payload_bits(it, cs[i]);
    }
    return TSL_STATUS_OK;
}

/* Write the payloads into the graph and the report (takes cs[i]). */
static enum tsl_status apply(struct tsl_graph *g, struct opq_item *items, uint32_t n,
                             struct tsl_const **cs, const int64_t *zeros,
                             struct tsl_pass_context *ctx)
{
    for (uint32_t i = 0; i < n; i++) {
        struct opq_item *it = &items[i];
        struct tsl_const *c = cs[i];
        cs[i] = NULL;
        TSL_TRY(tsl_cw_replace(g, it->cw, c, ctx->diag));
        struct tsl_layer_report r = {
            .name = it->cw->value->name,
            .op = (char *)tsl_op_name(it->cw->node->op),
            .n_weights = it->L.n,
            .sparsity = (double)zeros[i] / (double)it->L.n,
            .bits = it->L.B,
            .step = effective_step(&it->L),
            .original_bits = 32 * it->L.n,
            .stored_bits = tsl_const_stored_bits(it->cw->value),
        };
        TSL_TRY(tsl_pass_report_layer(ctx, &r));
        ctx->n_changed++;
    }
    return TSL_STATUS_OK;
}

static void free_payloads(struct tsl_const **cs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        tsl_const_free(cs[i]);
        cs[i] = NULL;
    }
}

/* Plan at best_P, build the payloads and write them.  With Huffman-coded
 * indices the coded size depends on the final indices, which GPTQ rounding
 * moves a little after the allocation; when they overshoot the budget the
 * plan is redone with the budget lowered by the overshoot (a few rounds at
 * most), so the target rate is always met. */
static enum tsl_status plan_and_apply(struct tsl_graph *g, struct opq_item *items, uint32_t n,
                                      struct tsl_opq_layer *layers, double best_P, int64_t budget,
                                      struct tsl_pass_context *ctx)
{
    struct tsl_const **cs = calloc(n, sizeof *cs);
    int64_t *zeros = calloc(n, sizeof *zeros), target = budget, total = 0, min_bits = 0;
    enum tsl_status st = cs && zeros ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
    for (int round = 0; st == TSL_STATUS_OK; round++) {
        for (uint32_t i = 0; i < n; i++)
            layers[i] = items[i].L;
        if (!plan(layers, n, best_P, target, &min_bits) || round == 8) {
            st = tsl_diag_error(ctx->diag, TSL_STATUS_LIMIT, "opq",
                                "the coded indices do not fit the budget of the target rate");
            break;
        }
        for (uint32_t i = 0; i < n; i++)
            items[i].L = layers[i];
        st = build(items, n, cs, zeros, &total, ctx);
        if (st != TSL_STATUS_OK || total <= budget)
            break;
        free_payloads(cs, n);
        target -= total - budget + budget / 2000;
    }
    if (st == TSL_STATUS_OK)
        st = apply(g, items, n, cs, zeros, ctx);
    if (cs)
        free_payloads(cs, n);
    free(cs);
    free(zeros);
    return st;
}

enum tsl_status tsl_pass_opq(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    double rate = ctx->compress.opq_rate;
    if (rate == 0)
        return TSL_STATUS_OK;
    if (!(rate > 0) || !isfinite(rate))
        return tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, "opq",
                              "target rate must be a positive number, got %g", rate);
    struct tsl_cweights ws;
    TSL_TRY(tsl_cw_find(g, &ws, ctx->diag));
    if (tsl_cw_count_active(&ws, &ctx->compress) == 0) {
        enum tsl_status st = tsl_cw_none_error(&ws, "opq", ctx->diag);
        tsl_cw_fini(&ws);
        return st;
    }
    uint32_t n = ws.n;
    struct opq_item *items = NULL;
    enum tsl_status st = collect(&ws, ctx, &items);
    if (st != TSL_STATUS_OK) {
        tsl_cw_fini(&ws);
        return st;
    }
    struct tsl_opq_calib cal = {0};
    if (st == TSL_STATUS_OK && ctx->compress.calib_path)
        st = calibrate(g, &ws, items, ctx, &cal);
    /* Data-free: estimate every Conv layer's input means from the
     * constants, before any weight is replaced (opq_dfq.c). */
    struct tsl_opq_dfq dfq = {0};
    if (st == TSL_STATUS_OK && dfq_bias_correction && !ctx->compress.calib_path)
        st = tsl_opq_dfq_estimate(g, &ws, &dfq, ctx->diag);
    if (st == TSL_STATUS_OK && dfq.n) {
        floor_pooled(items, n, &dfq);
        st = weigh_data_free(&ws, items, &dfq, dfq_weighting, ctx->diag);
    }
    if (st == TSL_STATUS_OK && dfq.n && dfq_gptq)
        st = cov_data_free(&ws, items, &dfq, ctx->diag);
    struct tsl_opq_layer *layers = calloc(n, sizeof *layers);
    int64_t orig = 0;
    for (uint32_t i = 0; i < n && st == TSL_STATUS_OK; i++) {
        struct tsl_opq_layer *L = &items[i].L;
        if (!layers || !tsl_opq_layer_prepare(L) || !tsl_add_i64(orig, 32 * L->n, &orig)) {
            st = TSL_STATUS_NOMEM;
            break;
        }
        double energy = 0; /* importance-weighted with --calib */
        for (int64_t k = 0; k < L->n; k++)
            energy += (L->xw ? L->xw[k] : 1.0) * L->w[k] * L->w[k];
        L->weight = objective == OPQ_OBJ_ABSOLUTE || energy <= 0 ? 1.0
                    : objective == OPQ_OBJ_RELATIVE ? 1.0 / energy
                                                    : (double)L->n_ch / energy;
    }
    int64_t budget = (int64_t)floor((double)orig / rate), min_bits = 0;
    /* Outer search over P: the least predicted distortion that fits.  The
     * layers array holds shallow copies of items[i].L (same buffers). */
    double best_D = INFINITY, best_P = -1;
    for (size_t k = 0; st == TSL_STATUS_OK && k < sizeof prune_grid / sizeof *prune_grid; k++) {
        for (uint32_t i = 0; i < n; i++)
            layers[i] = items[i].L;
        if (!plan(layers, n, prune_grid[k], budget, &min_bits))
            continue;
        double D = tsl_opq_total_distortion(layers, n);
        if (D < best_D) {
            best_D = D;
            best_P = prune_grid[k];
        }
    }
    if (st == TSL_STATUS_OK && best_P < 0)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_LIMIT, "opq",
                            "compression rate %gx is unreachable: at most %.2fx over %u "
                            "weight tensors (1 bit per weight%s; scales and codebooks counted)",
                            rate, (double)orig / (double)min_bits, n,
                            ctx->compress.keep_first_last ? ", first/last at their minimum" : "");
    if (st == TSL_STATUS_OK)
        st = plan_and_apply(g, items, n, layers, best_P, budget, ctx);
    if (st == TSL_STATUS_OK && dfq.n)
        st = correct_biases_data_free(g, &ws, items, n, &dfq, ctx);
    tsl_opq_dfq_fini(&dfq);
    if (st == TSL_STATUS_OK && cal.n)
        st = correct_biases(g, &ws, items, n, &cal, ctx);
    tsl_opq_calib_fini(&cal);
    free(layers);
    items_free(items, n);
    tsl_cw_fini(&ws);
    return st;
}
