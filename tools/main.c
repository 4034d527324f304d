/* main.c - the `tessel` command: dispatches to one subcommand per file
 * through the table in cli.h.  Prints only usage text itself. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct tsl_cli_command commands[] = {
#define TSL_CLI_COMMAND(name, fn, summary) {#name, fn, summary},
#include "commands.def"
#undef TSL_CLI_COMMAND
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tessel <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'tessel <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tessel 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tessel: error: unknown command '%s' (see 'tessel --help')\n", argv[1]);
    return 2;
}
