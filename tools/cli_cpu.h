/* cli_cpu.h - the CPU-backend plumbing shared by `tessel run --backend cpu`
 * and `tessel compile --target cpu` (tools/ only): bind the graph's input
 * shapes, fold Shape/Size of static values, run the canonicalization passes
 * (constant folding through the reference), compile with LLVM, and parse shape bindings.  Every function
 * prints its own error in the one-line format.
 *
 * Built with or without the CPU backend: without LLVM, tsl_cli_cpu_available
 * is false and tsl_cli_cpu_build reports that the backend is absent.
 * Not here: running the module or writing files (the commands do it). */
#ifndef TESSEL_CLI_CPU_H
#define TESSEL_CLI_CPU_H
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "tessel/ir.h"
#include "tessel/reference.h"

struct tsl_cpu_module; /* tessel/cpu.h */

/* Milliseconds spent per phase by tsl_cli_cpu_build. */
struct tsl_cli_cpu_times {
    double bind_ms;    /* shape binding + shape inference */
    double passes_ms;  /* canonicalization pipeline */
    double codegen_ms; /* lowering, LLVM optimization (O3) and verification */
};

/* True when this build has the CPU backend. */
bool tsl_cli_cpu_available(void);

/* Take the graph *gp (set to NULL; destroyed here whether this succeeds or
 * not), bind input i to shapes[i] (n = g->n_inputs entries; NULL: the
 * graph's own shapes, which must then be static) in place, run the
 * canonicalization passes and compile it with tsl_cpu_compile_consume, so
 * the weights are never held twice (no clone; released as they are packed).
 * With `values` (the run's inputs, n entries; shapes is then ignored) the
 * inputs that feed compile-time operands are frozen to these values
 * (tsl_cpu_bind_values_in_place; a note names each on stderr) and the module
 * accepts only them.  `name` is the symbol prefix (a C identifier),
 * `threads` >= 1, `profile` compiles the per-step timers
 * (tsl_cli_cpu_print_profile).  `where` names the model in errors.  On
 * success *out is the module (the caller destroys it with
 * tsl_cli_cpu_destroy).  Prints errors. */
bool tsl_cli_cpu_build(struct tsl_graph **gp, const struct tsl_shape *shapes,
                       const struct tsl_tensor *values, const char *name, int threads,
                       bool profile, const char *where, struct tsl_cpu_module **out,
                       struct tsl_cli_cpu_times *times);
void tsl_cli_cpu_destroy(struct tsl_cpu_module *m);

/* tsl_cpu_run (JIT on first call): inputs in graph order; on success the
 * caller frees *outs with tsl_tensors_free.  Errors go to diag (not printed). */
enum tsl_status tsl_cli_cpu_run(struct tsl_cpu_module *m, const struct tsl_tensor *ins,
                                uint32_t n_ins, struct tsl_tensor **outs, uint32_t *n_outs,
                                struct tsl_diag *diag);

/* Artifact kinds (same order as enum tsl_cpu_emit_kind). */
enum { TSL_CLI_EMIT_OBJ, TSL_CLI_EMIT_SO, TSL_CLI_EMIT_LL, TSL_CLI_EMIT_ASM };

/* Write the artifact of `kind` to `path` and the C header to `header`
 * (which must be path with its extension replaced by ".h").  Errors go to
 * diag (not printed); on error neither file is left behind. */
enum tsl_status tsl_cli_cpu_emit(struct tsl_cpu_module *m, int kind, const char *path,
                                 const char *header, struct tsl_diag *diag);

/* True when s is a C identifier of at most 63 characters. */
bool tsl_cli_valid_ident(const char *s);

/* Print one `stats:` line (arena, weights, kernels, fused nodes, threads,
 * loops split over them) to f. */
void tsl_cli_cpu_print_stats(const struct tsl_cpu_module *m, FILE *f);

/* Print one `tessel: compile: cpu phases:` line (scheduling and plan, step
 * IR with weight packing, LLVM optimization, in ms) to f. */
void tsl_cli_cpu_print_phases(const struct tsl_cpu_module *m, FILE *f);

/* Print the per-step profile of a module built with `profile` to stderr:
 * the `top` slowest steps (time per run, share, cumulative share, ops, node)
 * and the time per op combination ("Conv+Relu").  Prints nothing for a
 * module without profiling. */
void tsl_cli_cpu_print_profile(const struct tsl_cpu_module *m, int top);

/* Drop the runs counted so far from the module's profile (after the
 * warm-up run); nothing for a module without profiling. */
void tsl_cli_cpu_profile_reset(struct tsl_cpu_module *m);

/* Parse "1x3x224x224" (a lone "scalar" or empty string is rank 0) into s.
 * Returns false on bad syntax (nothing printed). */
bool tsl_cli_parse_dims(const char *text, struct tsl_shape *s);

/* A C identifier from a model path: basename without extension, other
 * characters replaced by '_', prefixed by '_' if it starts with a digit.
 * malloc'ed; NULL when out of memory. */
char *tsl_cli_model_ident(const char *path);

/* Monotonic clock in milliseconds. */
double tsl_cli_now_ms(void);
#endif
