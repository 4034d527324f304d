/* test_shape.c - shape/dtype inference for every op family, built with the
 * graph API: conv/pool windows (SAME_UPPER stride 2, dilation, ceil_mode,
 * depthwise, ConvTranspose output_padding), broadcasting with symbols,
 * Reshape 0/-1, the PP-OCR Shape->Slice->Concat->Reshape and
 * Shape->Gather->Unsqueeze->Concat chains, Squeeze/Unsqueeze negative axes,
 * Split, Slice, Resize, NonZero, dtype rules, and the table completeness.
 * Error cases are in test_shape_errors.c. */
#include "ir_shape/shape_test_util.h"
#include "shape/shape_internal.h"

static void test_table_covers_every_op(void **state)
{
    (void)state;
    for (int op = 0; op < TSL_OP_COUNT; op++) {
        if (!tsl_infer_fn_for((enum tsl_op)op))
            print_error("no shape rule for %s\n", tsl_op_name((enum tsl_op)op));
        assert_non_null(tsl_infer_fn_for((enum tsl_op)op));
    }
}

static struct tsl_node *conv(struct tsl_graph *g, struct tsl_value *x, int32_t wrank,
                             const int64_t *wdims)
{
    struct tsl_value *w = input(g, "w", TSL_DTYPE_F32, wrank, wdims);
    return add(g, TSL_OP_CONV, "c", 2, VALS(x, w), 1);
}

static void test_conv_same_upper_stride2(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 3, 225, 224));
    struct tsl_node *c = conv(g, x, 4, DIMS(64, 3, 7, 7));
    c->attrs.conv.auto_pad = TSL_auto_pad_SAME_UPPER;
    set_ints(&c->attrs.conv.strides, 2, DIMS(2, 2));
    infer_ok(g);
    assert_type(c->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 64, 113, 112));
    tsl_graph_destroy(g);
}

static void test_conv_pads_dilation_valid(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(n, 1, 10, 12));
    struct tsl_node *c = conv(g, x, 4, DIMS(8, 1, 3, 3));
    set_ints(&c->attrs.conv.dilations, 2, DIMS(2, 3)); /* effective kernel 5, 7 */
    set_ints(&c->attrs.conv.pads, 4, DIMS(1, 0, 1, 0));
    struct tsl_value *w2 = input(g, "w2", TSL_DTYPE_F32, 4, DIMS(4, 8, 3, 3));
    struct tsl_node *v = add(g, TSL_OP_CONV, "valid", 2, VALS(c->outputs[0], w2), 1);
    v->attrs.conv.auto_pad = TSL_auto_pad_VALID;
    set_ints(&v->attrs.conv.strides, 2, DIMS(2, 1));
    infer_ok(g);
    assert_type(c->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 8, 6));
    assert_type(v->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 4, 3, 4));
    tsl_graph_destroy(g);
}

static void test_conv_depthwise_and_kernel_attr(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 32, 56, 56));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 1, DIMS(32));
    struct tsl_value *w = input(g, "w", TSL_DTYPE_F32, 4, DIMS(32, 1, 3, 3));
    struct tsl_node *c = add(g, TSL_OP_CONV, "dw", 3, VALS(x, w, b), 1);
    c->attrs.conv.group = 32;
    set_ints(&c->attrs.conv.kernel_shape, 2, DIMS(3, 3));
    set_ints(&c->attrs.conv.pads, 4, DIMS(1, 1, 1, 1));
    infer_ok(g);
    assert_type(c->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 32, 56, 56));
    tsl_graph_destroy(g);
}

static void test_conv_symbolic_spatial(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t h = sym(g, "H");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 3, h, 32));
    struct tsl_node *c = conv(g, x, 4, DIMS(8, 3, 3, 3));
    set_ints(&c->attrs.conv.pads, 4, DIMS(1, 1, 1, 1));
    struct tsl_value *w2 = input(g, "w2", TSL_DTYPE_F32, 4, DIMS(8, 8, 3, 3));
    struct tsl_node *s2 = add(g, TSL_OP_CONV, "s2", 2, VALS(c->outputs[0], w2), 1);
    set_ints(&s2->attrs.conv.strides, 2, DIMS(2, 2));
    infer_ok(g);
    assert_int_equal(c->outputs[0]->type.shape.dims[2], h); /* size-preserving */
    int64_t d = s2->outputs[0]->type.shape.dims[2];
    assert_true(TSL_DIM_IS_SYM(d) && d != h); /* fresh symbol */
    assert_int_equal(s2->outputs[0]->type.shape.dims[3], 15);
    tsl_graph_destroy(g);
}

static void test_conv_transpose_output_padding(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 16, 8, 8));
    struct tsl_value *w = input(g, "w", TSL_DTYPE_F32, 4, DIMS(16, 4, 3, 3));
    struct tsl_node *c = add(g, TSL_OP_CONV_TRANSPOSE, "up", 2, VALS(x, w), 1);
    c->attrs.conv_transpose.group = 2;
    set_ints(&c->attrs.conv_transpose.strides, 2, DIMS(2, 2));
    set_ints(&c->attrs.conv_transpose.pads, 4, DIMS(1, 1, 1, 1));
    set_ints(&c->attrs.conv_transpose.output_padding, 2, DIMS(1, 0));
    struct tsl_node *c2 = add(g, TSL_OP_CONV_TRANSPOSE, "os", 2, VALS(x, w), 1);
    set_ints(&c2->attrs.conv_transpose.output_shape, 2, DIMS(20, 21));
    set_ints(&c2->attrs.conv_transpose.strides, 2, DIMS(2, 2));
    infer_ok(g);
    /* 2*(8-1) + op + 3 - 2 */
    assert_type(c->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 8, 16, 15));
    assert_type(c2->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 4, 20, 21));
    tsl_graph_destroy(g);
}

static void test_pools(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 2, 5, 112));
    struct tsl_node *fl = add(g, TSL_OP_MAX_POOL, "floor", 1, VALS(x), 1);
    set_ints(&fl->attrs.pool.kernel_shape, 2, DIMS(2, 3));
    set_ints(&fl->attrs.pool.strides, 2, DIMS(2, 2));
    set_ints(&fl->attrs.pool.pads, 4, DIMS(0, 1, 0, 1));
    struct tsl_node *ce = add(g, TSL_OP_AVERAGE_POOL, "ceil", 1, VALS(x), 1);
    set_ints(&ce->attrs.pool.kernel_shape, 2, DIMS(2, 2));
    set_ints(&ce->attrs.pool.strides, 2, DIMS(2, 2));
    ce->attrs.pool.ceil_mode = 1;
    /* ceil_mode whose last window would start in the end padding: W gives
     * ceil((112 + 1 - 2) / 2) + 1 = 57 windows, the 57th starts at 112 = in
     * + pad_begin, so it is dropped (as ONNX Runtime and PyTorch do). */
    struct tsl_node *cp = add(g, TSL_OP_MAX_POOL, "ceil_pad", 1, VALS(x), 1);
    set_ints(&cp->attrs.pool.kernel_shape, 2, DIMS(2, 2));
    set_ints(&cp->attrs.pool.strides, 2, DIMS(2, 2));
    set_ints(&cp->attrs.pool.pads, 4, DIMS(0, 0, 0, 1));
    cp->attrs.pool.ceil_mode = 1;
    struct tsl_node *gp = add(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, VALS(x), 1);
    infer_ok(g);
    assert_type(fl->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 2, 2, 56));
    assert_type(ce->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 2, 3, 56));
    assert_type(cp->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 2, 3, 56));
    assert_type(gp->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 2, 1, 1));
    tsl_graph_destroy(g);
}

static void test_broadcast_symbols(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N"), w = sym(g, "W");
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 3, DIMS(n, 1, w));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 2, DIMS(3, 1));
    struct tsl_value *c = input(g, "c", TSL_DTYPE_F32, 1, DIMS(5));
    struct tsl_node *ab = add(g, TSL_OP_ADD, "ab", 2, VALS(a, b), 1);
    struct tsl_node *ac = add(g, TSL_OP_MUL, "ac", 2, VALS(a, c), 1);
    struct tsl_node *eq = add(g, TSL_OP_LESS, "lt", 2, VALS(a, ab->outputs[0]), 1);
    struct tsl_node *wh = add(g, TSL_OP_WHERE, "wh", 3, VALS(eq->outputs[0], a, c), 1);
    struct tsl_node *mx = add(g, TSL_OP_MAX, "mx", 3, VALS(a, b, c), 1);
    infer_ok(g);
    assert_type(ab->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 3, w));
    assert_type(ac->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 1, 5)); /* symbol vs 5 gives 5 */
    assert_type(eq->outputs[0], TSL_DTYPE_BOOL, 3, DIMS(n, 3, w));
    assert_type(wh->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 3, 5));
    assert_type(mx->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 3, 5));
    tsl_graph_destroy(g);
}

static void test_reshape_zero_and_minus_one(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 3, DIMS(n, 3, 4));
    struct tsl_value *s1 = const_i64(g, "s1", 2, DIMS(0, -1));
    struct tsl_value *s2 = const_i64(g, "s2", 3, DIMS(-1, 2, 2));
    struct tsl_value *y = input(g, "y", TSL_DTYPE_F32, 3, DIMS(2, 3, 4));
    struct tsl_value *s3 = const_i64(g, "s3", 3, DIMS(4, -1, 2));
    struct tsl_node *r1 = add(g, TSL_OP_RESHAPE, "r1", 2, VALS(x, s1), 1);
    struct tsl_node *r2 = add(g, TSL_OP_RESHAPE, "r2", 2, VALS(x, s2), 1);
    struct tsl_node *r3 = add(g, TSL_OP_RESHAPE, "r3", 2, VALS(y, s3), 1);
    struct tsl_node *fl = add(g, TSL_OP_FLATTEN, "fl", 1, VALS(x), 1);
    fl->attrs.axis.axis = -1;
    infer_ok(g);
    assert_type(r1->outputs[0], TSL_DTYPE_F32, 2, DIMS(n, 12));
    int64_t d = r2->outputs[0]->type.shape.dims[0];
    assert_true(TSL_DIM_IS_SYM(d) && d != n); /* N*3 is not a single symbol */
    assert_type(r3->outputs[0], TSL_DTYPE_F32, 3, DIMS(4, 3, 2));
    int64_t f0 = fl->outputs[0]->type.shape.dims[0];
    assert_true(TSL_DIM_IS_SYM(f0) && f0 != n);
    assert_int_equal(fl->outputs[0]->type.shape.dims[1], 4);
    tsl_graph_destroy(g);
}

/* PP-OCR: Shape -> Cast -> Slice -> Concat -> Reshape with symbolic N, W. */
static void test_ppocr_shape_slice_concat_reshape(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N"), w = sym(g, "W");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(n, 96, 1, w));
    struct tsl_node *sh = add(g, TSL_OP_SHAPE, "shape", 1, VALS(x), 1);
    struct tsl_node *cf = add(g, TSL_OP_CAST, "to_f", 1, VALS(sh->outputs[0]), 1);
    cf->attrs.cast.to = TSL_DTYPE_F32;
    struct tsl_node *ci = add(g, TSL_OP_CAST, "to_i", 1, VALS(cf->outputs[0]), 1);
    ci->attrs.cast.to = TSL_DTYPE_I64;
    struct tsl_value *st0 = const_i64(g, "st0", 1, DIMS(0)), *en0 = const_i64(g, "en0", 1, DIMS(2));
    struct tsl_value *st1 = const_i64(g, "st1", 1, DIMS(-1));
    struct tsl_value *en1 = const_i64(g, "en1", 1, DIMS(INT64_MAX));
    struct tsl_node *a = add(g, TSL_OP_SLICE, "head", 3, VALS(ci->outputs[0], st0, en0), 1);
    struct tsl_node *b = add(g, TSL_OP_SLICE, "tail", 3, VALS(ci->outputs[0], st1, en1), 1);
    struct tsl_node *cc = add(g, TSL_OP_CONCAT, "cat", 2, VALS(a->outputs[0], b->outputs[0]), 1);
    struct tsl_node *r = add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, cc->outputs[0]), 1);
    infer_ok(g);
    assert_type(sh->outputs[0], TSL_DTYPE_I64, 1, DIMS(4));
    assert_type(cf->outputs[0], TSL_DTYPE_F32, 1, DIMS(4));
    assert_type(a->outputs[0], TSL_DTYPE_I64, 1, DIMS(2));
    assert_type(cc->outputs[0], TSL_DTYPE_I64, 1, DIMS(3));
    assert_type(r->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 96, w));
    tsl_graph_destroy(g);
}

/* Shape -> Gather -> Unsqueeze -> Concat (with -1) -> Reshape. */
static void test_shape_gather_unsqueeze_concat(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N"), w = sym(g, "W");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(n, 96, 1, w));
    struct tsl_node *sh = add(g, TSL_OP_SHAPE, "shape", 1, VALS(x), 1);
    struct tsl_value *i0 = scalar_i64(g, "i0", 0), *i3 = scalar_i64(g, "i3", -1);
    struct tsl_node *g0 = add(g, TSL_OP_GATHER, "g0", 2, VALS(sh->outputs[0], i0), 1);
    struct tsl_node *g3 = add(g, TSL_OP_GATHER, "g3", 2, VALS(sh->outputs[0], i3), 1);
    struct tsl_node *u0 = add(g, TSL_OP_UNSQUEEZE, "u0", 1, VALS(g0->outputs[0]), 1);
    set_ints(&u0->attrs.axes.axes, 1, DIMS(0));
    struct tsl_node *u3 = add(g, TSL_OP_UNSQUEEZE, "u3", 1, VALS(g3->outputs[0]), 1);
    set_ints(&u3->attrs.axes.axes, 1, DIMS(-1));
    struct tsl_value *m1 = const_i64(g, "m1", 1, DIMS(-1));
    struct tsl_node *cc = add(g, TSL_OP_CONCAT, "cat", 3,
                              VALS(u0->outputs[0], m1, u3->outputs[0]), 1);
    struct tsl_node *r = add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, cc->outputs[0]), 1);
    struct tsl_node *cs = add(g, TSL_OP_CONSTANT_OF_SHAPE, "cos", 1, VALS(sh->outputs[0]), 1);
    infer_ok(g);
    assert_type(g0->outputs[0], TSL_DTYPE_I64, 0, NULL);
    assert_type(u3->outputs[0], TSL_DTYPE_I64, 1, DIMS(1));
    assert_type(r->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 96, w));
    assert_type(cs->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 96, 1, w));
    tsl_graph_destroy(g);
}

static void test_squeeze_unsqueeze_negative_axes(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 3, 1, 5));
    struct tsl_node *sq = add(g, TSL_OP_SQUEEZE, "sq", 1, VALS(x), 1);
    set_ints(&sq->attrs.axes.axes, 1, DIMS(-2));
    struct tsl_node *all = add(g, TSL_OP_SQUEEZE, "all", 1, VALS(x), 1);
    struct tsl_node *un = add(g, TSL_OP_UNSQUEEZE, "un", 1, VALS(all->outputs[0]), 1);
    set_ints(&un->attrs.axes.axes, 2, DIMS(-1, 0));
    infer_ok(g);
    assert_type(sq->outputs[0], TSL_DTYPE_F32, 3, DIMS(1, 3, 5));
    assert_type(all->outputs[0], TSL_DTYPE_F32, 2, DIMS(3, 5));
    assert_type(un->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 3, 5, 1));
    tsl_graph_destroy(g);
}

static void test_split(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(n, 10));
    struct tsl_node *s = add(g, TSL_OP_SPLIT, "s", 1, VALS(x), 3);
    s->attrs.split.axis = -1;
    set_ints(&s->attrs.split.split, 3, DIMS(2, 3, 5));
    struct tsl_node *e = add(g, TSL_OP_SPLIT, "e", 1, VALS(x), 2);
    e->attrs.split.axis = 1;
    infer_ok(g);
    assert_type(s->outputs[0], TSL_DTYPE_F32, 2, DIMS(n, 2));
    assert_type(s->outputs[2], TSL_DTYPE_F32, 2, DIMS(n, 5));
    assert_type(e->outputs[1], TSL_DTYPE_F32, 2, DIMS(n, 5));
    tsl_graph_destroy(g);
}

static void test_slice_clamps_and_steps(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 3, DIMS(10, 20, 4));
    struct tsl_value *st = const_i64(g, "st", 2, DIMS(-3, 0));
    struct tsl_value *en = const_i64(g, "en", 2, DIMS(INT64_MAX, 100));
    struct tsl_value *ax = const_i64(g, "ax", 2, DIMS(0, -2));
    struct tsl_value *sp = const_i64(g, "sp", 2, DIMS(1, 3));
    struct tsl_node *a = add(g, TSL_OP_SLICE, "a", 5, VALS(x, st, en, ax, sp), 1);
    struct tsl_value *st2 = const_i64(g, "st2", 1, DIMS(-1));
    struct tsl_value *en2 = const_i64(g, "en2", 1, DIMS(INT64_MIN));
    struct tsl_value *sp2 = const_i64(g, "sp2", 1, DIMS(-2));
    struct tsl_node *b = add(g, TSL_OP_SLICE, "b", 5, VALS(x, st2, en2, NULL, sp2), 1);
    infer_ok(g);
    assert_type(a->outputs[0], TSL_DTYPE_F32, 3, DIMS(3, 7, 4));
    assert_type(b->outputs[0], TSL_DTYPE_F32, 3, DIMS(5, 20, 4)); /* 9,7,5,3,1 */
    tsl_graph_destroy(g);
}

static void test_resize_scales_and_sizes(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 3, 10, 11));
    struct tsl_value *sc = const_f32(g, "sc", 1, DIMS(4), (const float[]){1, 1, 2.5f, 0.5f});
    struct tsl_value *sz = const_i64(g, "sz", 4, DIMS(1, 3, 7, 9));
    struct tsl_node *a = add(g, TSL_OP_RESIZE, "a", 3, VALS(x, NULL, sc), 1);
    struct tsl_node *b = add(g, TSL_OP_RESIZE, "b", 4, VALS(x, NULL, NULL, sz), 1);
    infer_ok(g);
    assert_type(a->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 3, 25, 5));
    assert_type(b->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 3, 7, 9));
    tsl_graph_destroy(g);
}

static void test_nonzero_topk_nms(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(3, 10));
    struct tsl_node *nz = add(g, TSL_OP_NON_ZERO, "nz", 1, VALS(x), 1);
    struct tsl_value *k = const_i64(g, "k", 1, DIMS(4));
    struct tsl_node *tk = add(g, TSL_OP_TOPK, "tk", 2, VALS(x, k), 2);
    struct tsl_value *boxes = input(g, "boxes", TSL_DTYPE_F32, 3, DIMS(1, 100, 4));
    struct tsl_value *scores = input(g, "scores", TSL_DTYPE_F32, 3, DIMS(1, 2, 100));
    struct tsl_node *nms = add(g, TSL_OP_NON_MAX_SUPPRESSION, "nms", 2, VALS(boxes, scores), 1);
    infer_ok(g);
    const struct tsl_shape *s = &nz->outputs[0]->type.shape;
    assert_int_equal(nz->outputs[0]->type.dtype, TSL_DTYPE_I64);
    assert_int_equal(s->rank, 2);
    assert_int_equal(s->dims[0], 2);
    assert_true(TSL_DIM_IS_SYM(s->dims[1]));
    assert_memory_equal(g->symbols[TSL_DIM_SYM_INDEX(s->dims[1])], "unk", 3);
    assert_type(tk->outputs[0], TSL_DTYPE_F32, 2, DIMS(3, 4));
    assert_type(tk->outputs[1], TSL_DTYPE_I64, 2, DIMS(3, 4));
    assert_int_equal(nms->outputs[0]->type.dtype, TSL_DTYPE_I64);
    assert_true(TSL_DIM_IS_SYM(nms->outputs[0]->type.shape.dims[0]));
    assert_int_not_equal(nms->outputs[0]->type.shape.dims[0], s->dims[1]);
    tsl_graph_destroy(g);
}

static void test_matmul_gemm(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 2, DIMS(4, 8));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 2, DIMS(16, 8));
    struct tsl_value *c = input(g, "c", TSL_DTYPE_F32, 1, DIMS(16));
    struct tsl_node *gm = add(g, TSL_OP_GEMM, "gemm", 3, VALS(a, b, c), 1);
    gm->attrs.gemm.transB = 1;
    struct tsl_value *v = input(g, "v", TSL_DTYPE_F32, 1, DIMS(8));
    struct tsl_value *m = input(g, "m", TSL_DTYPE_F32, 3, DIMS(2, 8, 5));
    struct tsl_node *m1 = add(g, TSL_OP_MATMUL, "m1", 2, VALS(v, m), 1);
    struct tsl_value *p = input(g, "p", TSL_DTYPE_F32, 4, DIMS(2, 1, 3, 4));
    struct tsl_value *q = input(g, "q", TSL_DTYPE_F32, 3, DIMS(5, 4, 6));
    struct tsl_node *m2 = add(g, TSL_OP_MATMUL, "m2", 2, VALS(p, q), 1);
    struct tsl_node *m3 = add(g, TSL_OP_MATMUL, "m3", 2, VALS(a, v), 1);
    infer_ok(g);
    assert_type(gm->outputs[0], TSL_DTYPE_F32, 2, DIMS(4, 16));
    assert_type(m1->outputs[0], TSL_DTYPE_F32, 2, DIMS(2, 5));
    assert_type(m2->outputs[0], TSL_DTYPE_F32, 4, DIMS(2, 5, 3, 6));
    assert_type(m3->outputs[0], TSL_DTYPE_F32, 1, DIMS(4));
    tsl_graph_destroy(g);
}

static void test_dtype_rules(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *sc = const_f32(g, "sc", 0, NULL, (const float[]){0.5f});
    struct tsl_node *cast = add(g, TSL_OP_CAST, "cast", 1, VALS(x), 1);
    cast->attrs.cast.to = TSL_DTYPE_I32;
    struct tsl_node *size = add(g, TSL_OP_SIZE, "size", 1, VALS(x), 1);
    struct tsl_node *am = add(g, TSL_OP_ARG_MAX, "am", 1, VALS(x), 1);
    am->attrs.argreduce.axis = 1;
    am->attrs.argreduce.keepdims = 0;
    struct tsl_node *q = add(g, TSL_OP_QUANTIZE_LINEAR, "q", 2, VALS(x, sc), 1);
    struct tsl_value *zp;
    struct tsl_type zt = tsl_type_make(TSL_DTYPE_I8, 0, NULL);
    int8_t zero = 0;
    assert_int_equal(tsl_graph_add_dense_constant(g, "zp", &zt, &zero, &zp), TSL_STATUS_OK);
    struct tsl_node *q8 = add(g, TSL_OP_QUANTIZE_LINEAR, "q8", 3, VALS(x, sc, zp), 1);
    struct tsl_node *dq = add(g, TSL_OP_DEQUANTIZE_LINEAR, "dq", 3, VALS(q8->outputs[0], sc, zp), 1);
    struct tsl_node *eq = add(g, TSL_OP_EQUAL, "eq", 2, VALS(x, x), 1);
    struct tsl_node *nt = add(g, TSL_OP_NOT, "nt", 1, VALS(eq->outputs[0]), 1);
    infer_ok(g);
    assert_type(cast->outputs[0], TSL_DTYPE_I32, 2, DIMS(2, 3));
    assert_type(size->outputs[0], TSL_DTYPE_I64, 0, NULL);
    assert_type(am->outputs[0], TSL_DTYPE_I64, 1, DIMS(2));
    assert_type(q->outputs[0], TSL_DTYPE_U8, 2, DIMS(2, 3));
    assert_type(q8->outputs[0], TSL_DTYPE_I8, 2, DIMS(2, 3));
    assert_type(dq->outputs[0], TSL_DTYPE_F32, 2, DIMS(2, 3));
    assert_type(nt->outputs[0], TSL_DTYPE_BOOL, 2, DIMS(2, 3));
    tsl_graph_destroy(g);
}

static void test_qlinear(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_U8, 4, DIMS(1, 4, 8, 8));
    struct tsl_value *w = input(g, "w", TSL_DTYPE_I8, 4, DIMS(6, 4, 3, 3));
    struct tsl_value *s = const_f32(g, "s", 0, NULL, (const float[]){0.1f});
    struct tsl_value *ws = const_f32(g, "ws", 1, DIMS(6), (const float[]){1, 1, 1, 1, 1, 1});
    struct tsl_value *zu, *zi, *zw;
    struct tsl_type tu = tsl_type_make(TSL_DTYPE_U8, 0, NULL), ti = tsl_type_make(TSL_DTYPE_I8, 0, NULL);
    struct tsl_type tw = tsl_type_make(TSL_DTYPE_I8, 1, DIMS(6));
    uint8_t z = 0;
    int8_t zz[6] = {0};
    assert_int_equal(tsl_graph_add_dense_constant(g, "zu", &tu, &z, &zu), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_dense_constant(g, "zi", &ti, &z, &zi), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_dense_constant(g, "zw", &tw, zz, &zw), TSL_STATUS_OK);
    struct tsl_node *qc = add(g, TSL_OP_QLINEAR_CONV, "qc", 8, VALS(x, s, zu, w, ws, zw, s, zi), 1);
    set_ints(&qc->attrs.conv.pads, 4, DIMS(1, 1, 1, 1));
    struct tsl_value *a = input(g, "a", TSL_DTYPE_U8, 2, DIMS(3, 4));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_U8, 2, DIMS(4, 5));
    struct tsl_node *qm = add(g, TSL_OP_QLINEAR_MATMUL, "qm", 8, VALS(a, s, zu, b, s, zu, s, zu), 1);
    infer_ok(g);
    assert_type(qc->outputs[0], TSL_DTYPE_I8, 4, DIMS(1, 6, 8, 8));
    assert_type(qm->outputs[0], TSL_DTYPE_U8, 2, DIMS(3, 5));
    tsl_graph_destroy(g);
}

static void test_misc_families(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(n, 8, 4, 6));
    struct tsl_value *c8 = input(g, "c8", TSL_DTYPE_F32, 1, DIMS(8));
    struct tsl_node *bn = add(g, TSL_OP_BATCH_NORM, "bn", 5, VALS(x, c8, c8, c8, c8), 1);
    struct tsl_node *tr = add(g, TSL_OP_TRANSPOSE, "tr", 1, VALS(x), 1);
    set_ints(&tr->attrs.transpose.perm, 4, DIMS(0, 2, 3, 1));
    struct tsl_node *rv = add(g, TSL_OP_TRANSPOSE, "rev", 1, VALS(x), 1);
    struct tsl_node *rm = add(g, TSL_OP_REDUCE_MEAN, "rm", 1, VALS(x), 1);
    set_ints(&rm->attrs.reduce.axes, 2, DIMS(-1, 2));
    rm->attrs.reduce.keepdims = 0;
    struct tsl_node *rs = add(g, TSL_OP_REDUCE_SUM, "rs", 1, VALS(x), 1);
    struct tsl_node *d2s = add(g, TSL_OP_DEPTH_TO_SPACE, "d2s", 1, VALS(x), 1);
    d2s->attrs.depth_to_space.blocksize = 2;
    struct tsl_node *s2d = add(g, TSL_OP_SPACE_TO_DEPTH, "s2d", 1, VALS(x), 1);
    s2d->attrs.depth_to_space.blocksize = 2;
    struct tsl_value *pads = const_i64(g, "pads", 8, DIMS(0, 0, 1, 2, 0, 0, 3, 4));
    struct tsl_node *pd = add(g, TSL_OP_PAD, "pad", 2, VALS(x, pads), 1);
    struct tsl_value *rep = const_i64(g, "rep", 4, DIMS(1, 2, 1, 3));
    struct tsl_node *ti = add(g, TSL_OP_TILE, "tile", 2, VALS(x, rep), 1);
    struct tsl_value *one = input(g, "one", TSL_DTYPE_F32, 2, DIMS(4, 1));
    struct tsl_value *es = const_i64(g, "es", 3, DIMS(2, 1, 5));
    struct tsl_node *ex = add(g, TSL_OP_EXPAND, "ex", 2, VALS(one, es), 1);
    struct tsl_value *r0 = scalar_i64(g, "r0", 1), *r1 = scalar_i64(g, "r1", 10);
    struct tsl_value *r2 = scalar_i64(g, "r2", 3);
    struct tsl_node *rg = add(g, TSL_OP_RANGE, "range", 3, VALS(r0, r1, r2), 1);
    struct tsl_value *idx = const_i64(g, "idx", 2, DIMS(0, 3));
    struct tsl_node *ga = add(g, TSL_OP_GATHER, "ga", 2, VALS(x, idx), 1);
    ga->attrs.axis.axis = 2;
    struct tsl_node *ln = add(g, TSL_OP_LAYER_NORM, "ln", 2, VALS(x, input(g, "lw", TSL_DTYPE_F32, 1, DIMS(6))), 1);
    struct tsl_node *sm = add(g, TSL_OP_SOFTMAX, "sm", 1, VALS(x), 1);
    sm->attrs.axis.axis = -1;
    infer_ok(g);
    assert_type(bn->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 4, 6));
    assert_type(tr->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 4, 6, 8));
    assert_type(rv->outputs[0], TSL_DTYPE_F32, 4, DIMS(6, 4, 8, n));
    assert_type(rm->outputs[0], TSL_DTYPE_F32, 2, DIMS(n, 8));
    assert_type(rs->outputs[0], TSL_DTYPE_F32, 4, DIMS(1, 1, 1, 1));
    assert_type(d2s->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 2, 8, 12));
    assert_type(s2d->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 32, 2, 3));
    assert_type(pd->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 8, 12));
    assert_type(ti->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 16, 4, 18));
    assert_type(ex->outputs[0], TSL_DTYPE_F32, 3, DIMS(2, 4, 5));
    assert_type(rg->outputs[0], TSL_DTYPE_I64, 1, DIMS(3));
    assert_type(ga->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 2, 6));
    assert_type(ln->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 4, 6));
    assert_type(sm->outputs[0], TSL_DTYPE_F32, 4, DIMS(n, 8, 4, 6));
    tsl_graph_destroy(g);
}

/* Known values: Range feeds Reshape; Shape arithmetic (Mul/Div) too. */
static void test_known_value_arithmetic(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 3, DIMS(n, 6, 4));
    struct tsl_node *sh = add(g, TSL_OP_SHAPE, "sh", 1, VALS(x), 1);
    sh->attrs.shape.start = 1;
    struct tsl_value *two = const_i64(g, "two", 1, DIMS(2));
    struct tsl_node *dv = add(g, TSL_OP_DIV, "dv", 2, VALS(sh->outputs[0], two), 1);
    struct tsl_node *ml = add(g, TSL_OP_MUL, "ml", 2, VALS(dv->outputs[0], two), 1);
    struct tsl_value *lead = const_i64(g, "lead", 1, DIMS(-1));
    struct tsl_node *cc = add(g, TSL_OP_CONCAT, "cc", 2, VALS(lead, dv->outputs[0]), 1);
    struct tsl_node *rs = add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, cc->outputs[0]), 1);
    struct tsl_node *ex = add(g, TSL_OP_EXPAND, "ex", 2, VALS(x, ml->outputs[0]), 1);
    infer_ok(g);
    assert_type(dv->outputs[0], TSL_DTYPE_I64, 1, DIMS(2));
    int64_t d0 = rs->outputs[0]->type.shape.dims[0];
    assert_true(TSL_DIM_IS_SYM(d0)); /* N*4 */
    assert_int_equal(rs->outputs[0]->type.shape.dims[1], 3);
    assert_int_equal(rs->outputs[0]->type.shape.dims[2], 2);
    assert_type(ex->outputs[0], TSL_DTYPE_F32, 3, DIMS(n, 6, 4));
    tsl_graph_destroy(g);
}

/* Data-dependent Reshape target: fresh symbols, rank from the operand. */
static void test_reshape_runtime_target(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(4, 6));
    struct tsl_value *t = input(g, "t", TSL_DTYPE_I64, 1, DIMS(3));
    struct tsl_node *rs = add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, t), 1);
    struct tsl_value *u = input(g, "u", TSL_DTYPE_F32, -1, NULL);
    struct tsl_node *re = add(g, TSL_OP_RELU, "re", 1, VALS(u), 1);
    infer_ok(g);
    assert_int_equal(rs->outputs[0]->type.shape.rank, 3);
    for (int i = 0; i < 3; i++)
        assert_true(TSL_DIM_IS_SYM(rs->outputs[0]->type.shape.dims[i]));
    assert_int_equal(re->outputs[0]->type.shape.rank, -1);
    assert_int_equal(re->outputs[0]->type.dtype, TSL_DTYPE_F32);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_covers_every_op),
        cmocka_unit_test(test_conv_same_upper_stride2),
        cmocka_unit_test(test_conv_pads_dilation_valid),
        cmocka_unit_test(test_conv_depthwise_and_kernel_attr),
        cmocka_unit_test(test_conv_symbolic_spatial),
        cmocka_unit_test(test_conv_transpose_output_padding),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_broadcast_symbols),
        cmocka_unit_test(test_reshape_zero_and_minus_one),
        cmocka_unit_test(test_ppocr_shape_slice_concat_reshape),
        cmocka_unit_test(test_shape_gather_unsqueeze_concat),
        cmocka_unit_test(test_squeeze_unsqueeze_negative_axes),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice_clamps_and_steps),
        cmocka_unit_test(test_resize_scales_and_sizes),
        cmocka_unit_test(test_nonzero_topk_nms),
        cmocka_unit_test(test_matmul_gemm),
        cmocka_unit_test(test_dtype_rules),
        cmocka_unit_test(test_qlinear),
        cmocka_unit_test(test_misc_families),
        cmocka_unit_test(test_known_value_arithmetic),
        cmocka_unit_test(test_reshape_runtime_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
