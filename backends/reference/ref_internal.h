/* ref_internal.h - what the reference interpreter and its kernels share:
 * the kernel calling convention, tensor allocation, error reporting that
 * names the node, broadcasting and index helpers, and the blocked SGEMM.
 *
 * A kernel reads c->in[i] (NULL for an omitted optional input), computes its
 * output shapes from the actual input tensors, allocates each output with
 * tsl_ref_alloc and fills it.  On failure it returns a status with a
 * diagnostic from tsl_ref_fail; outputs it already allocated are freed by
 * the interpreter.  Kernels never see the graph's value types: everything
 * is derived from the tensors, so symbolic and data-dependent shapes work.
 * Not here: scheduling and memory planning (interpreter.c). */
#ifndef TESSEL_REF_INTERNAL_H
#define TESSEL_REF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessel/reference.h"
#include "tessel/util.h"

/* Largest single tensor the interpreter allocates (bytes). */
#define TSL_REF_MAX_TENSOR_BYTES ((int64_t)1 << 36)

struct tsl_ref_call {
    const struct tsl_node *node;
    const struct tsl_tensor *const *in; /* n_in entries; NULL = omitted */
    uint32_t n_in;
    struct tsl_tensor *out; /* n_out zeroed tensors the kernel fills */
    uint32_t n_out;
    struct tsl_diag *diag;
};

typedef enum tsl_status (*tsl_ref_kernel_fn)(struct tsl_ref_call *c);

/* ---- helpers (tensor.c) -------------------------------------------------- */

/* The node's name, or its op name when unnamed: the `where` of errors. */
const char *tsl_ref_where(const struct tsl_node *n);
/* Record "<Op>: <message>" against the node and return st. */
enum tsl_status tsl_ref_fail(struct tsl_ref_call *c, enum tsl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocate output i zero-filled with the given dtype and dims (checked size;
 * LIMIT above TSL_REF_MAX_TENSOR_BYTES).  data is never NULL, even when
 * empty. */
enum tsl_status tsl_ref_alloc(struct tsl_ref_call *c, uint32_t i, enum tsl_dtype dt,
                              int32_t rank, const int64_t *dims);
/* Element count of a tensor whose shape was validated (all dims >= 0). */
int64_t tsl_ref_numel(const struct tsl_tensor *t);
/* Bytes per element; 0 for packed sub-byte types. */
size_t tsl_ref_elem_size(enum tsl_dtype dt);
/* Input i, or a failure naming it when it is absent. */
enum tsl_status tsl_ref_need(struct tsl_ref_call *c, uint32_t i, const struct tsl_tensor **out);
/* Fail unless input i is float (f32/f64/f16/bf16) / f32 exactly. */
enum tsl_status tsl_ref_need_float(struct tsl_ref_call *c, uint32_t i);
/* Read an integer tensor (i64 or i32, any rank, at most `max` elements) as
 * int64.  `what` names it in errors. */
enum tsl_status tsl_ref_read_ints(struct tsl_ref_call *c, uint32_t i, const char *what,
                                  int64_t *vals, int64_t max, int64_t *n_out);
/* Read a scalar (or 1-element tensor) of any numeric dtype as double. */
enum tsl_status tsl_ref_read_scalar(struct tsl_ref_call *c, uint32_t i, const char *what,
                                    double *out);
/* Normalize axis into [0, rank); fails naming the attribute `what`. */
enum tsl_status tsl_ref_axis(struct tsl_ref_call *c, int64_t axis, int32_t rank,
                             const char *what, int32_t *out);
/* Numpy broadcast of a and b into out; false if incompatible. */
bool tsl_ref_broadcast(const struct tsl_shape *a, const struct tsl_shape *b,
                       struct tsl_shape *out);
/* Element strides of `in` viewed in broadcast shape `out` (right-aligned;
 * 0 on broadcast dims). */
void tsl_ref_bcast_strides(const struct tsl_shape *in, const struct tsl_shape *out,
                           int64_t strides[TSL_MAX_RANK]);
/* Row-major contiguous strides of a shape. */
void tsl_ref_strides(const struct tsl_shape *s, int64_t strides[TSL_MAX_RANK]);
/* Read any numeric element as double / int64 (wrappers of tsl_dense_*). */
double tsl_ref_getf(const struct tsl_tensor *t, int64_t i);
int64_t tsl_ref_geti(const struct tsl_tensor *t, int64_t i);
/* Round half to even (the one rounding rule of integer kernels). */
double tsl_ref_round_even(double x);
/* Copy a tensor (data duplicated); NOMEM reported against `where`. */
enum tsl_status tsl_ref_tensor_copy(const struct tsl_tensor *src, struct tsl_tensor *dst,
                                    const char *where, struct tsl_diag *diag);

/* ---- SGEMM (gemm.c) ------------------------------------------------------ */

/* C[M,N] = alpha * op(A) op(B) + beta * C with op = transpose when ta/tb.
 * lda/ldb/ldc are row strides of the stored matrices.  beta == 0 ignores
 * C's previous contents.  Cache-blocked with packed panels; false only when
 * the packing buffers cannot be allocated. */
bool tsl_ref_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                   float *C, int64_t ldc);

/* ---- kernels ------------------------------------------------------------- */

#define TSL_REF_KERNEL(fn) enum tsl_status fn(struct tsl_ref_call *c);
/* elementwise.c */
TSL_REF_KERNEL(tsl_ref_unary)
TSL_REF_KERNEL(tsl_ref_identity)
TSL_REF_KERNEL(tsl_ref_clip)
TSL_REF_KERNEL(tsl_ref_cast)
/* binary.c */
TSL_REF_KERNEL(tsl_ref_binary)
TSL_REF_KERNEL(tsl_ref_variadic)
TSL_REF_KERNEL(tsl_ref_where_op)
/* gemm.c */
TSL_REF_KERNEL(tsl_ref_gemm)
TSL_REF_KERNEL(tsl_ref_matmul)
/* conv.c */
TSL_REF_KERNEL(tsl_ref_conv)
TSL_REF_KERNEL(tsl_ref_conv_transpose)
/* norm.c */
TSL_REF_KERNEL(tsl_ref_batch_norm)
TSL_REF_KERNEL(tsl_ref_instance_norm)
TSL_REF_KERNEL(tsl_ref_layer_norm)
TSL_REF_KERNEL(tsl_ref_softmax)
/* pool.c */
TSL_REF_KERNEL(tsl_ref_pool)
TSL_REF_KERNEL(tsl_ref_global_pool)
/* reduce.c */
TSL_REF_KERNEL(tsl_ref_reduce)
TSL_REF_KERNEL(tsl_ref_arg_reduce)
/* shape_ops.c */
TSL_REF_KERNEL(tsl_ref_reshape)
TSL_REF_KERNEL(tsl_ref_flatten)
TSL_REF_KERNEL(tsl_ref_squeeze)
TSL_REF_KERNEL(tsl_ref_unsqueeze)
TSL_REF_KERNEL(tsl_ref_shape_op)
TSL_REF_KERNEL(tsl_ref_size_op)
TSL_REF_KERNEL(tsl_ref_constant_of_shape)
TSL_REF_KERNEL(tsl_ref_range)
/* movement.c */
TSL_REF_KERNEL(tsl_ref_transpose)
TSL_REF_KERNEL(tsl_ref_concat)
TSL_REF_KERNEL(tsl_ref_split)
TSL_REF_KERNEL(tsl_ref_slice)
TSL_REF_KERNEL(tsl_ref_expand)
TSL_REF_KERNEL(tsl_ref_tile)
TSL_REF_KERNEL(tsl_ref_pad)
TSL_REF_KERNEL(tsl_ref_depth_to_space)
/* gather.c */
TSL_REF_KERNEL(tsl_ref_gather)
TSL_REF_KERNEL(tsl_ref_gather_elements)
TSL_REF_KERNEL(tsl_ref_gather_nd)
/* resize.c */
TSL_REF_KERNEL(tsl_ref_resize)
/* select.c */
TSL_REF_KERNEL(tsl_ref_topk)
TSL_REF_KERNEL(tsl_ref_non_zero)
TSL_REF_KERNEL(tsl_ref_nms)
/* quant.c */
TSL_REF_KERNEL(tsl_ref_quantize)
TSL_REF_KERNEL(tsl_ref_dequantize)
TSL_REF_KERNEL(tsl_ref_qlinear_conv)
TSL_REF_KERNEL(tsl_ref_qlinear_matmul)
#undef TSL_REF_KERNEL

/* Shared by conv.c and quant.c: output spatial size and begin pads of a
 * convolution-like window op; `kernel` holds the undilated kernel extents. */
enum tsl_status tsl_ref_conv_geometry(struct tsl_ref_call *c, int32_t nsp, const int64_t *in,
                                      const int64_t *kernel, const struct tsl_ints *strides,
                                      const struct tsl_ints *dilations,
                                      const struct tsl_ints *pads, enum tsl_auto_pad auto_pad,
                                      bool ceil_mode, int64_t *out, int64_t *pad_begin,
                                      int64_t *stride_out, int64_t *dil_out);

#endif
