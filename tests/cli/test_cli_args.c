/* test_cli_args.c - unit tests of the shared option parser (tools/cli_args.c):
 * accepted forms, repeated options, positional arguments, `--`, --help and
 * every usage error with its exit code.  Usage errors print to stderr, which
 * these tests do not capture (tests/cli/bad_inputs.py checks the text). */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli_args.h"

static const struct tsl_cli_opt opts[] = {
    {.long_name = "json", .help = "flag"},
    {.long_name = "dot", .takes_value = true, .metavar = "FILE", .help = "one value"},
    {.long_name = "input", .short_name = 'i', .takes_value = true, .repeatable = true,
     .metavar = "[NAME=]FILE", .help = "repeatable value"},
    {.short_name = 'o', .takes_value = true, .metavar = "DIR", .help = "short only"},
};

static const struct tsl_cli_spec spec = {
    .command = "demo",
    .usage = "tessel demo MODEL [--json] [--dot FILE] [-i FILE]... [-o DIR]",
    .opts = opts,
    .n_opts = sizeof opts / sizeof opts[0],
    .min_positional = 1,
    .max_positional = 2,
    .positional_name = "MODEL",
};

/* Parse a NULL-terminated argument list (argv[0] = "demo"). */
static bool parse(struct tsl_cli_args *a, int *code, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, code);
    argv[argc++] = (char *)"demo";
    for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    *code = -1;
    return tsl_cli_parse(&spec, argc, argv, a, code);
}

static void test_forms(void **state)
{
    (void)state;
    struct tsl_cli_args a;
    int code;
    assert_true(parse(&a, &code, "m.onnx", "--json", "--dot", "g.dot", "-i", "a.npy",
                      "--input=x=b.npy", "--input", "c.npy", "-id.npy", "-oout", NULL));
    assert_int_equal(a.n_positional, 1);
    assert_string_equal(a.positional[0], "m.onnx");
    assert_true(tsl_cli_flag(&a, "json"));
    assert_string_equal(tsl_cli_value(&a, "dot"), "g.dot");
    assert_int_equal(tsl_cli_count(&a, "input"), 4);
    assert_string_equal(tsl_cli_value_at(&a, "input", 0), "a.npy");
    assert_string_equal(tsl_cli_value_at(&a, "input", 1), "x=b.npy");
    assert_string_equal(tsl_cli_value_at(&a, "input", 2), "c.npy");
    assert_string_equal(tsl_cli_value_at(&a, "input", 3), "d.npy");
    assert_null(tsl_cli_value_at(&a, "input", 4));
    assert_string_equal(tsl_cli_value(&a, "input"), "d.npy");
    assert_string_equal(tsl_cli_value(&a, "o"), "out");
    tsl_cli_args_fini(&a);
}

static void test_absent_and_unknown_names(void **state)
{
    (void)state;
    struct tsl_cli_args a;
    int code;
    assert_true(parse(&a, &code, "m.onnx", "other", NULL));
    assert_int_equal(a.n_positional, 2);
    assert_false(tsl_cli_flag(&a, "json"));
    assert_null(tsl_cli_value(&a, "dot"));
    assert_int_equal(tsl_cli_count(&a, "nonsense"), 0);
    assert_null(tsl_cli_value(&a, "i")); /* has a long name: looked up as "input" */
    tsl_cli_args_fini(&a);
}

static void test_value_may_look_like_an_option(void **state)
{
    (void)state;
    struct tsl_cli_args a;
    int code;
    assert_true(parse(&a, &code, "--dot", "--json", "-", "--", "--not-an-option", NULL));
    assert_string_equal(tsl_cli_value(&a, "dot"), "--json");
    assert_false(tsl_cli_flag(&a, "json"));
    assert_int_equal(a.n_positional, 2);
    assert_string_equal(a.positional[0], "-");
    assert_string_equal(a.positional[1], "--not-an-option");
    tsl_cli_args_fini(&a);
    assert_true(parse(&a, &code, "m", "--dot=", NULL));
    assert_string_equal(tsl_cli_value(&a, "dot"), "");
    tsl_cli_args_fini(&a);
}

static void test_help(void **state)
{
    (void)state;
    struct tsl_cli_args a;
    int code;
    assert_false(parse(&a, &code, "--help", NULL));
    assert_int_equal(code, 0);
    tsl_cli_args_fini(&a);
    assert_false(parse(&a, &code, "m", "--bogus", "-h", NULL)); /* the error comes first */
    assert_int_equal(code, 2);
    tsl_cli_args_fini(&a);
}

static void expect_usage_error(int line, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, line);
    argv[argc++] = (char *)"demo";
    for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = s;
    va_end(ap);
    struct tsl_cli_args a;
    int code = -1;
    if (tsl_cli_parse(&spec, argc, argv, &a, &code) || code != 2)
        fail_msg("case at line %d: parse accepted or code %d", line, code);
    tsl_cli_args_fini(&a);
}

static void test_usage_errors(void **state)
{
    (void)state;
    expect_usage_error(__LINE__, NULL);                         /* missing MODEL */
    expect_usage_error(__LINE__, "a", "b", "c", NULL);          /* too many */
    expect_usage_error(__LINE__, "m", "--frob", NULL);          /* unknown long */
    expect_usage_error(__LINE__, "m", "--frob=1", NULL);
    expect_usage_error(__LINE__, "m", "-x", NULL);              /* unknown short */
    expect_usage_error(__LINE__, "m", "--dot", NULL);           /* missing value */
    expect_usage_error(__LINE__, "m", "-o", NULL);
    expect_usage_error(__LINE__, "m", "--json=1", NULL);        /* flag with value */
    expect_usage_error(__LINE__, "m", "--dot", "a", "--dot", "b", NULL); /* not repeatable */
    expect_usage_error(__LINE__, "m", "--json", "--json", NULL);
    expect_usage_error(__LINE__, "m", "--js", NULL);            /* no prefix matching */
}

static void test_help_text(void **state)
{
    (void)state;
    char buf[2048] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(f);
    tsl_cli_print_help(&spec, f);
    fclose(f);
    assert_non_null(strstr(buf, "usage: tessel demo MODEL"));
    assert_non_null(strstr(buf, "-i, --input [NAME=]FILE"));
    assert_non_null(strstr(buf, "-o DIR"));
    assert_non_null(strstr(buf, "(repeatable)"));
    assert_non_null(strstr(buf, "--help"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_absent_and_unknown_names),
        cmocka_unit_test(test_value_may_look_like_an_option),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
