/* harness.h - helpers for the CPU backend's differential tests: seeded
 * random data, graph-building shortcuts over the IR API, and the check that
 * compiles a graph with tsl_cpu_compile, runs it and compares every output
 * with the reference interpreter (tsl_ref_run), the oracle.
 *
 * Tolerance: |cpu - ref| <= 1e-4 * (|ref| + 1).  The CPU kernels sum in a
 * different order (register tiles, vector lanes) and with fused
 * multiply-adds (one rounding instead of two), so results differ from the
 * reference by accumulated rounding: about sqrt(K) * 2^-24 relative for a
 * K-term dot product of values in [-1, 1], far below 1e-4 for K <= 10^4;
 * transcendental functions (exp, tanh, erf) are computed by different
 * implementations (LLVM's expansion vs libm), within a few ulp.  A wrong
 * index, missing tap or bad padding gives errors of order 1e-1 or more. */
#ifndef TSL_TEST_CPU_HARNESS_H
#define TSL_TEST_CPU_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "tessel/cpu.h"
#include "tessel/ir.h"

struct rng {
    uint64_t s;
};
uint32_t rng_u32(struct rng *r);
/* uniform in [lo, hi] */
int64_t rng_int(struct rng *r, int64_t lo, int64_t hi);
float rng_f(struct rng *r, float lo, float hi);

struct tsl_graph *h_graph(void);
struct tsl_value *h_input(struct tsl_graph *g, const char *name, int rank, const int64_t *dims);
/* h_input with dtype dt. */
struct tsl_value *h_typed_input(struct tsl_graph *g, const char *name, enum tsl_dtype dt, int rank,
                                const int64_t *dims);
/* f32 constant with uniform random values in [lo, hi]. */
struct tsl_value *h_const(struct tsl_graph *g, struct rng *r, const char *name, int rank,
                          const int64_t *dims, float lo, float hi);
struct tsl_value *h_scalar(struct tsl_graph *g, const char *name, float v);
/* A k x k "same"-padded Conv (stride s, group grp) with random weights and
 * bias scaled by 1/sqrt(fan-in), followed by a Relu when relu is true;
 * returns the last output. */
struct tsl_value *h_conv(struct tsl_graph *g, struct rng *r, const char *name, struct tsl_value *x,
                         int64_t c, int64_t oc, int64_t k, int64_t s, int64_t grp, bool relu);
/* i64 1-D constant (Reshape shapes). */
struct tsl_value *h_i64(struct tsl_graph *g, const char *name, int n, const int64_t *v);
struct tsl_node *h_node(struct tsl_graph *g, enum tsl_op op, const char *name, int n_in,
                        struct tsl_value *const *in);

/* Infer shapes, fill inputs by their dtype (floats uniform in [lo, hi],
 * integers uniform in [round(lo), round(hi)] wrapped to the dtype, bool 0/1),
 * run reference and cpu, compare all outputs: f32/f64 within the tolerance
 * above, integer and bool outputs byte for byte (failing the test with the
 * first mismatch).  Returns
 * the compiled module info in *info if non-NULL.  Destroys g. */
void h_check(struct tsl_graph *g, struct rng *r, float lo, float hi,
             struct tsl_cpu_module_info *info);
/* h_check with the given compile options (NULL: the defaults), e.g. a
 * features override to test the AVX2 and scalar code paths. */
void h_check_opts(struct tsl_graph *g, struct rng *r, float lo, float hi,
                  const struct tsl_cpu_options *opts, struct tsl_cpu_module_info *info);

/* Random Conv attributes over sp spatial dims: group grp, per dim stride
 * and dilation in {1, 2}, begin pad in [0, max_pb], end pad in [0, 1] (drawn
 * from r in that order); with auto_pad other than NOTSET the pads are
 * dropped and the dilations set to 1. */
void h_conv_attrs(struct rng *r, struct tsl_attr_conv *a, int sp, int64_t grp, int64_t max_pb,
                  enum tsl_auto_pad auto_pad);
/* A graph x[N, 8] -> Tanh -> output with N a symbolic dim (binding tests). */
struct tsl_graph *h_symbolic_tanh(void);

/* The text of a small file (an emitted header) into buf (cap bytes,
 * NUL-terminated, truncated to fit); fails the test when it cannot be read. */
void h_read_text(const char *path, char *buf, size_t cap);

#endif
