/* cli_args.c - the shared option parser of the `tessel` subcommands (see
 * cli_args.h for the accepted syntax).  It only classifies argv entries and
 * prints usage errors and --help; it does not interpret option values. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"

/* Column where option help text starts in --help. */
enum { HELP_COLUMN = 24 };

static const struct tsl_cli_opt *find_long(const struct tsl_cli_spec *spec, const char *name,
                                           size_t name_len, size_t *index)
{
    for (size_t i = 0; i < spec->n_opts; i++) {
        const char *ln = spec->opts[i].long_name;
        if (ln && strlen(ln) == name_len && !strncmp(ln, name, name_len)) {
            *index = i;
            return &spec->opts[i];
        }
    }
    return NULL;
}

static const struct tsl_cli_opt *find_short(const struct tsl_cli_spec *spec, char c, size_t *index)
{
    for (size_t i = 0; i < spec->n_opts; i++) {
        if (spec->opts[i].short_name && spec->opts[i].short_name == c) {
            *index = i;
            return &spec->opts[i];
        }
    }
    return NULL;
}

/* "--dot" or "-o", for messages; buf must hold 3 bytes for short names. */
static const char *display_name(const struct tsl_cli_opt *o, char buf[3], const char **dashes)
{
    if (o->long_name) {
        *dashes = "--";
        return o->long_name;
    }
    buf[0] = o->short_name;
    buf[1] = '\0';
    *dashes = "-";
    return buf;
}

static int usage_error_opt(const struct tsl_cli_spec *spec, const struct tsl_cli_opt *o,
                           const char *what)
{
    char buf[3];
    const char *dashes;
    const char *name = display_name(o, buf, &dashes);
    return tsl_cli_usage_error(spec->usage, "%s: option '%s%s' %s", spec->command, dashes, name,
                               what);
}

/* Record one occurrence; returns false when it breaks the spec (exit code set). */
static bool add_hit(const struct tsl_cli_spec *spec, struct tsl_cli_args *a, size_t index,
                    const char *value, int *exit_code)
{
    const struct tsl_cli_opt *o = &spec->opts[index];
    if (!o->repeatable) {
        for (size_t i = 0; i < a->n_hits; i++) {
            if (a->hits[i].opt == index) {
                *exit_code = usage_error_opt(spec, o, "given more than once");
                return false;
            }
        }
    }
    /* hits has room for argc entries (allocated up front). */
    a->hits[a->n_hits].opt = index;
    a->hits[a->n_hits].value = value;
    a->n_hits++;
    return true;
}

bool tsl_cli_parse(const struct tsl_cli_spec *spec, int argc, char **argv,
                   struct tsl_cli_args *out, int *exit_code)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    size_t n = argc > 0 ? (size_t)argc : 0;
    out->hits = calloc(n + 1, sizeof *out->hits);
    out->positional = calloc(n + 1, sizeof *out->positional);
    if (!out->hits || !out->positional) {
        tsl_cli_error(spec->command, "out of memory");
        *exit_code = TSL_EXIT_FAIL;
        return false;
    }

    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            out->positional[out->n_positional++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            options_done = true;
            continue;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            tsl_cli_print_help(spec, stdout);
            *exit_code = TSL_EXIT_OK;
            return false;
        }
        size_t index;
        const struct tsl_cli_opt *o;
        const char *value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(spec, name, len, &index);
            if (!o) {
                *exit_code = tsl_cli_usage_error(spec->usage, "%s: unknown option '--%.*s'",
                                                 spec->command, (int)len, name);
                return false;
            }
            if (eq && !o->takes_value) {
                *exit_code = usage_error_opt(spec, o, "takes no value");
                return false;
            }
            if (eq)
                value = eq + 1;
        } else {
            o = find_short(spec, arg[1], &index);
            if (!o) {
                *exit_code = tsl_cli_usage_error(spec->usage, "%s: unknown option '%s'",
                                                 spec->command, arg);
                return false;
            }
            if (arg[2] != '\0') {
                if (!o->takes_value) {
                    *exit_code = tsl_cli_usage_error(spec->usage, "%s: unknown option '%s'",
                                                     spec->command, arg);
                    return false;
                }
                value = arg + 2;
            }
        }
        if (o->takes_value && !value) {
            if (i + 1 >= argc) {
                *exit_code = usage_error_opt(spec, o, "needs a value");
                return false;
            }
            value = argv[++i];
        }
        if (!add_hit(spec, out, index, value, exit_code))
            return false;
    }

    if (out->n_positional < spec->min_positional) {
        *exit_code = tsl_cli_usage_error(spec->usage, "%s: missing %s", spec->command,
                                         spec->positional_name ? spec->positional_name
                                                               : "argument");
        return false;
    }
    if (out->n_positional > spec->max_positional) {
        *exit_code = tsl_cli_usage_error(spec->usage, "%s: unexpected argument '%s'",
                                         spec->command, out->positional[spec->max_positional]);
        return false;
    }
    return true;
}

void tsl_cli_args_fini(struct tsl_cli_args *a)
{
    free(a->hits);
    free((void *)a->positional);
    memset(a, 0, sizeof *a);
}

/* Index of the option called `name`, or false. */
static bool opt_index(const struct tsl_cli_spec *spec, const char *name, size_t *index)
{
    if (!spec || !name)
        return false;
    if (find_long(spec, name, strlen(name), index))
        return true;
    if (name[0] && !name[1]) {
        const struct tsl_cli_opt *o = find_short(spec, name[0], index);
        return o && !o->long_name;
    }
    return false;
}

size_t tsl_cli_count(const struct tsl_cli_args *a, const char *name)
{
    size_t index, count = 0;
    if (!opt_index(a->spec, name, &index))
        return 0;
    for (size_t i = 0; i < a->n_hits; i++)
        count += a->hits[i].opt == index;
    return count;
}

bool tsl_cli_flag(const struct tsl_cli_args *a, const char *name)
{
    return tsl_cli_count(a, name) > 0;
}

const char *tsl_cli_value_at(const struct tsl_cli_args *a, const char *name, size_t k)
{
    size_t index;
    if (!opt_index(a->spec, name, &index))
        return NULL;
    for (size_t i = 0; i < a->n_hits; i++) {
        if (a->hits[i].opt == index) {
            if (k == 0)
                return a->hits[i].value;
            k--;
        }
    }
    return NULL;
}

const char *tsl_cli_value(const struct tsl_cli_args *a, const char *name)
{
    size_t c = tsl_cli_count(a, name);
    return c ? tsl_cli_value_at(a, name, c - 1) : NULL;
}

void tsl_cli_print_help(const struct tsl_cli_spec *spec, FILE *f)
{
    fprintf(f, "usage: %s\n", spec->usage);
    if (spec->summary)
        fprintf(f, "\n%s\n", spec->summary);
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < spec->n_opts; i++) {
        const struct tsl_cli_opt *o = &spec->opts[i];
        int col = fprintf(f, "  ");
        if (o->short_name)
            col += fprintf(f, "-%c%s", o->short_name, o->long_name ? ", " : "");
        if (o->long_name)
            col += fprintf(f, "--%s", o->long_name);
        if (o->takes_value)
            col += fprintf(f, " %s", o->metavar ? o->metavar : "VALUE");
        if (col >= HELP_COLUMN - 1) {
            fputc('\n', f);
            col = 0;
        }
        fprintf(f, "%*s%s%s\n", HELP_COLUMN - col, "", o->help ? o->help : "",
                o->repeatable ? " (repeatable)" : "");
    }
    fprintf(f, "  -h, --help%*sshow this help and exit\n", HELP_COLUMN - 12, "");
}
