/* export.c - writes an IR graph as an ONNX ModelProto (ir_version 8, default
 * domain opset 17, producer "tessel"), to memory or atomically to a file.
 *
 * What is written: graph inputs as ValueInfos (elem_type and shape; symbolic
 * dims as dim_param carrying the symbol's name), every constant as an
 * initializer with little-endian raw_data (masked, sparse and codebook
 * encodings decoded with tsl_const_decode), value_info for intermediate
 * values whose dtype is known, the nodes (export_node.c) and the outputs with
 * their types.  A graph output listed twice, or one that is a graph input or
 * a constant, is written through an Identity node with a fresh name so the
 * model is valid ONNX.
 *
 * What is not: quantization info on values (ONNX has no slot for it; a
 * warning says how many values carried some), and the packed sub-byte types,
 * which ONNX 1.12 (opset 17) cannot express: i4/i2 are widened to INT8 and u4
 * to UINT8, one element per byte, so a re-import sees i8/u8.  Models over
 * 2 GiB (external data) are refused with LIMIT.
 *
 * File export writes "<path>.tmp.<pid>" and renames it over <path>; on any
 * failure the temporary is removed and <path> is untouched. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_internal.h"
#include "tessel/util.h"

/* ---- context ------------------------------------------------------------ */

bool tsl_export_track(struct tsl_export *ex, void *p)
{
    if (!tsl_grow((void **)&ex->allocs, &ex->cap_allocs, ex->n_allocs + 1, sizeof *ex->allocs)) {
        free(p);
        return false;
    }
    ex->allocs[ex->n_allocs++] = p;
    return true;
}

void *tsl_export_alloc(struct tsl_export *ex, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (!p || !tsl_export_track(ex, p))
        return NULL;
    return p;
}

void tsl_export_fini(struct tsl_export *ex)
{
    for (size_t i = 0; i < ex->n_allocs; i++)
        free(ex->allocs[i]);
    free(ex->allocs);
    free(ex->gen_names);
    free(ex->nodes);
    free(ex->inits);
    memset(ex, 0, sizeof *ex);
}

int32_t tsl_export_onnx_dtype(enum tsl_dtype dt)
{
    if (dt == TSL_DTYPE_I4 || dt == TSL_DTYPE_I2)
        return tsl_onnx_dtype_to_onnx(TSL_DTYPE_I8);
    if (dt == TSL_DTYPE_U4)
        return tsl_onnx_dtype_to_onnx(TSL_DTYPE_U8);
    return tsl_onnx_dtype_to_onnx(dt);
}

static bool gen_name_taken(const struct tsl_export *ex, const char *s)
{
    if (tsl_graph_find_value(ex->g, s))
        return true;
    for (size_t i = 0; i < ex->n_gen_names; i++)
        if (strcmp(ex->gen_names[i], s) == 0)
            return true;
    return false;
}

char *tsl_export_fresh_name(struct tsl_export *ex, const char *base)
{
    char *s = NULL;
    for (uint64_t k = 0;; k++) {
        s = k ? tsl_asprintf("%s_%llu", base, (unsigned long long)k) : tsl_strdup(base);
        if (!s)
            return NULL;
        if (!gen_name_taken(ex, s))
            break;
        free(s);
    }
    if (!tsl_export_track(ex, s))
        return NULL;
    if (!tsl_grow((void **)&ex->gen_names, &ex->cap_gen_names, ex->n_gen_names + 1,
                  sizeof *ex->gen_names))
        return NULL;
    ex->gen_names[ex->n_gen_names++] = s;
    return s;
}

static bool push_init(struct tsl_export *ex, Onnx__TensorProto *t)
{
    if (!tsl_grow((void **)&ex->inits, &ex->cap_inits, ex->n_inits + 1, sizeof *ex->inits))
        return false;
    ex->inits[ex->n_inits++] = t;
    return true;
}

/* Byte-swap `numel` elements of `size` bytes in place (big-endian hosts). */
static void to_little_endian(uint8_t *p, int64_t numel, size_t size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (int64_t e = 0; e < numel; e++, p += size)
        for (size_t i = 0; i < size / 2; i++) {
            uint8_t t = p[i];
            p[i] = p[size - 1 - i];
            p[size - 1 - i] = t;
        }
#else
    (void)p;
    (void)numel;
    (void)size;
#endif
}

enum tsl_status tsl_export_add_i64_init(struct tsl_export *ex, const char *name,
                                        const int64_t *v, uint32_t n)
{
    Onnx__TensorProto *t = tsl_export_alloc(ex, sizeof *t);
    int64_t *dims = tsl_export_alloc(ex, sizeof *dims);
    uint8_t *raw = tsl_export_alloc(ex, (size_t)n * 8);
    if (!t || !dims || !raw)
        return TSL_STATUS_NOMEM;
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    dims[0] = n;
    t->n_dims = 1;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = tsl_onnx_dtype_to_onnx(TSL_DTYPE_I64);
    memcpy(raw, v, (size_t)n * 8);
    to_little_endian(raw, n, 8);
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = (size_t)n * 8;
    return push_init(ex, t) ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
}

/* ---- types -------------------------------------------------------------- */

static enum tsl_status make_value_info(struct tsl_export *ex, const char *name,
                                       const struct tsl_type *ty, Onnx__ValueInfoProto **out)
{
    const struct tsl_graph *g = ex->g;
    Onnx__ValueInfoProto *vi = tsl_export_alloc(ex, sizeof *vi);
    if (!vi)
        return TSL_STATUS_NOMEM;
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    *out = vi;
    if (ty->dtype == TSL_DTYPE_UNDEF)
        return TSL_STATUS_OK; /* type unknown: name only */
    int32_t code = tsl_export_onnx_dtype(ty->dtype);
    if (code == 0)
        return tsl_diag_error(ex->diag, TSL_STATUS_UNSUPPORTED, name,
                              "type %s has no ONNX equivalent", tsl_dtype_name(ty->dtype));
    Onnx__TypeProto *tp = tsl_export_alloc(ex, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = tsl_export_alloc(ex, sizeof *tt);
    if (!tp || !tt)
        return TSL_STATUS_NOMEM;
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = code;
    vi->type = tp;
    int32_t rank = ty->shape.rank;
    if (rank < 0)
        return TSL_STATUS_OK; /* rank unknown: no shape */
    if (rank > TSL_MAX_RANK)
        return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, name, "rank %d", (int)rank);
    Onnx__TensorShapeProto *sp = tsl_export_alloc(ex, sizeof *sp);
    Onnx__TensorShapeProto__Dimension **dims =
        tsl_export_alloc(ex, ((size_t)rank + 1) * sizeof *dims);
    if (!sp || !dims)
        return TSL_STATUS_NOMEM;
    onnx__tensor_shape_proto__init(sp);
    for (int32_t i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = tsl_export_alloc(ex, sizeof *d);
        if (!d)
            return TSL_STATUS_NOMEM;
        onnx__tensor_shape_proto__dimension__init(d);
        int64_t dv = ty->shape.dims[i];
        if (TSL_DIM_IS_SYM(dv)) {
            uint32_t k = TSL_DIM_SYM_INDEX(dv);
            if (k >= g->n_symbols)
                return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, name,
                                      "dim %d names symbol %u of %u", (int)i, k, g->n_symbols);
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = g->symbols[k];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dv;
        }
        dims[i] = d;
    }
    sp->n_dim = (size_t)rank;
    sp->dim = dims;
    tt->shape = sp;
    return TSL_STATUS_OK;
}

/* ---- constants ---------------------------------------------------------- */

static enum tsl_status export_constant(struct tsl_export *ex, const struct tsl_value *v)
{
    const struct tsl_type *ty = &v->type;
    int64_t numel;
    if (!tsl_shape_numel(&ty->shape, &numel))
        return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, v->name,
                              "constant without a static shape");
    int32_t code = tsl_export_onnx_dtype(ty->dtype);
    int bits = tsl_dtype_bits(ty->dtype);
    if (code == 0 || bits <= 0)
        return tsl_diag_error(ex->diag, TSL_STATUS_UNSUPPORTED, v->name,
                              "constant of type %s has no ONNX equivalent",
                              tsl_dtype_name(ty->dtype));
    Onnx__TensorProto *t = tsl_export_alloc(ex, sizeof *t);
    int64_t *dims = tsl_export_alloc(ex, ((size_t)ty->shape.rank + 1) * sizeof *dims);
    if (!t || !dims)
        return TSL_STATUS_NOMEM;
    onnx__tensor_proto__init(t);
    t->name = v->name;
    memcpy(dims, ty->shape.dims, (size_t)ty->shape.rank * sizeof *dims);
    t->n_dims = (size_t)ty->shape.rank;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = code;

    int64_t bytes;
    if (!tsl_dtype_storage_bytes(ty->dtype, numel, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return tsl_diag_error(ex->diag, TSL_STATUS_LIMIT, v->name, "constant too large");
    const struct tsl_const *c = v->constant;
    bool little_endian_host = true;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    little_endian_host = false;
#endif
    uint8_t *raw;
    size_t raw_len;
    if (c->encoding == TSL_ENC_DENSE && bits >= 8 && little_endian_host &&
        c->data_bytes == (size_t)bytes && (c->data || bytes == 0)) {
        raw = c->data; /* referenced, not copied: the graph outlives the export */
        raw_len = (size_t)bytes;
    } else {
        void *dense;
        TSL_TRY(tsl_const_decode(v, &dense, ex->diag));
        if (!tsl_export_track(ex, dense))
            return TSL_STATUS_NOMEM;
        if (bits < 8) {
            /* widen packed sub-byte elements to one byte each */
            uint8_t *wide = tsl_export_alloc(ex, (size_t)numel);
            if (!wide)
                return TSL_STATUS_NOMEM;
            for (int64_t i = 0; i < numel; i++)
                wide[i] = (uint8_t)tsl_dense_get_i64(ty->dtype, dense, i);
            raw = wide;
            raw_len = (size_t)numel;
        } else {
            raw = dense;
            raw_len = (size_t)bytes;
            to_little_endian(raw, numel, (size_t)bits / 8);
        }
    }
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = raw_len;
    return push_init(ex, t) ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
}

/* ---- graph and model ---------------------------------------------------- */

/* Graph outputs; Identity nodes for outputs that cannot be written as-is. */
static enum tsl_status export_outputs(struct tsl_export *ex, Onnx__GraphProto *gp)
{
    const struct tsl_graph *g = ex->g;
    gp->output = tsl_export_alloc(ex, ((size_t)g->n_outputs + 1) * sizeof *gp->output);
    if (!gp->output)
        return TSL_STATUS_NOMEM;
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct tsl_value *v = g->outputs[i];
        bool repeated = false;
        for (uint32_t j = 0; j < i && !repeated; j++)
            repeated = g->outputs[j] == v;
        const char *name = v->name;
        if (repeated || v->is_input || v->constant) {
            char *base = tsl_asprintf("%s_%s", v->name, repeated ? "dup" : "out");
            if (!base || !tsl_export_track(ex, base))
                return TSL_STATUS_NOMEM;
            char *fresh = tsl_export_fresh_name(ex, base);
            if (!fresh)
                return TSL_STATUS_NOMEM;
            TSL_TRY(tsl_export_identity(ex, v->name, fresh));
            name = fresh;
        }
        TSL_TRY(make_value_info(ex, name, &v->type, &gp->output[i]));
    }
    gp->n_output = g->n_outputs;
    return TSL_STATUS_OK;
}

static enum tsl_status export_graph(struct tsl_export *ex, Onnx__GraphProto *gp)
{
    const struct tsl_graph *g = ex->g;
    onnx__graph_proto__init(gp);
    gp->name = g->name;

    gp->input = tsl_export_alloc(ex, ((size_t)g->n_inputs + 1) * sizeof *gp->input);
    if (!gp->input)
        return TSL_STATUS_NOMEM;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const struct tsl_value *v = g->inputs[i];
        if (v->type.dtype == TSL_DTYPE_UNDEF)
            return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, v->name,
                                  "graph input without an element type");
        TSL_TRY(make_value_info(ex, v->name, &v->type, &gp->input[i]));
    }
    gp->n_input = g->n_inputs;

    size_t n_quant = 0, n_vi = 0;
    gp->value_info = tsl_export_alloc(ex, ((size_t)g->n_values + 1) * sizeof *gp->value_info);
    if (!gp->value_info)
        return TSL_STATUS_NOMEM;
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        if (v->quant.kind != TSL_QUANT_NONE)
            n_quant++;
        if (v->constant) {
            TSL_TRY(export_constant(ex, v));
            continue;
        }
        if (v->is_input || !v->producer || v->n_output_refs > 0 ||
            v->type.dtype == TSL_DTYPE_UNDEF)
            continue;
        TSL_TRY(make_value_info(ex, v->name, &v->type, &gp->value_info[n_vi++]));
    }
    gp->n_value_info = n_vi;
    if (n_quant)
        tsl_diag_warning(ex->diag, g->name,
                         "quantization info of %zu value(s) is not exported (ONNX has no slot "
                         "for it)", n_quant);

    for (const struct tsl_node *n = g->first; n; n = n->next)
        TSL_TRY(tsl_export_node(ex, n));
    TSL_TRY(export_outputs(ex, gp));

    gp->node = ex->nodes;
    gp->n_node = ex->n_nodes;
    gp->initializer = ex->inits;
    gp->n_initializer = ex->n_inits;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_export_buffer(const struct tsl_graph *g, uint8_t **data_out,
                                       size_t *len_out, struct tsl_diag *diag)
{
    if (!g || !data_out || !len_out)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "export", "NULL argument");
    *data_out = NULL;
    *len_out = 0;
    struct tsl_export ex = {.g = g, .diag = diag};
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    onnx__model_proto__init(&model);
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = (char *)"";
    opset.has_version = 1;
    opset.version = TSL_ONNX_EXPORT_OPSET;
    model.has_ir_version = 1;
    model.ir_version = TSL_ONNX_EXPORT_IR_VERSION;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = (char *)"tessel";

    enum tsl_status st = export_graph(&ex, &graph);
    if (st == TSL_STATUS_NOMEM)
        tsl_diag_error(diag, st, g->name, "out of memory while exporting");
    if (st == TSL_STATUS_OK) {
        model.graph = &graph;
        size_t len = onnx__model_proto__get_packed_size(&model);
        if (len > (size_t)INT32_MAX) {
            st = tsl_diag_error(diag, TSL_STATUS_LIMIT, g->name,
                                "serialized model is %zu bytes, over the 2 GiB protobuf limit",
                                len);
        } else {
            uint8_t *buf = malloc(len ? len : 1);
            if (!buf) {
                st = tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name,
                                    "out of memory for a %zu-byte model", len);
            } else if (onnx__model_proto__pack(&model, buf) != len) {
                free(buf);
                st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, g->name,
                                    "protobuf packing wrote an unexpected size");
            } else {
                *data_out = buf;
                *len_out = len;
            }
        }
    }
    tsl_export_fini(&ex);
    return st;
}

/* ---- atomic file write -------------------------------------------------- */

static enum tsl_status write_all(int fd, const uint8_t *p, size_t len, const char *where,
                                 struct tsl_diag *diag)
{
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        ssize_t w = write(fd, p, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return tsl_diag_error(diag, TSL_STATUS_IO, where, "write failed: %s",
                                  w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_export_file(const struct tsl_graph *g, const char *path,
                                     struct tsl_diag *diag)
{
    if (!g || !path || !*path)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "export", "NULL or empty path");
    uint8_t *data;
    size_t len;
    TSL_TRY(tsl_onnx_export_buffer(g, &data, &len, diag));
    char *tmp = tsl_asprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp) {
        free(data);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "out of memory");
    }
    enum tsl_status st = TSL_STATUS_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot create %s: %s", tmp,
                            strerror(errno));
    } else {
        st = write_all(fd, data, len, path, diag);
        if (st == TSL_STATUS_OK && fsync(fd) != 0)
            st = tsl_diag_error(diag, TSL_STATUS_IO, path, "fsync failed: %s", strerror(errno));
        if (close(fd) != 0 && st == TSL_STATUS_OK)
            st = tsl_diag_error(diag, TSL_STATUS_IO, path, "close failed: %s", strerror(errno));
        if (st == TSL_STATUS_OK && rename(tmp, path) != 0)
            st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot rename %s: %s", tmp,
                                strerror(errno));
        if (st != TSL_STATUS_OK)
            unlink(tmp);
    }
    free(tmp);
    free(data);
    return st;
}
