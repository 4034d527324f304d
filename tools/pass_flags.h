/* pass_flags.h - the PASS FLAGS shared by `tessel run`, `compile` and
 * `compress`: pipeline choice, IR dumps, timings and the compression options.
 *
 *   --passes a,b,c          run this pipeline instead of the default
 *   --print-after PASS|all  IR text (constants elided) to stderr after PASS
 *   --time-passes           timing table to stderr
 *   --prune S[,unstructured|channel|2:4]   magnitude pruning, S in [0,1)
 *   --prune-per-layer       per-layer thresholds instead of one global one
 *   --codebook BITS         per-layer codebook quantization, BITS in 1..8
 *   --codebook-kmeans       k-means codebook instead of uniform
 *   --opq RATE              OPQ allocation to a target compression rate
 *   --calib FILE.npy        calibration data for OPQ
 *   --index-coding packed|huffman   how codebook indices are stored (default:
 *                           huffman with --opq, packed otherwise)
 *   --keep-first-last / --no-keep-first-last   (default: keep)
 *
 * How a subcommand uses it (three calls):
 *     static const struct tsl_cli_opt my_opts[] = {
 *         {.long_name = "output", ...},
 *         TSL_CLI_PASS_FLAG_OPTS            // splice the flags into the table
 *     };
 *     ... tsl_cli_parse(&spec, argc, argv, &args, &code) ...
 *     struct tsl_cli_pass_flags pf;
 *     int rc = tsl_cli_pass_flags_get(&args, &pf);     // prints bad values
 *     if (rc != TSL_EXIT_OK) return rc;
 *     ... import the model into g ...
 *     struct tsl_pass_context ctx;
 *     if (!tsl_cli_pass_flags_run(&pf, g, &ctx, model_path)) { ...exit 1... }
 *     ... ctx.layers holds the compression report ...
 *     tsl_pass_context_fini(&ctx);
 *
 * Default pipeline: TSL_PIPELINE_CANONICALIZE, then prune (if --prune),
 * codebook (if --codebook), or opq alone (if --opq; it reads the other
 * options itself).  Constant folding uses the reference backend
 * (tsl_ref_eval_node); the IR is verified after every pass when
 * TESSEL_VERIFY_EACH=1 is set or in builds without NDEBUG.
 * Not here: importing, exporting, reporting (the subcommands do). */
#ifndef TESSEL_PASS_FLAGS_H
#define TESSEL_PASS_FLAGS_H

#include <stdbool.h>

#include "cli_args.h"
#include "tessel/passes.h"

/* Entries to splice into a subcommand's struct tsl_cli_opt table. */
#define TSL_CLI_PASS_FLAG_OPTS                                                                   \
    {.long_name = "passes", .takes_value = true, .metavar = "a,b,c",                           \
     .help = "run this pass pipeline (see 'tessel passes') instead of the default"},          \
    {.long_name = "print-after", .takes_value = true, .metavar = "PASS|all",                  \
     .help = "print the IR (constants elided) to stderr after PASS, or after every pass"},     \
    {.long_name = "time-passes", .help = "print a table of pass run times to stderr"},        \
    {.long_name = "prune", .takes_value = true, .metavar = "S[,KIND]",                        \
     .help = "prune a fraction S in [0,1) of the weights; KIND unstructured (default), "       \
             "channel or 2:4"},                                                                \
    {.long_name = "prune-per-layer",                                                           \
     .help = "prune each layer to S instead of one global magnitude threshold"},               \
    {.long_name = "codebook", .takes_value = true, .metavar = "BITS",                         \
     .help = "quantize each layer to one shared codebook of 2^BITS codes (BITS 1..8)"},        \
    {.long_name = "codebook-kmeans", .help = "k-means codebook instead of uniform"},           \
    {.long_name = "opq", .takes_value = true, .metavar = "RATE",                              \
     .help = "OPQ one-shot pruning+quantization to a target compression rate"},               \
    {.long_name = "calib", .takes_value = true, .metavar = "FILE.npy",                        \
     .help = "OPQ calibration batch (f32 .npy shaped like the model input)"},               \
    {.long_name = "index-coding", .takes_value = true, .metavar = "packed|huffman",           \
     .help = "store codebook indices bit-packed or Huffman-coded (default: huffman with "     \
             "--opq, packed otherwise)"},                                                      \
    {.long_name = "keep-first-last",                                                           \
     .help = "leave the first and last weight layers uncompressed (default)"},                 \
    {.long_name = "no-keep-first-last", .help = "compress the first and last layers too"}

/* The parsed flags.  Strings point into argv. */
struct tsl_cli_pass_flags {
    const char *passes;       /* --passes, NULL = default pipeline */
    const char *print_after;  /* NULL, "all" or a pass name */
    bool time_passes;
    bool prune, codebook, opq; /* which compression flags were given */
    struct tsl_compress_options compress;
};

/* Read and check the flags from parsed args.  Returns TSL_EXIT_OK, or prints
 * one error line and returns TSL_EXIT_FAIL for a bad value (--prune outside
 * [0,1) or of unknown kind, --codebook outside 1..8, --opq not > 1) or
 * TSL_EXIT_USAGE for an unknown pass name in --passes/--print-after or
 * contradicting flags. */
int tsl_cli_pass_flags_get(const struct tsl_cli_args *a, struct tsl_cli_pass_flags *out);

/* True when any compression flag (--prune, --codebook, --opq) was given. */
bool tsl_cli_pass_flags_compress(const struct tsl_cli_pass_flags *f);

/* The pipeline the flags ask for (malloc'ed), NULL on OOM. */
char *tsl_cli_pass_flags_pipeline(const struct tsl_cli_pass_flags *f);

/* Initialize *ctx from the flags (tsl_pass_context_init, compression
 * options, reference-backend folding, verify-each, --print-after hook), run
 * the pipeline on g and print --time-passes.  On failure prints one error
 * line (naming `where` when the diagnostic has no better place) and returns
 * false.  *ctx is initialized in every case: call tsl_pass_context_fini. */
bool tsl_cli_pass_flags_run(const struct tsl_cli_pass_flags *f, struct tsl_graph *g,
                            struct tsl_pass_context *ctx, const char *where);

#endif
