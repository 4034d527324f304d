/* shape_internal.h - declarations shared inside ir/shape and ir/verify.c:
 * the inference context, the known-value side table (small integer tensors
 * whose elements are known at compile time, possibly as symbolic dims), the
 * shape helpers every op family uses, the per-family inference functions that
 * infer.c puts into its op-indexed table, and the per-op attribute checks
 * shared by shape inference and the verifier.  Not a public API; nothing here
 * prints. */
#ifndef TESSEL_SHAPE_INTERNAL_H
#define TESSEL_SHAPE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

/* ---- known values --------------------------------------------------------- */

/* Tensors with more elements than this are never tracked. */
#define TSL_KNOWN_MAX 64

enum tsl_kind {
    TSL_K_UNKNOWN = 0, /* element depends on run-time data */
    TSL_K_INT,         /* v is the integer value */
    TSL_K_DIM,         /* v is a symbolic dim (TSL_DIM_SYM encoding) */
};

struct tsl_kelem {
    int64_t v;
    uint8_t kind; /* enum tsl_kind */
};

/* Elements of a tensor of at most TSL_KNOWN_MAX elements, row-major. */
struct tsl_known {
    uint32_t n;
    struct tsl_kelem e[TSL_KNOWN_MAX];
};

/* ---- inference context ----------------------------------------------------- */

struct tsl_infer_ctx {
    struct tsl_graph *g;
    struct tsl_diag *diag;
    const char *where;          /* name of the node being inferred */
    struct tsl_known **known;   /* indexed by value id; NULL = not known */
    uint32_t n_known;
    uint8_t *const_tried;       /* indexed by value id: constant decode attempted */
};

typedef enum tsl_status (*tsl_infer_fn)(struct tsl_infer_ctx *cx, struct tsl_node *n);

/* "name" or "<OpType> node #<index>" into buf. */
void tsl_node_where(const struct tsl_node *n, uint32_t index, char *buf, size_t size);

/* Record a shape error for the current node; returns TSL_STATUS_VERIFY. */
enum tsl_status tsl_sh_error(struct tsl_infer_ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Known elements of v (constants are decoded on first use); NULL if none. */
const struct tsl_known *tsl_known_get(struct tsl_infer_ctx *cx, const struct tsl_value *v);
/* Store a copy of k for v (ignored when k->n > TSL_KNOWN_MAX). */
enum tsl_status tsl_known_put(struct tsl_infer_ctx *cx, const struct tsl_value *v,
                              const struct tsl_known *k);
/* True if every element of k is TSL_K_INT. */
bool tsl_known_all_int(const struct tsl_known *k);

/* ---- shape helpers --------------------------------------------------------- */

/* Input i of n, or NULL if omitted / out of range. */
static inline const struct tsl_value *tsl_in(const struct tsl_node *n, uint32_t i)
{
    return i < n->n_inputs ? n->inputs[i] : NULL;
}
/* Set output i's type (the shape is copied). */
void tsl_sh_set(struct tsl_node *n, uint32_t i, enum tsl_dtype dt, const struct tsl_shape *s);
/* A fresh symbolic dim "unk<k>" into *d. */
enum tsl_status tsl_sh_fresh(struct tsl_infer_ctx *cx, int64_t *d);
/* Text of a dim ("224", "N") or shape ("[N,3,224,224]") into buf. */
const char *tsl_sh_dim_str(const struct tsl_graph *g, int64_t d, char *buf, size_t size);
const char *tsl_sh_shape_str(const struct tsl_graph *g, const struct tsl_shape *s, char *buf,
                             size_t size);
/* Normalize axis into [0, rank); `what` names it in the error. */
enum tsl_status tsl_sh_axis(struct tsl_infer_ctx *cx, int64_t axis, int32_t rank,
                            const char *what, int32_t *out);
/* Numpy (multidirectional) broadcast of a and b into *out. */
enum tsl_status tsl_sh_broadcast(struct tsl_infer_ctx *cx, const struct tsl_shape *a,
                                 const struct tsl_shape *b, struct tsl_shape *out);
/* Product of n dims: a number, a single symbol times ones, or a fresh symbol. */
enum tsl_status tsl_sh_dim_product(struct tsl_infer_ctx *cx, const int64_t *dims, int32_t n,
                                   int64_t *out);
/* Require input i present with rank in [lo, hi] (hi < 0: no upper bound). */
enum tsl_status tsl_sh_need_rank(struct tsl_infer_ctx *cx, const struct tsl_node *n, uint32_t i,
                                 int32_t lo, int32_t hi);
/* Two dims that must agree: error naming `what` if both known and different. */
enum tsl_status tsl_sh_dims_agree(struct tsl_infer_ctx *cx, int64_t a, int64_t b,
                                  const char *what);
/* Turn a known element into a dim: ints >= 0 stay, symbols stay, anything
 * else becomes a fresh symbol; negative ints are an error naming `what`. */
enum tsl_status tsl_sh_elem_to_dim(struct tsl_infer_ctx *cx, const struct tsl_kelem *e,
                                   const char *what, int64_t *out);

/* Spatial output size of a sliding window (Conv / pools).  auto_pad is an
 * enum tsl_auto_pad; in may be symbolic (result symbolic or fresh). */
enum tsl_status tsl_sh_window(struct tsl_infer_ctx *cx, int64_t in, int64_t kernel,
                              int64_t stride, int64_t dilation, int64_t pad_b, int64_t pad_e,
                              int auto_pad, bool ceil_mode, int32_t axis, int64_t *out);
/* Conv output type for data x and weight w (QLinearConv shares it). */
enum tsl_status tsl_sh_conv_like(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                 const struct tsl_value *x, const struct tsl_value *w,
                                 const struct tsl_value *b, struct tsl_shape *out);
/* MatMul output shape (QLinearMatMul shares it). */
enum tsl_status tsl_sh_matmul_like(struct tsl_infer_ctx *cx, const struct tsl_shape *a,
                                   const struct tsl_shape *b, struct tsl_shape *out);

/* ---- attribute checks (shared with the verifier) ------------------------- */

/* Check n's attributes: enum and dtype fields in range, then the op's own
 * rules (list lengths against the input rank when known, positivity, axes
 * in range, ...).  Reports every problem found under `where`; returns
 * TSL_STATUS_VERIFY if any. */
enum tsl_status tsl_check_node_attrs(const struct tsl_node *n, const char *where,
                                     struct tsl_diag *diag);

/* ---- per-family inference functions --------------------------------------- */

/* elementwise.c */
enum tsl_status tsl_infer_unary(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_identity(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_neg(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_not(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_clip(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_arith(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_pow(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_prelu(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_compare(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_logical(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_variadic(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_where(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* conv.c */
enum tsl_status tsl_infer_conv(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_conv_transpose(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* pool.c */
enum tsl_status tsl_infer_pool(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_global_pool(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* matmul.c */
enum tsl_status tsl_infer_gemm(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_matmul(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* norm.c */
enum tsl_status tsl_infer_batch_norm(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_instance_norm(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_layer_norm(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_softmax(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* reduce.c */
enum tsl_status tsl_infer_reduce(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* shape_ops.c */
enum tsl_status tsl_infer_reshape(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_flatten(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_transpose(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_squeeze(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_unsqueeze(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_shape(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_size(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_cast(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_constant_of_shape(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_expand(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_tile(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_range(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* movement.c */
enum tsl_status tsl_infer_concat(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_split(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_slice(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_gather(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_gather_elements(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_gather_nd(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_pad(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_resize(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_depth_to_space(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_space_to_depth(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* select.c */
enum tsl_status tsl_infer_argreduce(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_topk(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_non_zero(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_nms(struct tsl_infer_ctx *cx, struct tsl_node *n);
/* quant.c */
enum tsl_status tsl_infer_quantize(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_dequantize(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_qlinear_conv(struct tsl_infer_ctx *cx, struct tsl_node *n);
enum tsl_status tsl_infer_qlinear_matmul(struct tsl_infer_ctx *cx, struct tsl_node *n);

/* The op-indexed table (infer.c); entry NULL means "no rule" (a unit test
 * asserts there is none). */
tsl_infer_fn tsl_infer_fn_for(enum tsl_op op);

#endif
