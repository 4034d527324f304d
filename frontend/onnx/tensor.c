/* tensor.c - ONNX TensorProto -> dense little-endian buffer, for every data
 * encoding ONNX allows (raw_data, float_data, int32_data carrying the small
 * integer and 16-bit float types, int64_data, double_data, uint64_data,
 * external data), with the checks hostile files need: exactly one data
 * field, dims non-negative and their product within int64 and the tensor
 * budget, payload length equal to what dims and dtype imply.  Also
 * tsl_onnx_read_tensor for .pb test-data files.  It does not turn tensors
 * into graph values (import_graph.c does). */
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

/* The data fields present in t, counted. */
static int count_data_fields(const Onnx__TensorProto *t, bool external)
{
    int n = 0;
    n += t->has_raw_data ? 1 : 0;
    n += t->n_float_data ? 1 : 0;
    n += t->n_int32_data ? 1 : 0;
    n += t->n_int64_data ? 1 : 0;
    n += t->n_double_data ? 1 : 0;
    n += t->n_uint64_data ? 1 : 0;
    n += t->n_string_data ? 1 : 0;
    n += external ? 1 : 0;
    return n;
}

static void bswap_elems(void *data, size_t bytes, int elem)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char *p = data;
    for (size_t i = 0; elem > 1 && i + (size_t)elem <= bytes; i += (size_t)elem)
        for (int a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char c = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = c;
        }
#else
    (void)data;
    (void)bytes;
    (void)elem;
#endif
}

static enum tsl_status count_mismatch(struct tsl_diag *diag, const char *where,
                                      const char *field, size_t have, int64_t want)
{
    return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                          "%s has %zu elements but dims imply %lld", field, have,
                          (long long)want);
}

/* int32_data -> the narrower types ONNX packs into it. */
static enum tsl_status from_int32(const Onnx__TensorProto *t, struct tsl_onnx_dense *o,
                                  const char *where, struct tsl_diag *diag)
{
    int64_t lo, hi;
    switch (o->dtype) {
    case TSL_DTYPE_I32: lo = INT32_MIN; hi = INT32_MAX; break;
    case TSL_DTYPE_I16: lo = INT16_MIN; hi = INT16_MAX; break;
    case TSL_DTYPE_I8: lo = INT8_MIN; hi = INT8_MAX; break;
    case TSL_DTYPE_U16: case TSL_DTYPE_F16: case TSL_DTYPE_BF16: lo = 0; hi = UINT16_MAX; break;
    case TSL_DTYPE_U8: lo = 0; hi = UINT8_MAX; break;
    case TSL_DTYPE_BOOL: lo = 0; hi = 1; break;
    default:
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "int32_data cannot carry %s elements", tsl_dtype_name(o->dtype));
    }
    if ((int64_t)t->n_int32_data != o->numel)
        return count_mismatch(diag, where, "int32_data", t->n_int32_data, o->numel);
    for (size_t i = 0; i < t->n_int32_data; i++) {
        int64_t x = t->int32_data[i];
        if (x < lo || x > hi)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                  "int32_data[%zu] = %lld is out of range for %s", i,
                                  (long long)x, tsl_dtype_name(o->dtype));
        if (o->dtype == TSL_DTYPE_F16 || o->dtype == TSL_DTYPE_BF16 || o->dtype == TSL_DTYPE_U16 ||
            o->dtype == TSL_DTYPE_I16) {
            uint16_t u = (uint16_t)(x & 0xffff);
            memcpy((char *)o->data + 2 * i, &u, 2);
            bswap_elems((char *)o->data + 2 * i, 2, 2);
        } else if (o->dtype == TSL_DTYPE_I32) {
            int32_t w = (int32_t)x;
            memcpy((char *)o->data + 4 * i, &w, 4);
            bswap_elems((char *)o->data + 4 * i, 4, 4);
        } else {
            ((uint8_t *)o->data)[i] = (uint8_t)(x & 0xff);
        }
    }
    return TSL_STATUS_OK;
}

/* Copy a typed repeated field whose C element type matches the dtype. */
static enum tsl_status copy_field(struct tsl_onnx_dense *o, const void *src, size_t n,
                                  size_t elem, const char *field, bool dtype_ok,
                                  const char *where, struct tsl_diag *diag)
{
    if (!dtype_ok)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "%s cannot carry %s elements",
                              field, tsl_dtype_name(o->dtype));
    if ((int64_t)n != o->numel)
        return count_mismatch(diag, where, field, n, o->numel);
    if (o->dtype == TSL_DTYPE_U32 && elem == 8) { /* uint64_data carrying uint32 */
        const uint64_t *s = src;
        for (size_t i = 0; i < n; i++) {
            if (s[i] > UINT32_MAX)
                return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                      "uint64_data[%zu] is out of range for u32", i);
            uint32_t w = (uint32_t)s[i];
            memcpy((char *)o->data + 4 * i, &w, 4);
        }
        bswap_elems(o->data, o->bytes, 4);
        return TSL_STATUS_OK;
    }
    if (n)
        memcpy(o->data, src, n * elem);
    bswap_elems(o->data, o->bytes, (int)elem);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_tensor_decode(struct tsl_onnx_tensor_ctx *ctx,
                                       const Onnx__TensorProto *t, const char *where,
                                       struct tsl_onnx_dense *out, struct tsl_diag *diag)
{
    memset(out, 0, sizeof(*out));
    int32_t code = t->has_data_type ? t->data_type : 0;
    if (code == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "string tensors are unsupported");
    if (!tsl_onnx_dtype_from_onnx(code, &out->dtype)) {
        if (code == 0)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "tensor has no data_type");
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "tensor data_type %d (%s) is unsupported", (int)code,
                              tsl_onnx_dtype_onnx_name(code));
    }
    if (t->n_dims > TSL_MAX_RANK)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "tensor rank %zu exceeds the maximum rank %d", t->n_dims,
                              TSL_MAX_RANK);
    if (t->segment)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "segmented tensors are unsupported");
    out->shape.rank = (int32_t)t->n_dims;
    int64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "negative dim %lld at axis %zu",
                                  (long long)t->dims[i], i);
        out->shape.dims[i] = t->dims[i];
        if (!tsl_mul_i64(numel, t->dims[i], &numel))
            return tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                                  "element count of the dims overflows int64");
    }
    int64_t bytes;
    if (!tsl_dtype_storage_bytes(out->dtype, numel, &bytes))
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                              "byte size of the dims overflows int64");
    if (bytes > ctx->budget_left)
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                              "tensor of %lld bytes exceeds the remaining tensor budget of %lld bytes",
                              (long long)bytes, (long long)ctx->budget_left);
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    int nf = count_data_fields(t, external);
    if (nf > 1)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "tensor has %d data fields; exactly one is allowed", nf);
    if (t->n_string_data)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "string_data given for a %s tensor", tsl_dtype_name(out->dtype));
    if (nf == 0 && numel != 0)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "tensor has no data");
    out->numel = numel;
    out->bytes = (size_t)bytes;
    enum tsl_dtype dt = out->dtype;
    int eb = tsl_dtype_bits(dt) / 8;
    /* Check the payload length before allocating: a tiny file must not be
     * able to make us allocate what its dims claim. */
    if (!external && nf) {
        size_t have = t->has_raw_data ? t->raw_data.len
                      : t->n_float_data ? t->n_float_data
                      : t->n_int32_data ? t->n_int32_data
                      : t->n_int64_data ? t->n_int64_data
                      : t->n_double_data ? t->n_double_data
                                         : t->n_uint64_data;
        const char *fname = t->has_raw_data ? "raw_data"
                            : t->n_float_data ? "float_data"
                            : t->n_int32_data ? "int32_data"
                            : t->n_int64_data ? "int64_data"
                            : t->n_double_data ? "double_data"
                                               : "uint64_data";
        if (t->has_raw_data && have != out->bytes)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                  "raw_data is %zu bytes but dims and dtype %s imply %lld", have,
                                  tsl_dtype_name(dt), (long long)bytes);
        if (!t->has_raw_data && (int64_t)have != numel)
            return count_mismatch(diag, where, fname, have, numel);
    }
    enum tsl_status st = TSL_STATUS_OK;
    if (external) {
        st = tsl_onnx_external_read(ctx, t, where, &out->data, out->bytes, diag);
        if (st == TSL_STATUS_OK)
            bswap_elems(out->data, out->bytes, eb);
        if (st != TSL_STATUS_OK)
            return st;
        ctx->budget_left -= bytes;
        return TSL_STATUS_OK;
    }
    out->data = malloc(out->bytes ? out->bytes : 1);
    if (!out->data)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory for %lld bytes",
                              (long long)bytes);
    if (t->has_raw_data) {
        if (out->bytes)
            memcpy(out->data, t->raw_data.data, out->bytes);
        bswap_elems(out->data, out->bytes, eb);
    } else if (t->n_float_data) {
        st = copy_field(out, t->float_data, t->n_float_data, 4, "float_data",
                        dt == TSL_DTYPE_F32, where, diag);
    } else if (t->n_int32_data) {
        st = from_int32(t, out, where, diag);
    } else if (t->n_int64_data) {
        st = copy_field(out, t->int64_data, t->n_int64_data, 8, "int64_data",
                        dt == TSL_DTYPE_I64, where, diag);
    } else if (t->n_double_data) {
        st = copy_field(out, t->double_data, t->n_double_data, 8, "double_data",
                        dt == TSL_DTYPE_F64, where, diag);
    } else if (t->n_uint64_data) {
        st = copy_field(out, t->uint64_data, t->n_uint64_data, 8, "uint64_data",
                        dt == TSL_DTYPE_U64 || dt == TSL_DTYPE_U32, where, diag);
    }
    if (st != TSL_STATUS_OK) {
        free(out->data);
        out->data = NULL;
        return st;
    }
    ctx->budget_left -= bytes;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_read_tensor(const void *data, size_t len, const char *display_name,
                                     enum tsl_dtype *dtype_out, struct tsl_shape *shape_out,
                                     void **data_out, char **name_out, struct tsl_diag *diag)
{
    const char *where = display_name ? display_name : "<tensor>";
    if ((!data && len) || !dtype_out || !shape_out || !data_out)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where, "NULL argument");
    *data_out = NULL;
    if (name_out)
        *name_out = NULL;
    struct tsl_onnx_budget budget;
    ProtobufCMessage *m;
    TSL_TRY(tsl_onnx_unpack(data, len, TSL_ONNX_ROOT_TENSOR, 0, where, &budget, &m, diag));
    const Onnx__TensorProto *t = (const Onnx__TensorProto *)m;
    struct tsl_onnx_tensor_ctx ctx = {NULL, TSL_ONNX_DEFAULT_TENSOR_BYTES};
    struct tsl_onnx_dense d;
    enum tsl_status st = tsl_onnx_tensor_decode(&ctx, t, where, &d, diag);
    if (st == TSL_STATUS_OK && name_out) {
        *name_out = tsl_strdup(t->name ? t->name : "");
        if (!*name_out) {
            free(d.data);
            st = tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
        }
    }
    if (st == TSL_STATUS_OK) {
        *dtype_out = d.dtype;
        *shape_out = d.shape;
        *data_out = d.data;
    }
    tsl_onnx_unpacked_free(m, &budget);
    return st;
}
