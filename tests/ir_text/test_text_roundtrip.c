/* test_text_roundtrip.c - IR text round trip of graphs built through the
 * graph API: print -> parse must rebuild an equal graph and print -> parse ->
 * print must reproduce the text byte for byte.  Covers every constant
 * encoding and element dtype, exact floats (NaN payloads, inf, -0,
 * subnormals), quantization kinds, symbolic dims, unknown types, odd names,
 * every attribute field type present in attrs.def, omitted inputs,
 * multi-output nodes, duplicate graph outputs, elision and the dot writer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir_text/text_test_util.h"
#include "tessel/util.h"

/* Round trip g; returns the printed text (caller frees). */
static char *roundtrip(const struct tsl_graph *g)
{
    char *t1 = NULL, *t2 = NULL;
    assert_int_equal(tsl_graph_to_text(g, NULL, &t1), TSL_STATUS_OK);
    if (getenv("TSL_TEXT_DUMP"))
        fputs(t1, stderr);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g2 = NULL;
    enum tsl_status st = tsl_graph_from_text(t1, strlen(t1), "rt.tir", &g2, &d);
    if (st != TSL_STATUS_OK) {
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        fprintf(stderr, "%s\nparse failed: %s: %s\n", t1, e ? e->where : "?",
                e ? e->message : "?");
    }
    assert_int_equal(st, TSL_STATUS_OK);
    tsl_diag_fini(&d);
    assert_true(graph_eq(g, g2));
    assert_int_equal(tsl_graph_to_text(g2, NULL, &t2), TSL_STATUS_OK);
    if (strcmp(t1, t2))
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", t1, t2);
    assert_string_equal(t1, t2);
    /* A clone prints identically too. */
    struct tsl_graph *g3;
    char *t3;
    assert_int_equal(tsl_graph_clone(g2, &g3), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_to_text(g3, NULL, &t3), TSL_STATUS_OK);
    assert_string_equal(t1, t3);
    free(t3);
    tsl_graph_destroy(g3);
    free(t2);
    tsl_graph_destroy(g2);
    return t1;
}

static struct tsl_graph *new_graph(const char *name)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create(name, &g), TSL_STATUS_OK);
    return g;
}

static struct tsl_value *add_dense(struct tsl_graph *g, const char *name, enum tsl_dtype dt,
                                   int32_t rank, const int64_t *dims, const void *data)
{
    struct tsl_type t = tsl_type_make(dt, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, data, &v), TSL_STATUS_OK);
    return v;
}

static float f32_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_dense_all_dtypes(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("dtypes");
    float f[] = {1.0f, 2.5f, -0.0f, INFINITY, -INFINITY, f32_bits(0x7fc00000),
                 f32_bits(0xffc00000), f32_bits(0x7fa00001), f32_bits(1), 0.1f,
                 3.4028235e38f, 1e-38f};
    add_dense(g, "f", TSL_DTYPE_F32, 1, (int64_t[]){12}, f);
    double d[] = {0.1, -1e300, 5e-324, NAN, -0.0};
    add_dense(g, "d", TSL_DTYPE_F64, 1, (int64_t[]){5}, d);
    uint16_t h[] = {0x3c00, 0x7e00, 0x7d01, 0xfc00, 0x0001, 0x8000};
    add_dense(g, "h", TSL_DTYPE_F16, 1, (int64_t[]){6}, h);
    uint16_t bh[] = {0x3f80, 0x7fc0, 0x7f81, 0xc2f7};
    add_dense(g, "bh", TSL_DTYPE_BF16, 1, (int64_t[]){4}, bh);
    int64_t i64[] = {INT64_MIN, INT64_MAX, 0, -1};
    add_dense(g, "i64", TSL_DTYPE_I64, 2, (int64_t[]){2, 2}, i64);
    uint64_t u64[] = {UINT64_MAX, 0};
    add_dense(g, "u64", TSL_DTYPE_U64, 1, (int64_t[]){2}, u64);
    int32_t i32[] = {INT32_MIN, INT32_MAX};
    add_dense(g, "i32", TSL_DTYPE_I32, 1, (int64_t[]){2}, i32);
    uint32_t u32[] = {UINT32_MAX};
    add_dense(g, "u32", TSL_DTYPE_U32, 1, (int64_t[]){1}, u32);
    int16_t i16[] = {-32768, 7};
    add_dense(g, "i16", TSL_DTYPE_I16, 1, (int64_t[]){2}, i16);
    uint16_t u16[] = {65535};
    add_dense(g, "u16", TSL_DTYPE_U16, 1, (int64_t[]){1}, u16);
    int8_t i8[] = {-128, 127, 0};
    add_dense(g, "i8", TSL_DTYPE_I8, 1, (int64_t[]){3}, i8);
    uint8_t u8[] = {255, 0};
    add_dense(g, "u8", TSL_DTYPE_U8, 1, (int64_t[]){2}, u8);
    uint8_t b[] = {1, 0, 1};
    add_dense(g, "b", TSL_DTYPE_BOOL, 1, (int64_t[]){3}, b);
    uint8_t i4[] = {0x8f, 0x07}; /* -1, -8, 7 (odd count, high nibble 0) */
    add_dense(g, "i4", TSL_DTYPE_I4, 1, (int64_t[]){3}, i4);
    uint8_t u4[] = {0xf0};
    add_dense(g, "u4", TSL_DTYPE_U4, 1, (int64_t[]){2}, u4);
    uint8_t i2[] = {0x4e, 0x02}; /* -2, -1, 0, 1, -2 */
    add_dense(g, "i2", TSL_DTYPE_I2, 1, (int64_t[]){5}, i2);
    add_dense(g, "scalar", TSL_DTYPE_F32, 0, NULL, (float[]){42.0f});
    add_dense(g, "empty", TSL_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL);
    float big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (float)i * 0.37f;
    add_dense(g, "big", TSL_DTYPE_F32, 2, (int64_t[]){10, 10}, big);
    char *t = roundtrip(g);
    assert_non_null(strstr(t, "const %f : f32[12] = dense [1, 2.5, -0, inf, -inf, nan, -nan, "
                              "nan:0x7fa00001, 1e-45, 0.1, 3.4028235e+38, 1e-38]"));
    assert_non_null(strstr(t, "dense [1, nan, nan:0x7d01, -inf, 5.9604645e-08, -0]"));
    assert_non_null(strstr(t, "const %u64 : u64[2] = dense [18446744073709551615, 0]"));
    assert_non_null(strstr(t, "const %i4 : i4[3] = dense [-1, -8, 7]"));
    assert_non_null(strstr(t, "const %i2 : i2[5] = dense [-2, -1, 0, 1, -2]"));
    assert_non_null(strstr(t, "const %scalar : f32[] = dense [42]"));
    assert_non_null(strstr(t, "const %empty : f32[0,3] = dense []"));
    assert_non_null(strstr(t, "const %big : f32[10,10] = dense x\"00000000"));
    free(t);
    tsl_graph_destroy(g);
}

static void test_encodings(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("enc");
    /* masked */
    struct tsl_const *c = tsl_const_new();
    c->encoding = TSL_ENC_MASKED;
    c->data_bytes = 16;
    c->data = calloc(1, 16);
    ((float *)c->data)[1] = 3.0f;
    c->mask_bytes = 1;
    c->mask = calloc(1, 1);
    c->mask[0] = 0x02;
    struct tsl_type t4 = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){4});
    assert_int_equal(tsl_graph_add_constant_take(g, "m", &t4, c, NULL), TSL_STATUS_OK);
    /* sparse, with a filler entry */
    c = tsl_const_new();
    c->encoding = TSL_ENC_SPARSE;
    c->nnz = 3;
    c->data_bytes = 3;
    c->data = malloc(3);
    memcpy(c->data, (int8_t[]){5, 0, -7}, 3);
    c->gaps = malloc(3);
    memcpy(c->gaps, (uint8_t[]){0, 255, 3}, 3);
    struct tsl_type ts = tsl_type_make(TSL_DTYPE_I8, 1, (int64_t[]){300});
    assert_int_equal(tsl_graph_add_constant_take(g, "s", &ts, c, NULL), TSL_STATUS_OK);
    /* codebook with scales and mask */
    c = tsl_const_new();
    c->encoding = TSL_ENC_CODEBOOK;
    c->index_bits = 2;
    c->n_codes = 3;
    c->codebook = malloc(12);
    memcpy(c->codebook, (float[]){-0.5f, 0.0f, 0.25f}, 12);
    c->indices_bytes = 2; /* 6 elements * 2 bits */
    c->indices = malloc(2);
    memcpy(c->indices, (uint8_t[]){0x24, 0x09}, 2);
    c->axis = 0;
    c->n_channels = 2;
    c->channel_scale = malloc(8);
    memcpy(c->channel_scale, (float[]){1.0f, 0.125f}, 8);
    c->mask_bytes = 1;
    c->mask = malloc(1);
    c->mask[0] = 0x3b;
    struct tsl_type tc = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){2, 3});
    assert_int_equal(tsl_graph_add_constant_take(g, "cb", &tc, c, NULL), TSL_STATUS_OK);
    /* codebook without scales or mask, large index payload */
    c = tsl_const_new();
    c->encoding = TSL_ENC_CODEBOOK;
    c->index_bits = 8;
    c->n_codes = 1;
    c->codebook = malloc(4);
    c->codebook[0] = 2.0f;
    c->indices_bytes = 100;
    c->indices = calloc(1, 100);
    c->axis = 1;
    struct tsl_type tc2 = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){10, 10});
    assert_int_equal(tsl_graph_add_constant_take(g, "cb2", &tc2, c, NULL), TSL_STATUS_OK);
    char *t = roundtrip(g);
    assert_non_null(strstr(t, "const %m : f32[4] = masked [0, 3, 0, 0] mask x\"02\"\n"));
    assert_non_null(strstr(t, "const %s : i8[300] = sparse nnz 3 [5, 0, -7] gaps [0, 255, 3]\n"));
    assert_non_null(strstr(t, "const %cb : f32[2,3] = codebook bits 2 codes [-0.5, 0, 0.25] "
                              "indices x\"2409\" axis 0 scales [1, 0.125] mask x\"3b\"\n"));
    assert_non_null(strstr(t, "const %cb2 : f32[10,10] = codebook bits 8 codes [2] indices "
                              "x\"0000"));
    /* The decoded payloads survive too. */
    struct tsl_graph *g2;
    assert_int_equal(tsl_graph_from_text(t, strlen(t), "x", &g2, NULL), TSL_STATUS_OK);
    void *d1, *d2;
    assert_int_equal(tsl_const_decode(tsl_graph_find_value(g2, "cb"), &d2, NULL), TSL_STATUS_OK);
    assert_int_equal(tsl_const_decode(tsl_graph_find_value(g, "cb"), &d1, NULL), TSL_STATUS_OK);
    assert_memory_equal(d1, d2, 24);
    free(d1);
    free(d2);
    tsl_graph_destroy(g2);
    free(t);
    tsl_graph_destroy(g);
}

static void set_quant(struct tsl_value *v, enum tsl_quant_kind k, int32_t axis, uint32_t n)
{
    v->quant.kind = k;
    v->quant.axis = axis;
    v->quant.n = n;
    if (k == TSL_QUANT_POW2) {
        v->quant.exponent = malloc(n * 4);
        for (uint32_t i = 0; i < n; i++)
            v->quant.exponent[i] = -(int32_t)i - 3;
    } else {
        v->quant.scale = malloc(n * 4);
        v->quant.zero_point = malloc(n * 4);
        for (uint32_t i = 0; i < n; i++) {
            v->quant.scale[i] = 0.5f / (float)(i + 1);
            v->quant.zero_point[i] = (int32_t)i - 1;
        }
    }
}

static void test_quant_symbols_unknown(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("q");
    uint32_t n_sym, w_sym;
    assert_int_equal(tsl_graph_symbol(g, "N", &n_sym), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_symbol(g, "W", &w_sym), TSL_STATUS_OK);
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_I8, 4,
                                       (int64_t[]){TSL_DIM_SYM(n_sym), 3, 224, TSL_DIM_SYM(w_sym)});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &tx, &x), TSL_STATUS_OK);
    set_quant(x, TSL_QUANT_POW2, -1, 1);
    struct tsl_value *w = add_dense(g, "w", TSL_DTYPE_I8, 1, (int64_t[]){3},
                                    (int8_t[]){1, -2, 3});
    set_quant(w, TSL_QUANT_AFFINE, 0, 3);
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_MUL, "mul", 2, (struct tsl_value *[]){x, w}, 1,
                                        &n, (const char *[]){"y"}),
                     TSL_STATUS_OK);
    n->outputs[0]->type = tx;
    set_quant(n->outputs[0], TSL_QUANT_AFFINE, -1, 1);
    struct tsl_node *r;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, NULL, 1, &n->outputs[0], 1, &r, NULL),
                     TSL_STATUS_OK); /* unnamed node, unknown type */
    struct tsl_node *s;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_SIGMOID, "s", 1, &r->outputs[0], 1, &s, NULL),
                     TSL_STATUS_OK);
    s->outputs[0]->type.dtype = TSL_DTYPE_F32; /* known dtype, unknown rank */
    struct tsl_node *e;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_EXP, "e", 1, &s->outputs[0], 1, &e, NULL),
                     TSL_STATUS_OK);
    e->outputs[0]->type = tsl_type_make(TSL_DTYPE_UNDEF, 2, (int64_t[]){TSL_DIM_SYM(w_sym), 0});
    tsl_graph_add_output(g, e->outputs[0]);
    g->source_opset = 13;
    g->producer_name = tsl_strdup("");
    char *t = roundtrip(g);
    assert_non_null(strstr(t, "graph \"q\" opset 13 producer \"\" {\n  symbols N, W\n"));
    assert_non_null(strstr(t, "input %x : i8[N,3,224,W] quant pow2 axis -1 exp [-3]\n"));
    assert_non_null(strstr(t, "const %w : i8[3] quant affine axis 0 scale [0.5, 0.25, "
                              "0.16666667] zero [-1, 0, 1] = dense [1, -2, 3]\n"));
    assert_non_null(strstr(t, "%Relu_out0 : ?[*] = Relu (%y)\n"));
    assert_non_null(strstr(t, "%s_out0 : f32[*] = Sigmoid \"s\" (%Relu_out0)\n"));
    assert_non_null(strstr(t, "%e_out0 : ?[W,0] = Exp \"e\" (%s_out0)\n"));
    free(t);
    tsl_graph_destroy(g);
}

static void test_odd_names(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("my \"graph\"\\");
    uint32_t k;
    assert_int_equal(tsl_graph_symbol(g, "batch size", &k), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_symbol(g, "3d", &k), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_symbol(g, "_ok.sym", &k), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 3,
                                      (int64_t[]){TSL_DIM_SYM(0), TSL_DIM_SYM(1), TSL_DIM_SYM(2)});
    const char *names[] = {"/model/conv1/Conv_output_0:0", "a b", "q\"uote", "back\\slash",
                           "new\nline\ttab\x01", "caf\xc3\xa9", "", "_", "0", "x.y_z"};
    struct tsl_value *prev = NULL;
    for (size_t i = 0; i < TSL_ARRAY_LEN(names); i++) {
        if (!prev) {
            assert_int_equal(tsl_graph_add_input(g, names[i], &t, &prev), TSL_STATUS_OK);
            continue;
        }
        struct tsl_node *n;
        char nn[32];
        snprintf(nn, sizeof nn, "node \"%zu\"/x", i);
        assert_int_equal(tsl_graph_add_node(g, TSL_OP_NEG, nn, 1, &prev, 1, &n, &names[i]),
                         TSL_STATUS_OK);
        n->outputs[0]->type = t;
        prev = n->outputs[0];
    }
    tsl_graph_add_output(g, prev);
    char *text = roundtrip(g);
    assert_non_null(strstr(text, "graph \"my \\\"graph\\\"\\\\\" opset 0 {\n"));
    assert_non_null(strstr(text, "symbols \"batch size\", \"3d\", _ok.sym\n"));
    assert_non_null(strstr(text, "input %\"/model/conv1/Conv_output_0:0\" : "
                                 "f32[\"batch size\",\"3d\",_ok.sym]\n"));
    assert_non_null(strstr(text, "%\"new\\nline\\ttab\\x01\""));
    assert_non_null(strstr(text, "%\"caf\xc3\xa9\""));
    assert_non_null(strstr(text, "%\"\" : "));
    assert_non_null(strstr(text, "%_ : "));
    assert_non_null(strstr(text, "%0 : "));
    assert_non_null(strstr(text, "= Neg \"node \\\"9\\\"/x\" (%0)"));
    free(text);
    tsl_graph_destroy(g);
}

static void test_attrs_and_inputs(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("attrs");
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){1, 3, 8, 8});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    float wd[54] = {0};
    struct tsl_value *w = add_dense(g, "w", TSL_DTYPE_F32, 4, (int64_t[]){2, 3, 3, 3}, wd);
    struct tsl_node *conv;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONV, "conv1", 3,
                                        (struct tsl_value *[]){x, w, NULL}, 1, &conv, NULL),
                     TSL_STATUS_OK);
    conv->attrs.conv.auto_pad = TSL_auto_pad_SAME_UPPER;
    conv->attrs.conv.group = 1;
    conv->attrs.conv.dilations = (struct tsl_ints){2, {1, 1}};
    conv->attrs.conv.pads = (struct tsl_ints){4, {-1, 0, INT64_MAX, INT64_MIN}};
    struct tsl_value *c = conv->outputs[0];
    struct tsl_node *gemm, *cast, *cos1, *cos2, *cos3, *rs, *clip, *topk, *split;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_GEMM, "gemm", 2,
                                        (struct tsl_value *[]){c, w}, 1, &gemm, NULL),
                     TSL_STATUS_OK);
    gemm->attrs.gemm.alpha = f32_bits(0x7fc00123);
    gemm->attrs.gemm.beta = -0.0f;
    gemm->attrs.gemm.transB = 1;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CAST, "cast", 1, &c, 1, &cast, NULL),
                     TSL_STATUS_OK);
    cast->attrs.cast.to = TSL_DTYPE_I4;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONSTANT_OF_SHAPE, "cos1", 1, &c, 1, &cos1,
                                        NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONSTANT_OF_SHAPE, "cos2", 1, &c, 1, &cos2,
                                        NULL),
                     TSL_STATUS_OK);
    cos2->attrs.constant_of_shape.value = (struct tsl_scalar){TSL_DTYPE_F64, 0.1, 0};
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONSTANT_OF_SHAPE, "cos3", 1, &c, 1, &cos3,
                                        NULL),
                     TSL_STATUS_OK);
    cos3->attrs.constant_of_shape.value = (struct tsl_scalar){TSL_DTYPE_I64, 0, INT64_MIN};
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_RESIZE, "rs", 4,
                                        (struct tsl_value *[]){c, NULL, NULL, w}, 1, &rs, NULL),
                     TSL_STATUS_OK);
    rs->attrs.resize.mode = TSL_resize_mode_LINEAR;
    rs->attrs.resize.coordinate_transformation_mode = TSL_coord_mode_TF_HALF_PIXEL_FOR_NN;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_CLIP, "clip", 3,
                                        (struct tsl_value *[]){c, NULL, NULL}, 1, &clip, NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_TOPK, "topk", 2,
                                        (struct tsl_value *[]){c, w}, 2, &topk,
                                        (const char *[]){"vals", "idx"}),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_SPLIT, "split", 1, &c, 3, &split, NULL),
                     TSL_STATUS_OK);
    split->attrs.split.split = (struct tsl_ints){3, {1, 1, 1}};
    tsl_graph_add_output(g, topk->outputs[1]);
    tsl_graph_add_output(g, topk->outputs[1]);
    tsl_graph_add_output(g, x);
    tsl_graph_add_output(g, w);
    char *text = roundtrip(g);
    assert_non_null(strstr(text, "= Conv \"conv1\" (%x, %w, _) {auto_pad = SAME_UPPER, "
                                 "dilations = [1, 1], group = 1, kernel_shape = [], pads = [-1, 0, "
                                 "9223372036854775807, -9223372036854775808], strides = []}\n"));
    assert_non_null(strstr(text, "{alpha = nan:0x7fc00123, beta = -0, transA = 0, transB = 1}"));
    assert_non_null(strstr(text, "= Cast \"cast\" (%conv1_out0) {to = i4}\n"));
    assert_non_null(strstr(text, "(%conv1_out0) {value = none}\n"));
    assert_non_null(strstr(text, "(%conv1_out0) {value = f64 0.1}\n"));
    assert_non_null(strstr(text, "{value = i64 -9223372036854775808}\n"));
    assert_non_null(strstr(text, "= Resize \"rs\" (%conv1_out0, _, _, %w) "
                                 "{coordinate_transformation_mode = tf_half_pixel_for_nn, "
                                 "cubic_coeff_a = -0.75, exclude_outside = 0, "
                                 "extrapolation_value = 0, mode = linear, "
                                 "nearest_mode = round_prefer_floor}\n"));
    assert_non_null(strstr(text, "= Clip \"clip\" (%conv1_out0, _, _)\n"));
    assert_non_null(strstr(text, "%vals : ?[*], %idx : ?[*] = TopK \"topk\" (%conv1_out0, %w)"));
    assert_non_null(strstr(text, "output %idx, %idx, %x, %w\n}\n"));
    free(text);
    tsl_graph_destroy(g);
}

/* Every attribute kind with non-default values in every field. */
static void test_every_attr_kind(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("kinds");
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){4});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    for (int op = 0; op < TSL_OP_COUNT; op++) {
        const struct tsl_op_info *info = tsl_op_info((enum tsl_op)op);
        struct tsl_value *ins[16];
        for (uint32_t i = 0; i < info->min_inputs; i++)
            ins[i] = x;
        struct tsl_node *n;
        assert_int_equal(tsl_graph_add_node(g, (enum tsl_op)op, NULL, info->min_inputs, ins,
                                            info->min_outputs, &n, NULL),
                         TSL_STATUS_OK);
        size_t nf;
        const struct tsl_attr_field *f = tsl_attr_fields(info->attr_kind, &nf);
        for (size_t i = 0; i < nf; i++) {
            char *p = (char *)&n->attrs + f[i].offset;
            switch (f[i].type) {
            case TSL_ATTR_T_INT: *(int64_t *)p = -7 - (int64_t)i; break;
            case TSL_ATTR_T_FLOAT: *(float *)p = 0.3f + (float)i; break;
            case TSL_ATTR_T_INTS: *(struct tsl_ints *)p = (struct tsl_ints){2, {5, -6}}; break;
            case TSL_ATTR_T_FLOATS:
                *(struct tsl_floats *)p = (struct tsl_floats){2, {0.5f, -1e-7f}};
                break;
            case TSL_ATTR_T_ENUM: *(int *)p = (int)f[i].n_enum - 1; break;
            case TSL_ATTR_T_DTYPE: *(enum tsl_dtype *)p = TSL_DTYPE_BF16; break;
            case TSL_ATTR_T_SCALAR:
                *(struct tsl_scalar *)p = (struct tsl_scalar){TSL_DTYPE_F32, -2.5, 0};
                break;
            }
        }
        tsl_graph_add_output(g, n->outputs[0]);
    }
    free(roundtrip(g));
    tsl_graph_destroy(g);
}

static void test_elide_and_dot(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph("dot \"g\"");
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){32});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "in\"put\\", &t, &x), TSL_STATUS_OK);
    float big[32] = {0};
    struct tsl_value *w = add_dense(g, "w", TSL_DTYPE_F32, 1, (int64_t[]){32}, big);
    struct tsl_value *s = add_dense(g, "s", TSL_DTYPE_F32, 1, (int64_t[]){2}, big);
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_ADD, "add\nnode", 2,
                                        (struct tsl_value *[]){x, w}, 1, &n, NULL),
                     TSL_STATUS_OK);
    n->outputs[0]->type = t;
    tsl_graph_add_output(g, n->outputs[0]);
    tsl_graph_add_output(g, s);
    struct tsl_print_options opt = {.elide_constants = 1};
    char *text;
    assert_int_equal(tsl_graph_to_text(g, &opt, &text), TSL_STATUS_OK);
    assert_non_null(strstr(text, "const %w : f32[32] = dense <32 x f32 elided>\n"));
    assert_non_null(strstr(text, "const %s : f32[2] = dense [0, 0]\n"));
    free(text);
    char *dot;
    assert_int_equal(tsl_graph_to_dot(g, &dot), TSL_STATUS_OK);
    assert_non_null(strstr(dot, "digraph \"dot \\\"g\\\"\" {\n"));
    assert_non_null(strstr(dot, "label=\"input in\\\"put\\\\\\nf32[32]\""));
    assert_non_null(strstr(dot, "label=\"w\\nf32[32] dense\""));
    assert_non_null(strstr(dot, "label=\"Add\\nadd\\nnode\""));
    assert_non_null(strstr(dot, "-> n0 [label=\"w : f32[32]\"];\n"));
    assert_non_null(strstr(dot, "n0 -> out0 [label=\"add\\nnode_out0 : f32[32]\"];\n"));
    assert_non_null(strstr(dot, " -> out1 [label=\"s : f32[2]\"];\n"));
    assert_null(strstr(dot, "0, 0"));
    free(dot);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_all_dtypes),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_quant_symbols_unknown),
        cmocka_unit_test(test_odd_names),
        cmocka_unit_test(test_attrs_and_inputs),
        cmocka_unit_test(test_every_attr_kind),
        cmocka_unit_test(test_elide_and_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
