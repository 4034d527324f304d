/* lower_table.c - THE lowering table of the CPU backend, indexed by enum
 * tsl_op with designated initializers.  An op missing here has no lowering:
 * compilation fails with an error naming the op and the node.  Each entry
 * points at the lowering of its family (lower_*.c); adding an op is one line
 * here plus, if new, its formula in the family file. */
#include "lower_ext.h"

static const struct tsl_cpu_lowering *const table[TSL_OP_COUNT] = {
    /* unary elementwise (lower_elementwise.c) */
    [TSL_OP_ABS] = &tsl_cpu_lower_arith,         [TSL_OP_CEIL] = &tsl_cpu_lower_unary,
    [TSL_OP_COS] = &tsl_cpu_lower_unary,        [TSL_OP_ERF] = &tsl_cpu_lower_unary,
    [TSL_OP_EXP] = &tsl_cpu_lower_unary,        [TSL_OP_FLOOR] = &tsl_cpu_lower_unary,
    [TSL_OP_HARD_SWISH] = &tsl_cpu_lower_unary, [TSL_OP_LOG] = &tsl_cpu_lower_unary,
    [TSL_OP_NEG] = &tsl_cpu_lower_arith,         [TSL_OP_RECIPROCAL] = &tsl_cpu_lower_unary,
    [TSL_OP_RELU] = &tsl_cpu_lower_unary,       [TSL_OP_ROUND] = &tsl_cpu_lower_unary,
    [TSL_OP_SIGMOID] = &tsl_cpu_lower_unary,    [TSL_OP_SIGN] = &tsl_cpu_lower_unary,
    [TSL_OP_SIN] = &tsl_cpu_lower_unary,        [TSL_OP_SOFTPLUS] = &tsl_cpu_lower_unary,
    [TSL_OP_SQRT] = &tsl_cpu_lower_unary,       [TSL_OP_TANH] = &tsl_cpu_lower_unary,
    [TSL_OP_ELU] = &tsl_cpu_lower_unary,        [TSL_OP_HARD_SIGMOID] = &tsl_cpu_lower_unary,
    [TSL_OP_LEAKY_RELU] = &tsl_cpu_lower_unary, [TSL_OP_CLIP] = &tsl_cpu_lower_arith, /* f32: clip */
    [TSL_OP_SELU] = &tsl_cpu_lower_unary,
    /* binary and variadic with broadcasting */
    [TSL_OP_ADD] = &tsl_cpu_lower_arith,        [TSL_OP_SUB] = &tsl_cpu_lower_arith, 
    [TSL_OP_MUL] = &tsl_cpu_lower_arith,        [TSL_OP_DIV] = &tsl_cpu_lower_arith, 
    [TSL_OP_POW] = &tsl_cpu_lower_arith,        [TSL_OP_PRELU] = &tsl_cpu_lower_binary,
    [TSL_OP_MAX] = &tsl_cpu_lower_arith,        [TSL_OP_MIN] = &tsl_cpu_lower_arith, 
    [TSL_OP_SUM] = &tsl_cpu_lower_binary,       [TSL_OP_MEAN] = &tsl_cpu_lower_binary,
    /* linear algebra and convolution (lower_gemm.c, lower_conv.c) */
    [TSL_OP_GEMM] = &tsl_cpu_lower_gemm,        [TSL_OP_MATMUL] = &tsl_cpu_lower_matmul,
    [TSL_OP_CONV] = &tsl_cpu_lower_conv_any, /* lower_conv_rt.c: dispatches */
    [TSL_OP_BATCH_NORM] = &tsl_cpu_lower_batchnorm,
    /* pooling and softmax (lower_pool.c) */
    [TSL_OP_MAX_POOL] = &tsl_cpu_lower_pool,    [TSL_OP_AVERAGE_POOL] = &tsl_cpu_lower_pool,
    [TSL_OP_GLOBAL_AVERAGE_POOL] = &tsl_cpu_lower_global_pool,
    [TSL_OP_GLOBAL_MAX_POOL] = &tsl_cpu_lower_global_pool,
    [TSL_OP_SOFTMAX] = &tsl_cpu_lower_softmax,  [TSL_OP_LOG_SOFTMAX] = &tsl_cpu_lower_softmax,
    /* data movement (lower_data.c) */
    [TSL_OP_IDENTITY] = &tsl_cpu_lower_copy,    [TSL_OP_RESHAPE] = &tsl_cpu_lower_copy,
    [TSL_OP_FLATTEN] = &tsl_cpu_lower_copy,     [TSL_OP_SQUEEZE] = &tsl_cpu_lower_copy,
    [TSL_OP_UNSQUEEZE] = &tsl_cpu_lower_copy,   [TSL_OP_TRANSPOSE] = &tsl_cpu_lower_transpose,
    [TSL_OP_CONCAT] = &tsl_cpu_lower_concat,
    /* reductions (lower_reduce.c) and normalizations (lower_norm.c) */
    [TSL_OP_REDUCE_MEAN] = &tsl_cpu_lower_reduce, [TSL_OP_REDUCE_MAX] = &tsl_cpu_lower_reduce,
    [TSL_OP_REDUCE_MIN] = &tsl_cpu_lower_reduce,  [TSL_OP_REDUCE_SUM] = &tsl_cpu_lower_reduce,
    [TSL_OP_REDUCE_PROD] = &tsl_cpu_lower_reduce, [TSL_OP_REDUCE_L2] = &tsl_cpu_lower_reduce,
    [TSL_OP_REDUCE_SUM_SQUARE] = &tsl_cpu_lower_reduce,
    [TSL_OP_INSTANCE_NORM] = &tsl_cpu_lower_instance_norm,
    [TSL_OP_LAYER_NORM] = &tsl_cpu_lower_layer_norm,
    /* compile-time index tables over the reference (lower_gather.c) */
    [TSL_OP_SLICE] = &tsl_cpu_lower_gather_table, [TSL_OP_PAD] = &tsl_cpu_lower_gather_table,
    [TSL_OP_TILE] = &tsl_cpu_lower_gather_table,  [TSL_OP_EXPAND] = &tsl_cpu_lower_gather_table,
    /* run-time indices or non-f32 data (lower_gather_rt.c; dispatches back) */
    [TSL_OP_GATHER] = &tsl_cpu_lower_gather_rt,
    [TSL_OP_GATHER_ELEMENTS] = &tsl_cpu_lower_gather_rt,
    [TSL_OP_GATHER_ND] = &tsl_cpu_lower_gather_rt,
    [TSL_OP_DEPTH_TO_SPACE] = &tsl_cpu_lower_gather_table,
    [TSL_OP_SPACE_TO_DEPTH] = &tsl_cpu_lower_gather_table,
    [TSL_OP_RESIZE] = &tsl_cpu_lower_resize, /* lower_resize.c; nearest via the table */
    /* compile-time evaluation and constant-condition select (lower_fold.c) */
    [TSL_OP_CONSTANT_OF_SHAPE] = &tsl_cpu_lower_fold, [TSL_OP_RANGE] = &tsl_cpu_lower_fold,
    [TSL_OP_CAST] = &tsl_cpu_lower_typed,         [TSL_OP_SHAPE] = &tsl_cpu_lower_fold,
    [TSL_OP_SIZE] = &tsl_cpu_lower_fold,
    /* typed elementwise (lower_typed.c): comparisons, logic, run-time Where,
     * Cast and (de)quantization; Add..Min, Neg, Abs above dispatch there for
     * non-f32 dtypes */
    [TSL_OP_DEQUANTIZE_LINEAR] = &tsl_cpu_lower_typed,
    [TSL_OP_QUANTIZE_LINEAR] = &tsl_cpu_lower_typed,
    [TSL_OP_WHERE] = &tsl_cpu_lower_typed,
    [TSL_OP_EQUAL] = &tsl_cpu_lower_typed,   [TSL_OP_GREATER] = &tsl_cpu_lower_typed,
    [TSL_OP_GREATER_OR_EQUAL] = &tsl_cpu_lower_typed,
    [TSL_OP_LESS] = &tsl_cpu_lower_typed,    [TSL_OP_LESS_OR_EQUAL] = &tsl_cpu_lower_typed,
    [TSL_OP_AND] = &tsl_cpu_lower_typed,     [TSL_OP_OR] = &tsl_cpu_lower_typed,
    [TSL_OP_XOR] = &tsl_cpu_lower_typed,     [TSL_OP_NOT] = &tsl_cpu_lower_typed,
    /* indices and several outputs (lower_index.c) */
    [TSL_OP_ARG_MAX] = &tsl_cpu_lower_argreduce, [TSL_OP_ARG_MIN] = &tsl_cpu_lower_argreduce,
    [TSL_OP_SPLIT] = &tsl_cpu_lower_split,       [TSL_OP_TOPK] = &tsl_cpu_lower_topk,
    [TSL_OP_QLINEAR_MATMUL] = &tsl_cpu_lower_qlinear_matmul, /* lower_qlinear.c */
    [TSL_OP_QLINEAR_CONV] = &tsl_cpu_lower_qlinear_conv,     /* lower_qlinear.c */
    [TSL_OP_CONV_TRANSPOSE] = &tsl_cpu_lower_conv_transpose, /* lower_convt.c */
    /* data-dependent output size, through runtime/tsl_select.c (lower_select.c) */
    [TSL_OP_NON_ZERO] = &tsl_cpu_lower_non_zero,
    [TSL_OP_NON_MAX_SUPPRESSION] = &tsl_cpu_lower_nms,
};

const struct tsl_cpu_lowering *tsl_cpu_lowering_for(enum tsl_op op)
{
    return op < TSL_OP_COUNT ? table[op] : NULL;
}
