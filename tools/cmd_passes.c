/* cmd_passes.c - `tessel passes`: lists the IR passes (name and one-line
 * description) from passes/include/tessel/passes.def, then the default
 * pipeline.  Runs nothing. */
#include <stdio.h>

#include "cli.h"
#include "cli_args.h"
#include "tessel/passes.h"
#include "tessel/util.h"

static const struct tsl_cli_spec passes_spec = {
    .command = "passes",
    .usage = "tessel passes",
    .summary = "List the IR passes that --passes and --print-after accept.",
    .opts = NULL,
    .n_opts = 0,
    .min_positional = 0,
    .max_positional = 0,
    .positional_name = NULL,
};

int tsl_cmd_passes(int argc, char **argv)
{
    struct tsl_cli_args args;
    int code;
    bool go = tsl_cli_parse(&passes_spec, argc, argv, &args, &code);
    tsl_cli_args_fini(&args);
    if (!go)
        return code;
    for (int i = 0; i < TSL_PASS_COUNT; i++)
        printf("%-16s %s\n", tsl_pass_name((enum tsl_pass_id)i),
               tsl_pass_description((enum tsl_pass_id)i));
    printf("\ndefault pipeline: %s\n"
           "  then prune (--prune), codebook (--codebook), or opq alone (--opq)\n",
           TSL_PIPELINE_CANONICALIZE);
    return TSL_EXIT_OK;
}
