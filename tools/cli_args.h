/* cli_args.h - the small option parser every `tessel` subcommand uses.
 *
 * A subcommand describes its options in a static const table and calls
 * tsl_cli_parse() once.  Accepted forms: long options `--name`, `--name=V`
 * and `--name V`; short options `-o V` and `-oV`; options may repeat when the
 * table says so; everything else is positional; `--` ends the options;
 * `--help` / `-h` print the usage and option list to stdout.  Usage errors
 * (unknown option, missing or unexpected value, wrong number of positional
 * arguments) print `tessel: error: <command>: <what>` plus the usage line to
 * stderr.  The parser keeps no state outside the caller's struct and never
 * copies strings: every value points into argv.
 *
 * Not here: converting values to numbers or paths (the subcommand does it),
 * error reporting for anything but usage. */
#ifndef TESSEL_CLI_ARGS_H
#define TESSEL_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One option a subcommand accepts. */
struct tsl_cli_opt {
    const char *long_name; /* "dot" for --dot; NULL if the option is short only */
    char short_name;       /* 'o' for -o; 0 if none */
    bool takes_value;      /* --x V / --x=V / -x V; otherwise a flag */
    bool repeatable;       /* may be given more than once (values accumulate) */
    const char *metavar;   /* shown in help, e.g. "FILE.dot" (values only) */
    const char *help;      /* one line for --help */
};

/* Everything a subcommand says about its command line. */
struct tsl_cli_spec {
    const char *command;     /* "inspect": used in error messages */
    const char *usage;       /* "tessel inspect MODEL.onnx [--json] [--dot FILE.dot]" */
    const char *summary;     /* one sentence for --help; may be NULL */
    const struct tsl_cli_opt *opts;
    size_t n_opts;
    size_t min_positional, max_positional;
    const char *positional_name; /* "MODEL.onnx": named in "missing ..." errors */
};

/* One option occurrence, in command-line order. */
struct tsl_cli_hit {
    size_t opt;        /* index into spec->opts */
    const char *value; /* points into argv; NULL for flags */
};

/* Result of a parse.  Owned by the caller; release with tsl_cli_args_fini. */
struct tsl_cli_args {
    const struct tsl_cli_spec *spec;
    struct tsl_cli_hit *hits; /* malloc'ed, n_hits entries */
    size_t n_hits;
    const char **positional;  /* malloc'ed, n_positional entries into argv */
    size_t n_positional;
};

/* Parse argv[1..argc-1] (argv[0] is the command name) against spec.
 * Returns true when the command should go on with *out filled in.  Returns
 * false when it should stop and return *exit_code: 0 after --help was
 * printed, 2 after a usage error was printed, 1 if memory ran out (also
 * printed).  *out needs tsl_cli_args_fini in every case. */
bool tsl_cli_parse(const struct tsl_cli_spec *spec, int argc, char **argv,
                   struct tsl_cli_args *out, int *exit_code);

/* Free what tsl_cli_parse allocated (safe on a zeroed or failed struct). */
void tsl_cli_args_fini(struct tsl_cli_args *a);

/* Lookups below name an option by its long name ("dot"), or, for an option
 * without one, by its one-letter short name ("o"). */
/* Times option `name` was given (0 if never, or if no option has that name). */
size_t tsl_cli_count(const struct tsl_cli_args *a, const char *name);
/* True if option `name` was given at least once. */
bool tsl_cli_flag(const struct tsl_cli_args *a, const char *name);
/* Value of the last occurrence of `name`, or NULL if absent. */
const char *tsl_cli_value(const struct tsl_cli_args *a, const char *name);
/* Value of the k-th occurrence (k from 0) of `name`, or NULL. */
const char *tsl_cli_value_at(const struct tsl_cli_args *a, const char *name, size_t k);

/* Print the usage line, summary and option list of spec to f. */
void tsl_cli_print_help(const struct tsl_cli_spec *spec, FILE *f);

#endif
