/* cli.h - shared helpers of the tessel subcommands (tools/ only): the command
 * table entry, error reporting in the one-line format, and exit codes. */
#ifndef TESSEL_CLI_H
#define TESSEL_CLI_H

#include "tessel/diag.h"

enum { TSL_EXIT_OK = 0, TSL_EXIT_FAIL = 1, TSL_EXIT_USAGE = 2 };

struct tsl_cli_command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
};

#define TSL_CLI_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef TSL_CLI_COMMAND

/* Print "tessel: error: <where>: <what>" to stderr. */
void tsl_cli_error(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the first error in d (or a fallback naming `where` and the status). */
void tsl_cli_report(const struct tsl_diag *d, const char *where, enum tsl_status st);
/* Usage error: print message and the command's usage line; returns 2. */
int tsl_cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
