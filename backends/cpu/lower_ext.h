/* lower_ext.h - declarations shared by the op families added after the
 * backend's foundation: the index-table data movement (lower_gather.c),
 * reductions (lower_reduce.c), normalizations (lower_norm.c), constant
 * evaluation (lower_fold.c), Resize (lower_resize.c), ConvTranspose
 * (lower_convt.c), plus the small helpers they share.
 *
 * Only backends/cpu/ includes it.  No code generation here. */
#ifndef TSL_CPU_LOWER_EXT_H
#define TSL_CPU_LOWER_EXT_H

#include "cpu_internal.h"

extern const struct tsl_cpu_lowering tsl_cpu_lower_gather_table, tsl_cpu_lower_reduce,
    tsl_cpu_lower_instance_norm, tsl_cpu_lower_layer_norm, tsl_cpu_lower_fold,
    tsl_cpu_lower_resize, tsl_cpu_lower_where, tsl_cpu_lower_conv_transpose;
/* Conv: constant weight and 1-D/2-D to tsl_cpu_lower_conv, else a direct
 * convolution (lower_conv_rt.c). */
extern const struct tsl_cpu_lowering tsl_cpu_lower_conv_any, tsl_cpu_lower_qlinear_conv;
/* Data-dependent output sizes (lower_select.c). */
extern const struct tsl_cpu_lowering tsl_cpu_lower_non_zero, tsl_cpu_lower_nms;

/* Convolution geometry with the spatial dims right-aligned to 3 (missing
 * ones size 1, pads the begin pads after auto_pad), shared by the direct
 * convolutions (lower_conv_rt.c, QLinearConv in lower_qlinear.c). */
struct tsl_cpu_conv3 {
    int64_t N, C, OC, G, Cg, Mg;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
};
/* Geometry of conv-attributed node n with data x and weight w (any dtype);
 * UNSUPPORTED naming the node when the shapes or attributes do not fit. */
enum tsl_status tsl_cpu_conv3_geo(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                  const struct tsl_value *x, const struct tsl_value *w,
                                  struct tsl_cpu_conv3 *g);

/* The loop nest of the direct convolutions: image n, output channel oc
 * (grp its group), output position o[3] (oi its flat output index), then
 * input channel c of the group and taps k[3]; xi/wi are the flat data and
 * weight indices of the tap, valid is false for a tap in the padding (xi is
 * then 0, a safe index).  Open and close the levels in order; the caller
 * emits its per-channel, per-output and per-tap code between them. */
struct tsl_cpu_conv3_nest {
    struct tsl_cpu_loop ln, lo, lp[3], lc, lk[3];
    LLVMValueRef n, oc, grp, o[3], oi, c, k[3], xi, wi, valid;
};
void tsl_cpu_conv3_open_channel(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                                struct tsl_cpu_conv3_nest *t);
void tsl_cpu_conv3_open_output(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                               struct tsl_cpu_conv3_nest *t);
void tsl_cpu_conv3_open_taps(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                             struct tsl_cpu_conv3_nest *t);
void tsl_cpu_conv3_close_taps(struct tsl_cpu_cg *cg, struct tsl_cpu_conv3_nest *t);
void tsl_cpu_conv3_close_outputs(struct tsl_cpu_cg *cg, struct tsl_cpu_conv3_nest *t);

/* Typed lowerings (lower_typed.c, lower_index.c): any dtype with an element
 * type below; arith/typed dispatch f32 and constant cases to the lowerings
 * above. */
extern const struct tsl_cpu_lowering tsl_cpu_lower_arith, tsl_cpu_lower_typed,
    tsl_cpu_lower_argreduce, tsl_cpu_lower_split, tsl_cpu_lower_topk,
    tsl_cpu_lower_qlinear_matmul, tsl_cpu_lower_gather_rt;

/* LLVM element type of a dtype (bool and u8 are i8, unsigned as signed of
 * the same width), or NULL for f16/bf16 and packed sub-byte types. */
LLVMTypeRef tsl_cpu_elem_type(struct tsl_cpu_cg *cg, enum tsl_dtype t);
/* Unaligned-safe scalar load/store of one element of type ty. */
LLVMValueRef tsl_cpu_typed_load(struct tsl_cpu_cg *cg, LLVMTypeRef ty, LLVMValueRef p);
void tsl_cpu_typed_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p);
/* Convert scalar x of dtype `from` to `to` with the reference's Cast
 * semantics (float -> int via saturating int64, NaN -> 0; -> bool is x != 0). */
LLVMValueRef tsl_cpu_cast_value(struct tsl_cpu_cg *cg, LLVMValueRef x, enum tsl_dtype from,
                                enum tsl_dtype to);

/* UNSUPPORTED unless every input of n from index `first` on is absent or a
 * constant (static parameters the lowerings evaluate at compile time). */
enum tsl_status tsl_cpu_require_const_inputs(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                             uint32_t first);

/* Run node n alone through the reference interpreter at compile time.
 * over has n->n_inputs entries; over[i] (may be NULL) replaces input i: over[0] is bound
 * as the graph input (required), over[i > 0] become constants; every other
 * input is copied from its constant.  attrs: the node's attributes to use
 * (NULL: n's own).  *out receives output 0 (caller frees with
 * tsl_tensors_free(out, 1)). */
enum tsl_status tsl_cpu_ref_eval(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                 const struct tsl_tensor *const *over,
                                 const union tsl_attrs *attrs, struct tsl_tensor **out);

/* ---- stride-phase layouts (strided_copy.c) ---- */

/* dst[j] = src[j * sw] for j in [jlo, jhi): masked wide loads + shuffle per
 * vector for strides 2..4, reading only those elements; an element loop
 * otherwise. */
void tsl_cpu_copy_strided(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef src,
                          int64_t jlo, int64_t jhi, int64_t sw);
/* The sh * sw phase planes at ph (plane floats each, rows = plane / qw
 * rows of qw) of one unpadded H x W image x: phase (a, b) row i column j
 * holds x[a + sh*i - pt][b + sw*j - pl] where that lies in the image (see
 * tsl_cpu_phase_range), pad everywhere else. */
void tsl_cpu_fill_phases(struct tsl_cpu_cg *cg, LLVMValueRef x, LLVMValueRef ph, int64_t H,
                         int64_t W, int64_t pt, int64_t pl, int64_t sh, int64_t sw, int64_t qw,
                         int64_t plane, float pad);
/* llvm.masked.load / llvm.masked.store of vector type vt at p (an f32*):
 * lanes off in mask are neither read nor written (no fault past a row). */
LLVMValueRef tsl_cpu_masked_load(struct tsl_cpu_cg *cg, LLVMTypeRef vt, LLVMValueRef p,
                                 LLVMValueRef mask, LLVMValueRef passthru);
void tsl_cpu_masked_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
/* Constant <n x i1> (n <= 256): lane e on iff e % step == 0 and e / step < len. */
LLVMValueRef tsl_cpu_lane_mask(struct tsl_cpu_cg *cg, int64_t n, int64_t step, int64_t len);

#endif
