/* test_text_errors.c - the IR text parser on malformed input: each case
 * asserts status PARSE and the exact first diagnostic ("<file>:<line>:<col>"
 * and message).  Also checks that a NUL byte, junk and truncations at every
 * prefix of a valid text fail cleanly (no crash, no leak under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/text.h"

struct err_case {
    const char *text;
    const char *where;
    const char *message;
};

#define HDR "graph \"g\" {\n"

static const struct err_case cases[] = {
    /* empty and truncated input */
    {"", "t.tir:1:1", "expected 'graph', got end of input"},
    {HDR "  input %x : f32[2", "t.tir:2:19", "expected ',' or ']' in shape, got end of input"},
    {HDR "  input %x : f32[2]\n", "t.tir:3:1",
     "expected a statement (symbols, input, const, output, %value) or '}', got end of input"},
    /* numbers */
    {HDR "  const %c : f32[1] = dense [1.5.2]\n}\n", "t.tir:2:30", "bad number '1.5.2'"},
    {HDR "  input %x : f32[99999999999999999999]\n}\n", "t.tir:2:18",
     "integer '99999999999999999999' overflows 64 bits (dim)"},
    {HDR "  const %c : i8[1] = dense [200]\n}\n", "t.tir:2:29", "i8 200 out of range [-128, 127]"},
    {HDR "  const %c : f32[1] = dense [1e39]\n}\n", "t.tir:2:30",
     "number '1e39' out of range for f32"},
    {HDR "  const %c : f32[3] = dense [1, 2]\n}\n", "t.tir:2:29",
     "constant data: 2 elements, expected 3"},
    {HDR "  const %c : f32[2] = dense x\"0000\"\n}\n", "t.tir:2:29",
     "constant data: byte string has 2 bytes, expected 8"},
    /* ops, values, names */
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Frobnicate (%x)\n}\n", "t.tir:3:17",
     "unknown op 'Frobnicate'"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Relu (%z)\n}\n", "t.tir:3:23",
     "undefined value '%z'"},
    {HDR "  input %x : f32[1]\n  input %x : f32[2]\n}\n", "t.tir:3:9",
     "duplicate value name '%x'"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Relu \"r\" (%x)\n  %z : f32[1] = Relu \"r\" (%y)\n}\n",
     "t.tir:4:22", "duplicate node name 'r'"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Relu (%x, %x)\n}\n", "t.tir:3:17",
     "Relu takes 1 to 1 inputs, got 2"},
    {HDR "  input %x : f32[1]\n  %y : f32[1], %z : f32[1] = Relu (%x)\n}\n", "t.tir:3:30",
     "Relu has 1 to 1 outputs, got 2"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Relu (%y)\n}\n", "t.tir:3:23",
     "undefined value '%y'"},
    {HDR "  input %x : f32[1]\n  %a : f32[1], %b : f32[1], %a : f32[1] = Split (%x)\n}\n",
     "t.tir:3:43", "duplicate value name among the outputs of this Split"},
    {HDR "  input %x : f32[1]\n  %a : f32[1], %a : f32[1] = Split (%x)\n}\n", "t.tir:3:16",
     "duplicate value name '%a'"},
    /* attributes */
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Conv (%x, %x) {auto_pad = SAME}\n}\n",
     "t.tir:3:43",
     "bad value 'SAME' for attribute 'auto_pad' (one of: NOTSET, SAME_UPPER, SAME_LOWER, VALID)"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Relu (%x) {alpha = 1}\n}\n", "t.tir:3:28",
     "unknown attribute 'alpha' for Relu"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Softmax (%x) {axis = 1, axis = 2}\n}\n",
     "t.tir:3:41", "duplicate attribute 'axis'"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Cast (%x) {to = f33}\n}\n", "t.tir:3:33",
     "unknown dtype 'f33'"},
    {HDR "  input %x : f32[1]\n  %y : f32[1] = Gemm (%x, %x) {alpha = 1.e}\n}\n", "t.tir:3:40",
     "bad number '1.e'"},
    /* strings */
    {HDR "  input %\"a\\qb\" : f32[1]\n}\n", "t.tir:2:12", "bad escape '\\q' in string"},
    {HDR "  input %\"abc : f32[1]\n}\n", "t.tir:2:10", "unterminated string"},
    {HDR "  input %\"a\\x00\" : f32[1]\n}\n", "t.tir:2:12", "NUL byte (\\x00) in string"},
    {HDR "  const %c : u8[1] = dense x\"0\"\n}\n", "t.tir:2:28",
     "odd number of hex digits in byte string"},
    /* types */
    {HDR "  input %x : f32[N]\n}\n", "t.tir:2:18", "undeclared symbol 'N'"},
    {HDR "  symbols N, N\n}\n", "t.tir:2:14", "duplicate symbol 'N'"},
    {HDR "  input %x : f32[1,1,1,1,1,1,1,1,1]\n}\n", "t.tir:2:34", "more than 8 dims"},
    {HDR "  symbols N\n  const %c : f32[N] = dense []\n}\n", "t.tir:3:14",
     "constant type must be static (known rank, no symbols)"},
    {HDR "  const %c : f64[1] = codebook bits 1 codes [1] indices x\"00\" axis 0\n}\n",
     "t.tir:2:23", "codebook constants must be f32, not f64"},
    {HDR "  const %c : f32[4] = codebook bits 1 codes [1, 2, 3] indices x\"00\" axis 0\n}\n",
     "t.tir:2:45", "codebook has 3 codes, needs 1 to 2 for 1-bit indices"},
    {HDR "  input %x : f32[1] quant affine axis -1 scale [1] zero [1, 2]\n}\n", "t.tir:2:57",
     "quant zero points: 2 elements, expected 1"},
    /* junk */
    {HDR "  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n}\n", "t.tir:2:3",
     "expected a statement (symbols, input, const, output, %value) or '}', got '['"},
    {HDR "}\n}\n", "t.tir:3:1", "expected end of input after the graph, got '}'"},
    {HDR "  input %x : f32[1] @\n}\n", "t.tir:2:21", "unexpected character '@'"},
    {"graph \"g\" {\n  input %x\x01 : f32[1]\n}\n", "t.tir:2:11", "unexpected byte 0x01"},
};

static void test_error_cases(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_graph *g = NULL;
        enum tsl_status st =
            tsl_graph_from_text(cases[i].text, strlen(cases[i].text), "t.tir", &g, &d);
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        if (st != TSL_STATUS_PARSE || !e || strcmp(e->where, cases[i].where) ||
            strcmp(e->message, cases[i].message)) {
            fprintf(stderr, "case %zu: status %d, got \"%s\" \"%s\"\n", i, (int)st,
                    e ? e->where : "-", e ? e->message : "-");
            bad++;
        }
        assert_null(g);
        tsl_diag_fini(&d);
    }
    assert_int_equal(bad, 0);
}

/* Every proper prefix of a valid text fails with PARSE (never crashes), and
 * the full text parses. */
static void test_truncations(void **state)
{
    (void)state;
    const char *text =
        "graph \"t\" opset 17 producer \"p\" {\n"
        "  symbols N\n"
        "  input %x : f32[N,4] quant affine axis -1 scale [0.5] zero [0]\n"
        "  const %w : f32[4] = masked [1, 0, nan:0x7fc00001, -inf] mask x\"0d\"\n"
        "  const %cb : f32[2] = codebook bits 1 codes [1, -1] indices x\"02\" axis 0 scales "
        "[2, 3]\n"
        "  %y : f32[N,4] = Add \"a\" (%x, %w)\n"
        "  %z : f32[N,4] = Clip (%y, _, %w)\n"
        "  output %z, %z\n"
        "}\n";
    size_t n = strlen(text);
    for (size_t k = 0; k < n; k++) {
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_graph *g = NULL;
        enum tsl_status st = tsl_graph_from_text(text, k, "t.tir", &g, &d);
        /* A prefix ending right after the closing brace is complete. */
        if (k == n - 1) {
            assert_int_equal(st, TSL_STATUS_OK);
            tsl_graph_destroy(g);
        } else {
            assert_int_equal(st, TSL_STATUS_PARSE);
            assert_null(g);
            assert_int_equal(d.n_errors, 1);
        }
        tsl_diag_fini(&d);
    }
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_from_text(text, n, "t.tir", &g, NULL), TSL_STATUS_OK);
    tsl_graph_destroy(g);
}

static void test_nul_and_null(void **state)
{
    (void)state;
    const char text[] = "graph \"g\" {\0}\n";
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g = NULL;
    assert_int_equal(tsl_graph_from_text(text, sizeof text - 1, NULL, &g, &d), TSL_STATUS_PARSE);
    assert_string_equal(tsl_diag_first_error(&d)->where, "<input>:1:12");
    assert_string_equal(tsl_diag_first_error(&d)->message, "unexpected byte 0x00");
    tsl_diag_fini(&d);
    assert_int_equal(tsl_graph_from_text(NULL, 5, "x", &g, NULL), TSL_STATUS_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_cases),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_nul_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
