/* cpu_internal.h - shared internals of the CPU backend: the code generation
 * context (LLVM context/module/builder, weight blob, value locations), the
 * step list produced by scheduling and fusion, the lowering table type, and
 * IR-building helpers used by every lowering family.
 *
 * Only backends/cpu/ includes this header (and <llvm-c/...>).  It holds no
 * op-specific code; lowerings live in lower_*.c, one file per op family. */
#ifndef TSL_CPU_INTERNAL_H
#define TSL_CPU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/TargetMachine.h>

#include "tessel/cpu.h"
#include "tessel/diag.h"
#include "tessel/ir.h"

#define TSL_CPU_ALIGN 64

/* ---- target ------------------------------------------------------------- */

struct tsl_cpu_target {
    char *triple, *cpu, *features; /* owned (malloc) */
    int vw;                        /* f32 lanes: 16 AVX-512, 8 AVX2, 1 generic */
    int mr, nv;                    /* micro-kernel: mr rows x nv vectors */
};

/* Resolve host (or overridden) CPU and features and pick the vector width. */
enum tsl_status tsl_cpu_target_init(struct tsl_cpu_target *t, const struct tsl_cpu_options *o,
                                    struct tsl_diag *diag);
void tsl_cpu_target_fini(struct tsl_cpu_target *t);
/* A fresh TargetMachine for t (caller disposes). */
enum tsl_status tsl_cpu_target_machine(const struct tsl_cpu_target *t, int opt_level,
                                       LLVMTargetMachineRef *out, struct tsl_diag *diag);
/* Consume an LLVMErrorRef into the diagnostics sink. */
enum tsl_status tsl_cpu_llvm_error(struct tsl_diag *diag, LLVMErrorRef err, const char *where,
                                   const char *what);

/* ---- fused epilogue: a small elementwise program ------------------------ */

/* The elementwise nodes fused after a producer (Conv, Gemm, MatMul, an
 * elementwise op, ...) run in its epilogue as a straight-line program over
 * the value in registers (scalar or vector).  v0 is the producer's result;
 * op i computes v(i+1) from v(i) and, for binary ops, a second operand: the
 * constant `a` (src < 0) or an earlier value v(src) (x * HardSigmoid(x),
 * x * Clip(x + 3, 0, 6) / 6, x * Sigmoid(x)).  `rev` swaps the operands of a
 * binary op (c - x, c / x).  Formulas match the reference's elementwise
 * kernels (same operations, same order). */
enum tsl_cpu_act_kind {
    TSL_CPU_ACT_RELU,         /* x > 0 ? x : 0 */
    TSL_CPU_ACT_CLIP,         /* min(max(x, a), b), NaN kept */
    TSL_CPU_ACT_HARD_SIGMOID, /* clip(a * x + b, 0, 1) */
    TSL_CPU_ACT_LEAKY_RELU,   /* x < 0 ? a * x : x */
    TSL_CPU_ACT_SIGMOID,      /* 1 / (1 + exp(-x)) */
    TSL_CPU_ACT_ADD, TSL_CPU_ACT_SUB, TSL_CPU_ACT_MUL, TSL_CPU_ACT_DIV,
    TSL_CPU_ACT_MAX, TSL_CPU_ACT_MIN,
};
struct tsl_cpu_act_op {
    enum tsl_cpu_act_kind kind;
    float a, b;  /* parameters or the constant operand */
    int8_t src;  /* binary: -1 constant a, else index of an earlier value */
    bool rev;    /* binary: constant/src operand first */
};
#define TSL_CPU_ACT_MAX_OPS 8
struct tsl_cpu_act {
    uint32_t n; /* 0: no epilogue */
    struct tsl_cpu_act_op op[TSL_CPU_ACT_MAX_OPS];
};
/* A program of one Relu / one Clip(lo, hi). */
struct tsl_cpu_act tsl_cpu_act_relu(void);
struct tsl_cpu_act tsl_cpu_act_clip(float lo, float hi);
bool tsl_cpu_act_none(const struct tsl_cpu_act *a);
bool tsl_cpu_act_equal(const struct tsl_cpu_act *x, const struct tsl_cpu_act *y);

/* ---- steps: one generated kernel each ---------------------------------- */

struct tsl_cpu_step {
    const struct tsl_node *node;  /* main node */
    const struct tsl_value *out;  /* value written (last node of a fused chain; output 0
                                   * of a multi-output node, whose other outputs
                                   * are node->outputs[k]) */
    struct tsl_cpu_act act;       /* fused epilogue program */
    uint32_t n_fused;             /* nodes absorbed into this step */
    const struct tsl_node *fused[TSL_CPU_ACT_MAX_OPS + 2]; /* those nodes (residual Add,
                                                            * the epilogue's, then a
                                                            * squeeze-excite Mul) */
    const struct tsl_value *pro_x, *pro_scale; /* Conv input Mul(x, se[N,C,1,1]) folded
                                                * into the B packing, or NULL */
    const struct tsl_value *res;  /* fused residual Add operand (C's shape), or NULL */
    int64_t scratch_bytes;        /* per-step temporary shared by its threads, set by check() */
    int64_t thread_scratch_bytes; /* per-thread temporary (packing buffers), set by check();
                                   * the plan reserves one copy per thread after the shared part */
    int64_t scratch_off;          /* arena offset of the scratch */
    bool elided;                  /* set by the plan: the producers already wrote the
                                   * result in place (a Concat whose inputs alias
                                   * their slices of its output), nothing to emit */
};

/* ---- value locations ----------------------------------------------------- */

enum tsl_cpu_loc_kind { TSL_LOC_NONE, TSL_LOC_WEIGHT, TSL_LOC_ARENA, TSL_LOC_INPUT, TSL_LOC_OUTPUT };
struct tsl_cpu_loc {
    enum tsl_cpu_loc_kind kind;
    int64_t off;    /* WEIGHT, ARENA: byte offset */
    uint32_t index; /* INPUT, OUTPUT: slot */
};

/* ---- code generation context -------------------------------------------- */

struct tsl_cpu_cg {
    const struct tsl_graph *g;
    struct tsl_diag *diag;
    const struct tsl_cpu_target *tgt;
    char *prefix; /* symbol prefix */

    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef t_void, t_f32, t_i1, t_i8, t_i32, t_i64, t_pi8, t_pf32, t_ppi8, t_vec, t_step;
    LLVMTypeRef t_task; /* void (i8 *frame, i64 begin, i64 end, i64 tid): a parallel region */
    int threads;        /* threads the module is compiled for (>= 1) */
    uint32_t n_par;     /* parallel regions emitted (par.c) */
    double min_par_ns;  /* cost-model threshold of a parallel region */

    struct tsl_cpu_loc *locs; /* indexed by value id */
    uint32_t n_locs;

    /* weight blob (grows while lowering): blob is blob_raw (the realloc'ed
     * allocation, owned) rounded up to TSL_CPU_ALIGN; blob_cap bytes are
     * usable from blob */
    uint8_t *blob, *blob_raw;
    size_t blob_len, blob_cap;

    /* current step function, or the task function of a parallel region
     * (par.c): p_pool is the step's pool argument (NULL inside a task),
     * p_tid the i64 thread index (constant 0 outside tasks) */
    LLVMValueRef fn, p_weights, p_arena, p_inputs, p_outputs, p_pool, p_tid;
    bool in_task;
    /* step-relative addressing (reloc.c): inside a step, p_offs is the i64
     * table of the step's weight/arena offsets (NULL elsewhere, e.g. in the
     * entry, where offsets stay constants); relocs are the current step's
     * table entries, rptrs the pointers already built in the current
     * function's entry block (from rptr_start on) */
    LLVMValueRef p_offs;
    int64_t dims_off; /* arena offset of the outputs' data-dependent sizes (one i64 per
                       * graph output), or -1 (lower_select.c) */
    LLVMTypeRef t_kern; /* step function: t_step's parameters, then i64 *offs */
    struct tsl_cpu_reloc *relocs;
    uint32_t n_relocs, cap_relocs;
    struct tsl_cpu_rptr *rptrs;
    uint32_t n_rptrs, cap_rptrs, rptr_start;
    bool reloc_nomem; /* an allocation of relocs/rptrs failed (reported after the step) */
    const struct tsl_cpu_step *step;
    uint32_t uniq; /* counter for internal symbol names */

    /* GEMM micro-kernels shared by every step of the module (gemm_kernel.c);
     * K and ldc are run-time arguments so layers reuse them. */
    struct tsl_cpu_uk *uks;
    uint32_t n_uks, cap_uks;
};

/* One generated micro-kernel and the compile-time parameters it bakes in. */
struct tsl_cpu_uk {
    int rows, cols;
    bool a_packed, has_bias;
    int64_t a_rs, a_cs, bias_rs, bias_cs;
    float alpha;
    struct tsl_cpu_act act;
    bool has_res;
    int kmode; /* K blocking: 0 whole K, 1 first block (store partial sums), 2 middle
                * (C in, partial out), 3 last (C in, epilogue) */
    LLVMValueRef fn;
};

/* Lowering of one op family.  check() validates the node (dtype, attributes,
 * shapes) and sets st->scratch_bytes; it runs before any IR is built, so an
 * unsupported case fails early with a message naming the node.  emit()
 * builds the body of the step function (builder positioned in it). */
struct tsl_cpu_lowering {
    enum tsl_status (*check)(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st);
    enum tsl_status (*emit)(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st);
    bool epilogue; /* following elementwise nodes may be fused into this step */
    bool any_dtype;    /* check() validates the output dtypes itself (else: f32 only) */
    bool multi_output; /* the node may have several outputs, one buffer each */
};

/* Fuse the elementwise nodes following step s's output into its epilogue
 * (fuse.c): appends them to s->fused and s->act, moves s->out to the last
 * one and returns how many were fused.  skip[node id] marks nodes already
 * taken by another step. */
uint32_t tsl_cpu_fuse_epilogue(struct tsl_cpu_step *s, const bool *skip);

/* NULL when op has no lowering. */
const struct tsl_cpu_lowering *tsl_cpu_lowering_for(enum tsl_op op);

extern const struct tsl_cpu_lowering tsl_cpu_lower_unary, tsl_cpu_lower_binary,
    tsl_cpu_lower_clip, tsl_cpu_lower_copy, tsl_cpu_lower_transpose, tsl_cpu_lower_concat,
    tsl_cpu_lower_gemm, tsl_cpu_lower_matmul, tsl_cpu_lower_conv, tsl_cpu_lower_pool,
    tsl_cpu_lower_global_pool, tsl_cpu_lower_softmax, tsl_cpu_lower_batchnorm;

/* ---- helpers (cg.c) ------------------------------------------------------ */

/* Node label for diagnostics: its name, or "<Op>#id" when unnamed. */
const char *tsl_cpu_node_where(const struct tsl_node *n, char *buf, size_t len);
/* UNSUPPORTED error naming the node and op. */
enum tsl_status tsl_cpu_unsupported(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Check that v is an f32 tensor with a static shape (error names node). */
enum tsl_status tsl_cpu_require_f32(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                    const struct tsl_value *v);
/* Element count of a static value's shape (caller checked). */
int64_t tsl_cpu_numel(const struct tsl_value *v);

/* Append bytes to the weight blob at the next 64-byte-aligned offset
 * (*off_out); the blob itself starts 64-byte aligned.  It grows by realloc
 * (large blocks are remapped, not copied) and moves its bytes only when the
 * new allocation's alignment differs. */
enum tsl_status tsl_cpu_blob_add(struct tsl_cpu_cg *cg, const void *data, size_t bytes,
                                 int64_t *off_out);
/* Decode a constant f32 value into a malloc'ed float array. */
enum tsl_status tsl_cpu_const_f32(struct tsl_cpu_cg *cg, const struct tsl_value *v, float **out);

/* float* to the first element of v inside the current step function
 * (bitcast it for other dtypes); constants of any dtype are placed in the
 * blob, in their dense storage layout, on first use. */
enum tsl_status tsl_cpu_ptr(struct tsl_cpu_cg *cg, const struct tsl_value *v, LLVMValueRef *out);
/* float* for the step's shared scratch at byte offset off within it. */
LLVMValueRef tsl_cpu_scratch(struct tsl_cpu_cg *cg, int64_t off);
/* float* for the current thread's scratch (cg->p_tid) at byte offset off. */
LLVMValueRef tsl_cpu_thread_scratch(struct tsl_cpu_cg *cg, int64_t off);
/* float* to weights + off. */
LLVMValueRef tsl_cpu_weight_ptr(struct tsl_cpu_cg *cg, int64_t off);

/* A graph output whose size depends on the data (NonZero,
 * NonMaxSuppression with static inputs; lower_select.c): true, with the
 * largest shape it can have in *max and the data-dependent axis in *axis.
 * False for any other value. */
bool tsl_cpu_dynamic_bound(const struct tsl_value *v, struct tsl_shape *max, int *axis);

/* ---- step-relative addressing and step sharing (reloc.c) ---------------- */

/* One entry of a step's offset table: a byte offset from the weights
 * (weights = true) or from the arena. */
struct tsl_cpu_reloc {
    bool weights;
    int64_t off;
};
/* A pointer built in a function's entry block for table entry `slot`. */
struct tsl_cpu_rptr {
    uint32_t slot;
    LLVMValueRef ptr; /* i8* */
};
/* i8* base + off.  Inside a step (cg->p_offs set) off becomes an entry of
 * the step's table, loaded once in the function's entry block, so the IR
 * of the step does not depend on where its values live; elsewhere a
 * constant GEP. */
LLVMValueRef tsl_cpu_reloc_ptr(struct tsl_cpu_cg *cg, bool weights, int64_t off);
/* Steps whose functions print the same IR share one function. */
struct tsl_cpu_dedup;
struct tsl_cpu_dedup *tsl_cpu_dedup_new(void);
void tsl_cpu_dedup_free(struct tsl_cpu_dedup *d);
/* Called after step function fn (and its parallel task functions, the
 * functions defined after `before` other than micro-kernels) is complete:
 * when an earlier step's functions are the same IR, deletes fn and its
 * tasks and returns the earlier function, else remembers fn and returns it.
 * NULL on allocation failure. */
LLVMValueRef tsl_cpu_dedup_step(struct tsl_cpu_cg *cg, struct tsl_cpu_dedup *d, LLVMValueRef fn,
                                LLVMValueRef before);
/* The current step's offset table as an internal constant i64 array (a
 * null i64* when the table is empty). */
LLVMValueRef tsl_cpu_reloc_table(struct tsl_cpu_cg *cg, uint32_t step);

/* floor(a / b) for b > 0 and any a. */
int64_t tsl_cpu_floor_div(int64_t a, int64_t b);

/* Stride phase (a, b) of a plane of H x W input pixels read with strides
 * (sh, sw) and top/left padding (pt, pl), laid out as `rows` rows of `qw`
 * columns (depthwise conv, MaxPool): phase row i, column j holds input pixel
 * (a + sh*i - pt, b + sw*j - pl).  The rows [ilo, ihi) and columns
 * [jlo, jhi) of the phase that hold input pixels (empty when ilo >= ihi or
 * jlo >= jhi); the rest is padding. */
struct tsl_cpu_phase {
    int64_t ilo, ihi, jlo, jhi;
};
struct tsl_cpu_phase tsl_cpu_phase_range(int64_t H, int64_t W, int64_t pt, int64_t pl,
                                         int64_t sh, int64_t sw, int64_t a, int64_t b,
                                         int64_t rows, int64_t qw);

LLVMValueRef tsl_cpu_i64(struct tsl_cpu_cg *cg, int64_t v);
LLVMValueRef tsl_cpu_f32c(struct tsl_cpu_cg *cg, double v);
/* &p[idx] for a float* p and an i64 idx. */
LLVMValueRef tsl_cpu_gep(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx);
/* A stack slot of type ty in the entry block of the function being emitted
 * (a step or a parallel task), whatever block the builder is in. */
LLVMValueRef tsl_cpu_entry_alloca(struct tsl_cpu_cg *cg, LLVMTypeRef ty, const char *name);
LLVMValueRef tsl_cpu_load(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx);
void tsl_cpu_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef idx);
/* Call an overloaded intrinsic ("llvm.fma") on type ty with n args. */
LLVMValueRef tsl_cpu_intrinsic(struct tsl_cpu_cg *cg, const char *name, LLVMTypeRef ty,
                               LLVMValueRef *args, unsigned n);
/* Call an external libm function float f(float...) (declared on demand). */
LLVMValueRef tsl_cpu_libm(struct tsl_cpu_cg *cg, const char *name, LLVMValueRef *args,
                          unsigned n);
/* Run a fused epilogue program on a scalar or vector f32 value. */
LLVMValueRef tsl_cpu_apply_act(struct tsl_cpu_cg *cg, const struct tsl_cpu_act *act,
                               LLVMValueRef x);
/* memcpy of n floats from src to dst. */
void tsl_cpu_copy_floats(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef src, int64_t n);

/* Counted loop for (iv = start; iv < end; iv += step) over i64. */
struct tsl_cpu_loop {
    LLVMBasicBlockRef header, body, exit;
    LLVMValueRef iv, step;
};
LLVMValueRef tsl_cpu_loop_begin(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l, int64_t start,
                                int64_t end, int64_t step, const char *name);
/* The same with run-time i64 bounds. */
LLVMValueRef tsl_cpu_loop_begin_v(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l,
                                  LLVMValueRef start, LLVMValueRef end, int64_t step,
                                  const char *name);
void tsl_cpu_loop_end(struct tsl_cpu_cg *cg, struct tsl_cpu_loop *l);

/* ---- parallel regions (par.c) -------------------------------------------- */

/* A loop over n_items independent items that may run on the module's
 * threads.  Usage:
 *     struct tsl_cpu_par par;
 *     LLVMValueRef in[2] = {x, y};           // values of the step function
 *     tsl_cpu_par_open(cg, &par, n, work_ns, in, 2);
 *     x = par.vals[0], y = par.vals[1];      // the same values inside
 *     ... prologue (runs at the start of every chunk of items a thread takes) ...
 *     LLVMValueRef item = tsl_cpu_par_loop(cg, &par);
 *     ... body for one item ...
 *     tsl_cpu_par_close(cg, &par);
 * When the region is parallel (threads > 1, n_items >= 2, estimated work >=
 * cg->min_par_ns, not already inside a region) the code between open and
 * close goes into a task function called through <prefix>_parallel, with
 * the step's arguments and `vals` (pointers or i64, at most
 * TSL_CPU_PAR_VALS) passed in a frame; every other value of the step
 * function must be recomputed inside (tsl_cpu_ptr works as usual).
 * Otherwise it is an ordinary loop in place.  Items must be independent:
 * results are then identical for every thread count. */
#define TSL_CPU_PAR_VALS 10
struct tsl_cpu_par {
    bool parallel;
    int64_t n_items;
    int n_vals;
    LLVMValueRef vals[TSL_CPU_PAR_VALS];
    struct tsl_cpu_loop loop;
    LLVMValueRef task, frame, saved[8];
    LLVMBasicBlockRef saved_bb;
    bool saved_in_task;
    uint32_t saved_n_rptrs, saved_rptr_start;
};
void tsl_cpu_par_open(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par, int64_t n_items,
                      double work_ns, const LLVMValueRef *vals, int n_vals);
LLVMValueRef tsl_cpu_par_loop(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par);
void tsl_cpu_par_close(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par);

/* A loop nest over `rank` dims (already coalesced or not) with up to
 * TSL_CPU_NEST_MAX operands, each a float* base and per-dim element strides.
 * body() receives the element pointers of every operand. */
#define TSL_CPU_NEST_MAX 8
struct tsl_cpu_nest {
    int rank;
    int64_t dims[TSL_MAX_RANK];
    int n_ops;
    LLVMValueRef base[TSL_CPU_NEST_MAX];
    int64_t strides[TSL_CPU_NEST_MAX][TSL_MAX_RANK];
};
typedef void (*tsl_cpu_nest_body)(struct tsl_cpu_cg *cg, LLVMValueRef *ptrs, void *ud);
/* Merge adjacent dims that are contiguous for every operand, drop size-1 dims. */
void tsl_cpu_nest_coalesce(struct tsl_cpu_nest *n);
void tsl_cpu_nest_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                       tsl_cpu_nest_body body, void *ud);
/* The same loop nest with operand o read as elements of tys[o] (strides in
 * elements of that type); body gets typed element pointers.
 * tsl_cpu_nest_emit is this with every operand f32. */
void tsl_cpu_typed_nest_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                             const LLVMTypeRef *tys, tsl_cpu_nest_body body, void *ud);
/* (par.c) tsl_cpu_nest_emit with the outermost dim split over threads when the nest
 * is large (ns_per_elem: estimated cost of one body).  body must use only
 * its pointers and constants (no value of the step function). */
void tsl_cpu_nest_emit_par(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                           tsl_cpu_nest_body body, void *ud, double ns_per_elem);
/* Row-major strides of a shape; broadcast strides of `in` against output
 * shape `out` (numpy rules, right-aligned; 0 where broadcast). */
void tsl_cpu_strides(const struct tsl_shape *s, int64_t *strides);
bool tsl_cpu_bcast_strides(const struct tsl_shape *in, const struct tsl_shape *out,
                           int64_t *strides);

/* ---- GEMM (gemm_kernel.c) ------------------------------------------------ */

/* C[m][n] = act(alpha * sum_k A(m,k) B(k,n) + bias(m,n)) for one problem.
 * A is addressed as a[m*a_rs + k*a_cs] (a_packed: weights pre-packed in mr
 * panels at blob offset a_off, see tsl_cpu_pack_a).  B is either pre-packed
 * nr panels in the blob (b_const) or packed per panel at run time from
 * b[k*b_rs + n*b_cs] into scratch, or from an im2col source (conv). */
struct tsl_cpu_gemm {
    int64_t M, N, K;
    float alpha;
    bool a_packed;
    int64_t a_rs, a_cs;
    bool b_packed;        /* B pre-packed at compile time */
    int64_t b_rs, b_cs;   /* runtime B strides (b_packed false, koff_off < 0) */
    int64_t koff_off;     /* im2col: blob offset of int32 koff[K], else -1 */
    int64_t conv_ow, conv_sh, conv_sw, conv_pw; /* im2col: n -> (n/ow*sh*pw + n%ow*sw) */
    int64_t ldc;
    int64_t batch;            /* independent problems (0 counts as 1); operand i of problem
                               * b starts at base + b * <op>_bs elements */
    int64_t a_bs, b_bs, c_bs, bias_bs, res_bs;
    int64_t b_scratch_off;    /* runtime B panel: byte offset in the per-thread scratch */
    int64_t b_shared_off;     /* runtime B packed before the region (few panels, several
                               * items each): byte offset in the shared scratch */
    int64_t bias_rs, bias_cs; /* bias[m*bias_rs + n*bias_cs]; unused if no bias */
    bool has_bias;
    bool has_res;             /* fused residual Add: res[m*ldc + n] added before act */
    struct tsl_cpu_act act;
    LLVMValueRef b_scale;     /* runtime B row k scaled by b_scale[k / b_scale_div] after
                               * packing (a squeeze-excite Mul), or NULL */
    int64_t b_scale_div;
};
/* Where element (r, k) of a compile-time packed operand goes: K-block-major,
 * i.e. K block kb (the blocks of the micro-kernel's K loop, at most 256)
 * holds every panel's rows of that block, panel by panel, each klen x width
 * (k-major): kb*kc*rows_pad + (r/width)*klen*width + (k%kc)*width + r%width.
 * width: mr for A, nr for B; rows_pad: M or N rounded up to width.  A
 * weight stream is then read in address order (one hardware prefetch
 * stream) as the K blocks advance. */
int64_t tsl_cpu_packed_index(int64_t K, int64_t r, int64_t k, int64_t width, int64_t rows_pad);
/* The K block length kc of a GEMM with this K (the last block may be
 * shorter: K - (ceil(K/kc) - 1) * kc). */
int64_t tsl_cpu_gemm_kc(int64_t K);
/* Pack a K x M (weights as A: element (m,k) = w[m*a_rs + k*a_cs]) into mr
 * panels scaled by `scale`; returns the blob offset. */
enum tsl_status tsl_cpu_pack_a(struct tsl_cpu_cg *cg, const float *w, int64_t M, int64_t K,
                               int64_t a_rs, int64_t a_cs, float scale, int64_t *off_out);
/* Pack B (element (k,n) = w[k*b_rs + n*b_cs]) into nr panels, scaled. */
enum tsl_status tsl_cpu_pack_b(struct tsl_cpu_cg *cg, const float *w, int64_t K, int64_t N,
                               int64_t b_rs, int64_t b_cs, float scale, int64_t *off_out);
/* Per-thread scratch bytes for p's run-time B (a K block of an n-group of
 * panels), 0 when B is packed at compile time or into the shared scratch
 * (p's M, N, K, batch and b_packed must be final). */
int64_t tsl_cpu_gemm_scratch(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p);
/* Shared scratch bytes for p's runtime B when it is packed by a region of
 * its own before the GEMM (threads > 1 and several items per panel), else 0
 * (p's M, N, K, batch and b_packed must be final). */
int64_t tsl_cpu_gemm_shared_scratch(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p);
/* koff[kabs] (i32) of p's im2col offset table (p->koff_off >= 0). */
LLVMValueRef tsl_cpu_koff_at(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef kabs);
/* gemm_gather.c: pack rows [k0, k0 + klen) of the im2col B panel at column
 * n0 (cols valid, the rest 0) into dst (klen x nr) with masked vector
 * gathers.  Returns false, emitting nothing, when it does not apply (no
 * im2col view, or a target without vectors). */
bool tsl_cpu_pack_b_gather(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef src,
                           LLVMValueRef n0, int cols, LLVMValueRef dst, LLVMValueRef k0,
                           int64_t klen);
/* Emit the GEMM as one parallel region over (problem, n-panel, m-block)
 * items; a, b, c, bias are float* values in the current function
 * (a: base of packed panels or the activation; b: packed panels or source;
 * res: the residual with C's layout when p->has_res, else ignored).  The
 * runtime B panel goes to the per-thread scratch at p->b_scratch_off. */
void tsl_cpu_gemm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef a,
                       LLVMValueRef b, LLVMValueRef c, LLVMValueRef bias, LLVMValueRef res);

#endif
