/* cmd_inspect.c - `tessel inspect` (placeholder until the frontend lands). */
#include "cli.h"
int tsl_cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tsl_cli_error("inspect", "%s", "the ONNX frontend is not built yet");
    return TSL_EXIT_FAIL;
}
