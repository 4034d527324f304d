/* test_export.c - unit tests of the ONNX exporter on small graphs built with
 * the graph API: export, re-import, and compare the IR text of the built
 * graph (after shape inference) with the re-imported one.  Covers every
 * attribute type attrs.def uses (INT, FLOAT, INTS, ENUM, DTYPE, SCALAR;
 * no op has a FLOATS field yet), symbolic dims, the opset-17 input forms
 * (Squeeze/Unsqueeze/Split/ReduceSum), duplicate and pass-through outputs,
 * decoded codebook/sparse/masked and widened i4 constants, the rule for
 * attributes ONNX lacks, and the atomic file write.
 *
 * The exported models are also saved under
 * $TESSEL_BINARY_DIR/tests/onnx_roundtrip/small/ for check_small.py, which
 * runs the ONNX checker (and ONNX Runtime when installed) on them. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tessel/onnx.h"
#include "tessel/shape.h"
#include "tessel/text.h"
#include "tessel/util.h"

/* ---- helpers ------------------------------------------------------------ */

static void fail_with_diag(const char *what, struct tsl_diag *d)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    fail_msg("%s: %s: %s", what, e ? e->where : "?", e ? e->message : "no diagnostic");
}

static char *small_path(const char *name)
{
    const char *bin = getenv("TESSEL_BINARY_DIR");
    if (!bin)
        return NULL;
    char *dir = tsl_asprintf("%s/tests/onnx_roundtrip/small", bin);
    assert_non_null(dir);
    mkdir(dir, 0777); /* may exist */
    char *p = tsl_asprintf("%s/%s.onnx", dir, name);
    free(dir);
    return p;
}

static struct tsl_graph *import_buf(const uint8_t *buf, size_t len)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g = NULL;
    if (tsl_onnx_import_buffer(buf, len, NULL, "exported", NULL, &g, &d) != TSL_STATUS_OK)
        fail_with_diag("re-import", &d);
    tsl_diag_fini(&d);
    return g;
}

/* Export g (saving a copy as small/<name>.onnx) and import the result. */
static struct tsl_graph *export_import(const struct tsl_graph *g, const char *name)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (tsl_onnx_export_buffer(g, &buf, &len, &d) != TSL_STATUS_OK)
        fail_with_diag("export", &d);
    char *path = small_path(name);
    if (path && tsl_onnx_export_file(g, path, &d) != TSL_STATUS_OK)
        fail_with_diag("export_file", &d);
    free(path);
    struct tsl_graph *g2 = import_buf(buf, len);
    free(buf);
    tsl_diag_fini(&d);
    /* the header changes by design: opset 17, producer "tessel" */
    assert_int_equal(g2->source_opset, 17);
    assert_non_null(g2->producer_name);
    assert_string_equal(g2->producer_name, "tessel");
    g2->source_opset = g->source_opset;
    free(g2->producer_name);
    g2->producer_name = g->producer_name ? tsl_strdup(g->producer_name) : NULL;
    return g2;
}

static char *text_of(const struct tsl_graph *g)
{
    char *t = NULL;
    assert_int_equal(tsl_graph_to_text(g, NULL, &t), TSL_STATUS_OK);
    return t;
}

static void infer(struct tsl_graph *g)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    if (tsl_infer_shapes(g, &d) != TSL_STATUS_OK)
        fail_with_diag("shape inference", &d);
    tsl_diag_fini(&d);
}

/* Fail with the first differing line when a != b (cmocka truncates long
 * strings). */
static void assert_same_text(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return;
    long line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    fail_msg("IR text differs at line %ld:\n  built:       %.*s\n  re-imported: %.*s", line,
             na > 200 ? 200 : na, la, nb > 200 ? 200 : nb, lb);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined again (text is modified). */
static char *sorted_lines(char *text)
{
    size_t n = 0, len = strlen(text);
    char **lines = malloc((len + 1) * sizeof *lines);
    char *out = malloc(len + 2);
    assert_non_null(lines);
    assert_non_null(out);
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n"))
        lines[n++] = p;
    qsort(lines, n, sizeof *lines, cmp_line);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(out + o, lines[i], l);
        o += l;
        out[o++] = '\n';
    }
    out[o] = 0;
    free(lines);
    return out;
}

/* Infer shapes on g, export it, re-import it: g2.  import(export(g2)) must
 * print exactly g2's text (the round-trip property on an imported graph).
 * The importer orders nodes by its own topological sort (idempotent, but not
 * the API's insertion order), so g and g2 must print the same lines up to
 * their order. */
static void check_roundtrip(struct tsl_graph *g, const char *name)
{
    infer(g);
    struct tsl_graph *g2 = export_import(g, name);
    char *name2 = tsl_asprintf("%s_again", name);
    struct tsl_graph *g3 = export_import(g2, name2);
    char *a = text_of(g2), *b = text_of(g3);
    assert_same_text(a, b);
    free(a), free(b), free(name2);
    tsl_graph_destroy(g3);
    /* The opset-17 axes/split initializers are folded back into attributes
     * on import; the importer may keep them as unused constants.  Those are
     * not part of g: drop them before comparing with g. */
    for (uint32_t i = g2->n_values; i-- > 0;) {
        struct tsl_value *v = g2->values[i];
        if (v->constant && !v->n_uses && !v->n_output_refs && !tsl_graph_find_value(g, v->name))
            assert_int_equal(tsl_graph_erase_value(g2, v), TSL_STATUS_OK);
    }
    a = text_of(g);
    b = text_of(g2);
    char *sa = sorted_lines(a), *sb = sorted_lines(b);
    assert_same_text(sa, sb);
    free(a), free(b), free(sa), free(sb);
    tsl_graph_destroy(g2);
}

static struct tsl_node *node(struct tsl_graph *g, enum tsl_op op, const char *name, uint32_t n_in,
                             struct tsl_value *const *ins, uint32_t n_out)
{
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, name, n_in, ins, n_out, &n, NULL), TSL_STATUS_OK);
    return n;
}

static struct tsl_value *f32_const(struct tsl_graph *g, const char *name, int32_t rank,
                                   const int64_t *dims, float scale)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    int64_t numel;
    assert_true(tsl_shape_numel(&t.shape, &numel));
    float *d = malloc((size_t)numel * sizeof *d);
    assert_non_null(d);
    for (int64_t i = 0; i < numel; i++)
        d[i] = scale * (float)((i * 37) % 11 - 5);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, d, &v), TSL_STATUS_OK);
    free(d);
    return v;
}

static struct tsl_value *i64_const(struct tsl_graph *g, const char *name, uint32_t n,
                                   const int64_t *vals)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_I64, 1, (int64_t[]){n});
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, vals, &v), TSL_STATUS_OK);
    return v;
}

static void set_ints(struct tsl_ints *l, uint32_t n, const int64_t *v)
{
    l->n = n;
    memcpy(l->v, v, n * sizeof *v);
}

static struct tsl_value *input_nchw(struct tsl_graph *g, const char *name, int64_t c, int64_t h,
                                    int64_t w)
{
    uint32_t sym;
    assert_int_equal(tsl_graph_symbol(g, "N", &sym), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){TSL_DIM_SYM(sym), c, h, w});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, name, &t, &x), TSL_STATUS_OK);
    return x;
}

/* ---- attribute kinds ---------------------------------------------------- */

static void test_export_attribute_kinds(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("attrs", &g), TSL_STATUS_OK);
    struct tsl_value *x = input_nchw(g, "x", 4, 8, 8);
    struct tsl_value *w = f32_const(g, "w", 4, (int64_t[]){4, 4, 3, 3}, 0.01f);

    struct tsl_node *conv = node(g, TSL_OP_CONV, "conv", 2, (struct tsl_value *[]){x, w}, 1);
    set_ints(&conv->attrs.conv.pads, 4, (int64_t[]){1, 1, 1, 1});
    set_ints(&conv->attrs.conv.kernel_shape, 2, (int64_t[]){3, 3});
    set_ints(&conv->attrs.conv.strides, 2, (int64_t[]){1, 1});
    struct tsl_node *lr = node(g, TSL_OP_LEAKY_RELU, "lrelu", 1, conv->outputs, 1);
    lr->attrs.alpha_beta.alpha = 0.2f;
    struct tsl_node *hs = node(g, TSL_OP_HARD_SIGMOID, "hsig", 1, lr->outputs, 1);
    hs->attrs.alpha_beta.alpha = 0.25f;
    hs->attrs.alpha_beta.beta = 0.5f;
    struct tsl_node *se = node(g, TSL_OP_SELU, "selu", 1, hs->outputs, 1);
    se->attrs.alpha_beta.alpha = 1.5f;
    se->attrs.alpha_beta.beta = 1.25f;
    struct tsl_node *mp = node(g, TSL_OP_MAX_POOL, "maxpool", 1, se->outputs, 1);
    set_ints(&mp->attrs.pool.kernel_shape, 2, (int64_t[]){2, 2});
    set_ints(&mp->attrs.pool.strides, 2, (int64_t[]){2, 2});
    mp->attrs.pool.ceil_mode = 1;
    struct tsl_node *d2s = node(g, TSL_OP_DEPTH_TO_SPACE, "d2s", 1, mp->outputs, 1);
    d2s->attrs.depth_to_space.blocksize = 2;
    d2s->attrs.depth_to_space.mode = TSL_dts_mode_CRD;
    struct tsl_node *ap = node(g, TSL_OP_AVERAGE_POOL, "avgpool", 1, d2s->outputs, 1);
    set_ints(&ap->attrs.pool.kernel_shape, 2, (int64_t[]){3, 3});
    ap->attrs.pool.auto_pad = TSL_auto_pad_SAME_UPPER;
    ap->attrs.pool.count_include_pad = 1;
    struct tsl_node *fl = node(g, TSL_OP_FLATTEN, "flatten", 1, ap->outputs, 1);
    fl->attrs.axis.axis = 1;
    struct tsl_value *wg = f32_const(g, "wg", 2, (int64_t[]){64, 10}, 0.1f);
    struct tsl_value *bg = f32_const(g, "bg", 1, (int64_t[]){10}, 1.0f);
    struct tsl_node *gm =
        node(g, TSL_OP_GEMM, "gemm", 3, (struct tsl_value *[]){fl->outputs[0], wg, bg}, 1);
    gm->attrs.gemm.alpha = 0.5f;
    struct tsl_node *sm = node(g, TSL_OP_SOFTMAX, "softmax", 1, gm->outputs, 1);
    sm->attrs.axis.axis = 0; /* IR default, not ONNX's: must be written */
    struct tsl_node *ca = node(g, TSL_OP_CAST, "cast", 1, sm->outputs, 1);
    ca->attrs.cast.to = TSL_DTYPE_F16;
    struct tsl_node *sh = node(g, TSL_OP_SHAPE, "shape", 1, &x, 1);
    sh->attrs.shape.start = 1;
    struct tsl_node *cs = node(g, TSL_OP_CONSTANT_OF_SHAPE, "cos", 1, sh->outputs, 1);
    cs->attrs.constant_of_shape.value.dtype = TSL_DTYPE_I64;
    cs->attrs.constant_of_shape.value.i = -7;
    struct tsl_value *scales = f32_const(g, "scales", 1, (int64_t[]){4}, 0.0f);
    {
        float s[4] = {1, 1, 2, 2};
        memcpy(scales->constant->data, s, sizeof s);
    }
    struct tsl_node *rz =
        node(g, TSL_OP_RESIZE, "resize", 3, (struct tsl_value *[]){x, NULL, scales}, 1);
    rz->attrs.resize.mode = TSL_resize_mode_LINEAR;
    rz->attrs.resize.coordinate_transformation_mode = TSL_coord_mode_ALIGN_CORNERS;
    rz->attrs.resize.cubic_coeff_a = -0.5f;
    struct tsl_node *tr = node(g, TSL_OP_TRANSPOSE, "transpose", 1, rz->outputs, 1);
    set_ints(&tr->attrs.transpose.perm, 4, (int64_t[]){0, 2, 3, 1});
    struct tsl_node *ps = node(
        g, TSL_OP_PAD, "pad", 2,
        (struct tsl_value *[]){x, i64_const(g, "pads", 8, (int64_t[]){0, 0, 1, 1, 0, 0, 1, 1})}, 1);
    ps->attrs.pad.mode = TSL_pad_mode_REFLECT;
    assert_int_equal(tsl_graph_add_output(g, ca->outputs[0]), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, cs->outputs[0]), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, tr->outputs[0]), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, ps->outputs[0]), TSL_STATUS_OK);
    check_roundtrip(g, "attrs");
    tsl_graph_destroy(g);
}

/* ---- opset-17 input forms ----------------------------------------------- */

static void test_export_opset17_input_forms(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("inputs17", &g), TSL_STATUS_OK);
    struct tsl_value *x = input_nchw(g, "x", 1, 6, 1);
    /* a graph value named like the exporter's first choice for sq's axes */
    struct tsl_value *clash = f32_const(g, "sq_out0_axes", 1, (int64_t[]){1}, 1.0f);
    struct tsl_node *sq = node(g, TSL_OP_SQUEEZE, "sq", 1, &x, 1);
    set_ints(&sq->attrs.axes.axes, 2, (int64_t[]){1, 3});
    struct tsl_node *us = node(g, TSL_OP_UNSQUEEZE, "us", 1, sq->outputs, 1);
    set_ints(&us->attrs.axes.axes, 2, (int64_t[]){0, 3});
    struct tsl_node *sp = node(g, TSL_OP_SPLIT, "split", 1, us->outputs, 2);
    sp->attrs.split.axis = 2;
    set_ints(&sp->attrs.split.split, 2, (int64_t[]){2, 4});
    struct tsl_node *eq = node(g, TSL_OP_SPLIT, "split_eq", 1, &sp->outputs[1], 2);
    eq->attrs.split.axis = 2; /* no sizes: equal parts, input left out */
    struct tsl_node *rs = node(g, TSL_OP_REDUCE_SUM, "rsum", 1, sp->outputs, 1);
    set_ints(&rs->attrs.reduce.axes, 1, (int64_t[]){2});
    rs->attrs.reduce.keepdims = 0;
    struct tsl_node *ra = node(g, TSL_OP_REDUCE_SUM, "rsum_all", 1, &eq->outputs[0], 1);
    (void)ra; /* empty axes: reduce everything, axes input left out */
    struct tsl_node *rm = node(g, TSL_OP_REDUCE_MEAN, "rmean", 1, &eq->outputs[1], 1);
    set_ints(&rm->attrs.reduce.axes, 2, (int64_t[]){-2, 3});
    struct tsl_node *add =
        node(g, TSL_OP_ADD, "add", 2, (struct tsl_value *[]){rm->outputs[0], clash}, 1);
    assert_int_equal(tsl_graph_add_output(g, rs->outputs[0]), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, ra->outputs[0]), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, add->outputs[0]), TSL_STATUS_OK);
    check_roundtrip(g, "inputs17");
    tsl_graph_destroy(g);
}

/* ---- outputs that need Identity nodes ----------------------------------- */

static void test_export_duplicate_and_passthrough_outputs(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("dups", &g), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){2, 3});
    struct tsl_value *x, *c = f32_const(g, "c", 1, (int64_t[]){3}, 0.5f);
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    struct tsl_node *r;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, "relu", 1, &x, 1, &r,
                                        (const char *[]){"y"}),
                     TSL_STATUS_OK);
    struct tsl_value *outs[4] = {r->outputs[0], r->outputs[0], x, c};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsl_graph_add_output(g, outs[i]), TSL_STATUS_OK);
    infer(g);
    struct tsl_graph *g2 = export_import(g, "dups");
    assert_int_equal(g2->n_outputs, 4);
    assert_string_equal(g2->outputs[0]->name, "y");
    assert_ptr_equal(g2->outputs[0]->producer->op, TSL_OP_RELU);
    for (int i = 1; i < 4; i++) {
        const struct tsl_value *o = g2->outputs[i];
        for (int j = 0; j < i; j++)
            assert_string_not_equal(o->name, g2->outputs[j]->name);
        assert_non_null(o->producer);
        assert_int_equal(o->producer->op, TSL_OP_IDENTITY);
        assert_string_equal(o->producer->inputs[0]->name, outs[i]->name);
        assert_true(tsl_shape_equal(&o->type.shape, &outs[i]->type.shape));
        assert_int_equal(o->type.dtype, TSL_DTYPE_F32);
    }
    /* once valid ONNX, a second trip is the identity */
    struct tsl_graph *g3 = export_import(g2, "dups2");
    char *a = text_of(g2), *b = text_of(g3);
    assert_same_text(a, b);
    free(a);
    free(b);
    tsl_graph_destroy(g3);
    tsl_graph_destroy(g2);
    tsl_graph_destroy(g);
}

/* ---- weight encodings --------------------------------------------------- */

static struct tsl_value *take_const(struct tsl_graph *g, const char *name, enum tsl_dtype dt,
                                    struct tsl_const *c)
{
    struct tsl_type t = tsl_type_make(dt, 2, (int64_t[]){2, 8});
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_constant_take(g, name, &t, c, &v), TSL_STATUS_OK);
    return v;
}

static void *dup_mem(const void *p, size_t n)
{
    void *q = malloc(n);
    assert_non_null(q);
    memcpy(q, p, n);
    return q;
}

static void test_export_decodes_encodings(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("enc", &g), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){2, 8});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);

    struct tsl_const *cb = tsl_const_new();
    assert_non_null(cb);
    cb->encoding = TSL_ENC_CODEBOOK;
    cb->codebook = dup_mem((float[]){0.0f, 0.5f, -1.0f, 2.0f}, 4 * sizeof(float));
    cb->n_codes = 4;
    cb->index_bits = 2;
    cb->indices = dup_mem((uint8_t[]){0xe4, 0x1b, 0x93, 0x6c}, 4);
    cb->indices_bytes = 4;
    cb->axis = 0;
    cb->n_channels = 2;
    cb->channel_scale = dup_mem((float[]){1.0f, 3.0f}, 2 * sizeof(float));
    cb->mask = dup_mem((uint8_t[]){0xff, 0xbf}, 2);
    cb->mask_bytes = 2;
    struct tsl_value *vcb = take_const(g, "w_codebook", TSL_DTYPE_F32, cb);

    struct tsl_const *sp = tsl_const_new();
    assert_non_null(sp);
    sp->encoding = TSL_ENC_SPARSE;
    sp->data = dup_mem((float[]){1.5f, -2.0f, 3.0f}, 3 * sizeof(float));
    sp->data_bytes = 3 * sizeof(float);
    sp->nnz = 3;
    sp->gaps = dup_mem((uint8_t[]){0, 4, 7}, 3);
    struct tsl_value *vsp = take_const(g, "w_sparse", TSL_DTYPE_F32, sp);

    struct tsl_const *mk = tsl_const_new();
    assert_non_null(mk);
    mk->encoding = TSL_ENC_MASKED;
    float dense[16];
    for (int i = 0; i < 16; i++)
        dense[i] = (i % 3 == 0) ? 0.0f : (float)i * 0.25f;
    mk->data = dup_mem(dense, sizeof dense);
    mk->data_bytes = sizeof dense;
    mk->mask = dup_mem((uint8_t[]){0xb6, 0x6d}, 2);
    mk->mask_bytes = 2;
    struct tsl_value *vmk = take_const(g, "w_masked", TSL_DTYPE_F32, mk);

    struct tsl_const *q4 = tsl_const_new();
    assert_non_null(q4);
    q4->encoding = TSL_ENC_DENSE;
    q4->data = dup_mem((uint8_t[]){0x8f, 0x17, 0x70, 0xf1, 0x2e, 0x9a, 0x05, 0xc3}, 8);
    q4->data_bytes = 8;
    struct tsl_value *v4 = take_const(g, "w_i4", TSL_DTYPE_I4, q4);

    struct tsl_node *a1 = node(g, TSL_OP_ADD, "a1", 2, (struct tsl_value *[]){x, vcb}, 1);
    struct tsl_node *a2 = node(g, TSL_OP_ADD, "a2", 2, (struct tsl_value *[]){a1->outputs[0], vsp}, 1);
    struct tsl_node *a3 = node(g, TSL_OP_ADD, "a3", 2, (struct tsl_value *[]){a2->outputs[0], vmk}, 1);
    struct tsl_node *c4 = node(g, TSL_OP_CAST, "c4", 1, &v4, 1);
    c4->attrs.cast.to = TSL_DTYPE_F32;
    struct tsl_node *a4 = node(g, TSL_OP_ADD, "a4", 2, (struct tsl_value *[]){a3->outputs[0], c4->outputs[0]}, 1);
    assert_int_equal(tsl_graph_add_output(g, a4->outputs[0]), TSL_STATUS_OK);
    infer(g);
    struct tsl_graph *g2 = export_import(g, "encodings");

    struct tsl_value *orig[4] = {vcb, vsp, vmk, v4};
    for (int k = 0; k < 4; k++) {
        const struct tsl_value *r = tsl_graph_find_value(g2, orig[k]->name);
        assert_non_null(r);
        assert_non_null(r->constant);
        assert_int_equal(r->constant->encoding, TSL_ENC_DENSE);
        assert_true(tsl_shape_equal(&r->type.shape, &orig[k]->type.shape));
        void *want;
        assert_int_equal(tsl_const_decode(orig[k], &want, NULL), TSL_STATUS_OK);
        if (orig[k]->type.dtype == TSL_DTYPE_I4) {
            assert_int_equal(r->type.dtype, TSL_DTYPE_I8); /* widened */
            for (int64_t i = 0; i < 16; i++)
                assert_int_equal(tsl_dense_get_i64(TSL_DTYPE_I8, r->constant->data, i),
                                 tsl_dense_get_i64(TSL_DTYPE_I4, want, i));
            assert_int_equal(tsl_dense_get_i64(TSL_DTYPE_I4, want, 0), -1); /* 0xf */
        } else {
            assert_int_equal(r->type.dtype, TSL_DTYPE_F32);
            assert_memory_equal(r->constant->data, want, 16 * sizeof(float));
        }
        free(want);
    }
    /* the decoded codebook constant is not all zero (the test could fail) */
    const float *cbd = tsl_graph_find_value(g2, "w_codebook")->constant->data;
    assert_true(cbd[1] == 0.5f && cbd[8 + 3] == -3.0f && cbd[14] == 0.0f);
    tsl_graph_destroy(g2);
    tsl_graph_destroy(g);
}

/* ---- errors ------------------------------------------------------------- */

static struct tsl_graph *relu_graph(void)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("relu", &g), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){4});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    struct tsl_node *r = node(g, TSL_OP_RELU, "relu", 1, &x, 1);
    assert_int_equal(tsl_graph_add_output(g, r->outputs[0]), TSL_STATUS_OK);
    infer(g);
    return g;
}

static void test_export_rejects_attribute_onnx_lacks(void **state)
{
    (void)state;
    struct tsl_graph *g = relu_graph();
    struct tsl_node *ap = node(g, TSL_OP_AVERAGE_POOL, "avg", 1, &g->inputs[0], 1);
    ap->attrs.pool.storage_order = 1; /* MaxPool only */
    struct tsl_diag d;
    tsl_diag_init(&d);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(tsl_onnx_export_buffer(g, &buf, &len, &d), TSL_STATUS_UNSUPPORTED);
    assert_null(buf);
    const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
    assert_non_null(e);
    assert_string_equal(e->where, "avg");
    assert_non_null(strstr(e->message, "storage_order"));
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_export_file_is_atomic(void **state)
{
    (void)state;
    struct tsl_graph *g = relu_graph();
    char dir[] = "/tmp/tsl_export_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct tsl_diag d;
    tsl_diag_init(&d);

    /* success: the file is complete and no temporary is left */
    char *ok = tsl_asprintf("%s/m.onnx", dir);
    char *ok_tmp = tsl_asprintf("%s.tmp.%ld", ok, (long)getpid());
    assert_int_equal(tsl_onnx_export_file(g, ok, &d), TSL_STATUS_OK);
    assert_true(exists(ok));
    assert_false(exists(ok_tmp));
    struct tsl_graph *g2 = NULL;
    assert_int_equal(tsl_onnx_import_file(ok, NULL, &g2, &d), TSL_STATUS_OK);
    assert_int_equal(g2->n_nodes, 1);
    tsl_graph_destroy(g2);

    /* rename fails (the target is a directory): the temporary is removed */
    char *sub = tsl_asprintf("%s/isdir", dir);
    char *sub_tmp = tsl_asprintf("%s.tmp.%ld", sub, (long)getpid());
    assert_int_equal(mkdir(sub, 0777), 0);
    assert_int_equal(tsl_onnx_export_file(g, sub, &d), TSL_STATUS_IO);
    assert_false(exists(sub_tmp));
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* the folder does not exist: nothing is created */
    char *missing = tsl_asprintf("%s/no/such/m.onnx", dir);
    assert_int_equal(tsl_onnx_export_file(g, missing, &d), TSL_STATUS_IO);
    assert_false(exists(missing));

    /* export itself fails: no file and no temporary */
    char *bad = tsl_asprintf("%s/bad.onnx", dir);
    char *bad_tmp = tsl_asprintf("%s.tmp.%ld", bad, (long)getpid());
    struct tsl_node *ca = node(g, TSL_OP_CAST, "to_i4", 1, &g->inputs[0], 1);
    ca->attrs.cast.to = TSL_DTYPE_I4; /* no ONNX opset-17 type code */
    assert_int_equal(tsl_onnx_export_file(g, bad, &d), TSL_STATUS_UNSUPPORTED);
    assert_false(exists(bad));
    assert_false(exists(bad_tmp));
    assert_true(d.n_errors >= 3);

    assert_int_equal(unlink(ok), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
    free(ok), free(ok_tmp), free(sub), free(sub_tmp), free(missing), free(bad), free(bad_tmp);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_attribute_kinds),
        cmocka_unit_test(test_export_opset17_input_forms),
        cmocka_unit_test(test_export_duplicate_and_passthrough_outputs),
        cmocka_unit_test(test_export_decodes_encodings),
        cmocka_unit_test(test_export_rejects_attribute_onnx_lacks),
        cmocka_unit_test(test_export_file_is_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
