/* cli.c - error and usage printing shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void tsl_cli_error(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tessel: error: %s: ", where && *where ? where : "tessel");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void tsl_cli_report(const struct tsl_diag *d, const char *where, enum tsl_status st)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    if (e)
        tsl_cli_error(*e->where ? e->where : where, "%s", e->message);
    else
        tsl_cli_error(where, "%s", tsl_status_str(st));
}

int tsl_cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tessel: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    va_end(ap);
    return TSL_EXIT_USAGE;
}
