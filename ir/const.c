/* const.c - constant payloads: allocation, copying, decoding every weight
 * encoding (dense, masked, sparse, codebook) to a dense buffer, element
 * access by dtype, and stored-bit accounting.  Also quantization-info
 * helpers.  Decoding treats the payload as untrusted (it may come from a
 * parsed file) and reports PARSE with a diagnostic naming the value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/huffman.h"
#include "tessel/ir.h"
#include "tessel/util.h"

struct tsl_const *tsl_const_new(void)
{
    return calloc(1, sizeof(struct tsl_const));
}

void tsl_const_release(struct tsl_const *c)
{
    if (!c)
        return;
    free(c->data);
    free(c->mask);
    free(c->gaps);
    free(c->codebook);
    free(c->indices);
    free(c->channel_scale);
    memset(c, 0, sizeof *c); /* TSL_ENC_DENSE, no arrays */
}

void tsl_const_free(struct tsl_const *c)
{
    tsl_const_release(c);
    free(c);
}

static bool dup_bytes(void **dst, const void *src, size_t n)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = malloc(n ? n : 1);
    if (!*dst)
        return false;
    if (n)
        memcpy(*dst, src, n);
    return true;
}

enum tsl_status tsl_const_clone(const struct tsl_const *c, struct tsl_const **out)
{
    struct tsl_const *r = tsl_const_new();
    if (!r)
        return TSL_STATUS_NOMEM;
    *r = *c;
    bool ok = dup_bytes(&r->data, c->data, c->data_bytes) &&
              dup_bytes((void **)&r->mask, c->mask, c->mask_bytes) &&
              dup_bytes((void **)&r->gaps, c->gaps, (size_t)c->nnz) &&
              dup_bytes((void **)&r->codebook, c->codebook, c->n_codes * sizeof(float)) &&
              dup_bytes((void **)&r->indices, c->indices, c->indices_bytes) &&
              dup_bytes((void **)&r->channel_scale, c->channel_scale,
                        c->n_channels * sizeof(float));
    if (!ok) {
        /* r's pointers are a mix of fresh copies and c's; null c's out. */
        if (r->data == c->data) r->data = NULL;
        if (r->mask == c->mask) r->mask = NULL;
        if (r->gaps == c->gaps) r->gaps = NULL;
        if (r->codebook == c->codebook) r->codebook = NULL;
        if (r->indices == c->indices) r->indices = NULL;
        if (r->channel_scale == c->channel_scale) r->channel_scale = NULL;
        tsl_const_free(r);
        return TSL_STATUS_NOMEM;
    }
    *out = r;
    return TSL_STATUS_OK;
}

/* ---- element access ---- */

static uint16_t f32_to_f16(float f);
static float f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        if (m == 0) {
            bits = s;
        } else { /* subnormal */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            m &= 0x3ff;
            bits = s | (e << 23) | (m << 13);
        }
    } else if (e == 31) {
        bits = s | 0x7f800000u | (m << 13);
    } else {
        bits = s | ((e - 15 + 127) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t s = (x >> 16) & 0x8000;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff)
        return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
    if (e >= 31)
        return (uint16_t)(s | 0x7c00);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)s;
        m |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (uint16_t)(s | r);
    }
    uint32_t r = ((uint32_t)e << 10) | (m >> 13), rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
        r++; /* may carry into the exponent, which is right */
    return (uint16_t)(s | r);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

static int64_t sub_byte_get(enum tsl_dtype dt, const uint8_t *p, int64_t i)
{
    int bits = tsl_dtype_bits(dt), per = 8 / bits;
    unsigned v = (p[i / per] >> ((i % per) * bits)) & ((1u << bits) - 1);
    if (tsl_dtype_is_signed(dt) && (v & (1u << (bits - 1))))
        return (int64_t)v - (1 << bits);
    return v;
}

static void sub_byte_set(enum tsl_dtype dt, uint8_t *p, int64_t i, int64_t x)
{
    int bits = tsl_dtype_bits(dt), per = 8 / bits, sh = (int)(i % per) * bits;
    unsigned mask = ((1u << bits) - 1) << sh;
    p[i / per] = (uint8_t)((p[i / per] & ~mask) | (((unsigned)x << sh) & mask));
}

double tsl_dense_get_f64(enum tsl_dtype dt, const void *data, int64_t i)
{
    switch (dt) {
    case TSL_DTYPE_F32: return ((const float *)data)[i];
    case TSL_DTYPE_F64: return ((const double *)data)[i];
    case TSL_DTYPE_F16: return f16_to_f32(((const uint16_t *)data)[i]);
    case TSL_DTYPE_BF16: return bf16_to_f32(((const uint16_t *)data)[i]);
    case TSL_DTYPE_U64: return (double)((const uint64_t *)data)[i];
    default: return (double)tsl_dense_get_i64(dt, data, i);
    }
}

int64_t tsl_dense_get_i64(enum tsl_dtype dt, const void *data, int64_t i)
{
    switch (dt) {
    case TSL_DTYPE_I64: return ((const int64_t *)data)[i];
    case TSL_DTYPE_I32: return ((const int32_t *)data)[i];
    case TSL_DTYPE_I16: return ((const int16_t *)data)[i];
    case TSL_DTYPE_I8: return ((const int8_t *)data)[i];
    case TSL_DTYPE_U64: return (int64_t)((const uint64_t *)data)[i];
    case TSL_DTYPE_U32: return ((const uint32_t *)data)[i];
    case TSL_DTYPE_U16: return ((const uint16_t *)data)[i];
    case TSL_DTYPE_U8:
    case TSL_DTYPE_BOOL: return ((const uint8_t *)data)[i];
    case TSL_DTYPE_I4:
    case TSL_DTYPE_U4:
    case TSL_DTYPE_I2: return sub_byte_get(dt, data, i);
    case TSL_DTYPE_F32:
    case TSL_DTYPE_F64:
    case TSL_DTYPE_F16:
    case TSL_DTYPE_BF16: {
        double x = tsl_dense_get_f64(dt, data, i);
        if (!(x == x))
            return 0;
        if (x >= 9.2233720368547758e18)
            return INT64_MAX;
        if (x <= -9.2233720368547758e18)
            return INT64_MIN;
        return (int64_t)x;
    }
    default: return 0;
    }
}

void tsl_dense_set_f64(enum tsl_dtype dt, void *data, int64_t i, double x)
{
    switch (dt) {
    case TSL_DTYPE_F32: ((float *)data)[i] = (float)x; break;
    case TSL_DTYPE_F64: ((double *)data)[i] = x; break;
    case TSL_DTYPE_F16: ((uint16_t *)data)[i] = f32_to_f16((float)x); break;
    case TSL_DTYPE_BF16: ((uint16_t *)data)[i] = f32_to_bf16((float)x); break;
    case TSL_DTYPE_BOOL: ((uint8_t *)data)[i] = x != 0; break;
    default: {
        int64_t v;
        if (!(x == x))
            v = 0;
        else if (x >= 9.2233720368547758e18)
            v = INT64_MAX;
        else if (x <= -9.2233720368547758e18)
            v = INT64_MIN;
        else
            v = (int64_t)x;
        tsl_dense_set_i64(dt, data, i, v);
    }
    }
}

void tsl_dense_set_i64(enum tsl_dtype dt, void *data, int64_t i, int64_t x)
{
    switch (dt) {
    case TSL_DTYPE_I64: ((int64_t *)data)[i] = x; break;
    case TSL_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)x; break;
    case TSL_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)x; break;
    case TSL_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)x; break;
    case TSL_DTYPE_U64: ((uint64_t *)data)[i] = (uint64_t)x; break;
    case TSL_DTYPE_U32: ((uint32_t *)data)[i] = (uint32_t)x; break;
    case TSL_DTYPE_U16: ((uint16_t *)data)[i] = (uint16_t)x; break;
    case TSL_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)x; break;
    case TSL_DTYPE_BOOL: ((uint8_t *)data)[i] = x != 0; break;
    case TSL_DTYPE_I4:
    case TSL_DTYPE_U4:
    case TSL_DTYPE_I2: sub_byte_set(dt, data, i, x); break;
    case TSL_DTYPE_F32:
    case TSL_DTYPE_F64:
    case TSL_DTYPE_F16:
    case TSL_DTYPE_BF16: tsl_dense_set_f64(dt, data, i, (double)x); break;
    default: break;
    }
}

/* ---- decoding ---- */

static bool bit_set(const uint8_t *bits, int64_t i)
{
    return (bits[i / 8] >> (i % 8)) & 1;
}

static uint32_t read_index(const uint8_t *p, int64_t i, unsigned bits)
{
    uint64_t bit = (uint64_t)i * bits;
    uint32_t v = 0;
    for (unsigned b = 0; b < bits; b++, bit++)
        v |= (uint32_t)((p[bit / 8] >> (bit % 8)) & 1) << b;
    return v;
}

enum tsl_status tsl_const_decode(const struct tsl_value *v, void **dense_out,
                                 struct tsl_diag *diag)
{
    const struct tsl_const *c = v->constant;
    const char *where = v->name;
    int64_t numel, bytes;
    if (!c)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where, "not a constant");
    if (!tsl_shape_numel(&v->type.shape, &numel) ||
        !tsl_dtype_storage_bytes(v->type.dtype, numel, &bytes))
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "constant has no static size for dtype %s",
                              tsl_dtype_name(v->type.dtype));
    int64_t mbytes = numel / 8 + (numel % 8 != 0);
    uint8_t *out = calloc(1, bytes ? (size_t)bytes : 1);
    if (!out)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "cannot allocate %lld bytes",
                              (long long)bytes);
    enum tsl_status st = TSL_STATUS_OK;
    switch (c->encoding) {
    case TSL_ENC_DENSE:
    case TSL_ENC_MASKED:
        if ((int64_t)c->data_bytes != bytes || (bytes && !c->data)) {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "payload has %zu bytes, type needs %lld", c->data_bytes,
                                (long long)bytes);
            break;
        }
        if (bytes)
            memcpy(out, c->data, (size_t)bytes);
        if (c->encoding == TSL_ENC_MASKED) {
            if (!c->mask || (int64_t)c->mask_bytes != mbytes) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where, "mask has wrong size");
                break;
            }
            for (int64_t i = 0; i < numel; i++)
                if (!bit_set(c->mask, i))
                    tsl_dense_set_i64(v->type.dtype, out, i, 0);
        }
        break;
    case TSL_ENC_SPARSE: {
        int64_t elem_bits = tsl_dtype_bits(v->type.dtype), need;
        if (c->nnz < 0 || !tsl_dtype_storage_bytes(v->type.dtype, c->nnz, &need) ||
            (int64_t)c->data_bytes != need || (c->nnz && (!c->gaps || !c->data))) {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "sparse payload inconsistent (%lld entries, %zu bytes)",
                                (long long)c->nnz, c->data_bytes);
            break;
        }
        (void)elem_bits;
        int64_t pos = -1;
        for (int64_t k = 0; k < c->nnz; k++) {
            pos += (int64_t)c->gaps[k] + 1;
            if (pos >= numel) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                    "sparse position %lld past %lld elements", (long long)pos,
                                    (long long)numel);
                break;
            }
            if (tsl_dtype_is_float(v->type.dtype))
                tsl_dense_set_f64(v->type.dtype, out, pos,
                                  tsl_dense_get_f64(v->type.dtype, c->data, k));
            else
                tsl_dense_set_i64(v->type.dtype, out, pos,
                                  tsl_dense_get_i64(v->type.dtype, c->data, k));
        }
        break;
    }
    case TSL_ENC_CODEBOOK: {
        int32_t rank = v->type.shape.rank, axis = c->axis;
        int64_t ib = ((numel * c->index_bits) + 7) / 8;
        if (v->type.dtype != TSL_DTYPE_F32 || c->index_bits < 1 || c->index_bits > 8 ||
            c->coding > TSL_CODING_HUFFMAN ||
            !c->codebook || c->n_codes == 0 || c->n_codes > (1u << c->index_bits) ||
            !c->indices || (int64_t)c->indices_bytes != ib ||
            (c->mask && (int64_t)c->mask_bytes != mbytes) ||
            (c->n_channels && (axis < 0 || axis >= rank ||
                               (int64_t)c->n_channels != v->type.shape.dims[axis] ||
                               !c->channel_scale))) {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "codebook payload inconsistent with type");
            break;
        }
        int64_t inner = 1;
        for (int32_t d = axis + 1; c->n_channels && d < rank; d++)
            inner *= v->type.shape.dims[d];
        float *f = (float *)out;
        for (int64_t i = 0; i < numel; i++) {
            uint32_t idx = read_index(c->indices, i, c->index_bits);
            if (idx >= c->n_codes) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                    "codebook index %u out of %u codes", idx, c->n_codes);
                break;
            }
            float s = c->n_channels ? c->channel_scale[(i / inner) % c->n_channels] : 1.0f;
            f[i] = (c->mask && !bit_set(c->mask, i)) ? 0.0f : c->codebook[idx] * s;
        }
        break;
    }
    default:
        st = tsl_diag_error(diag, TSL_STATUS_PARSE, where, "unknown weight encoding %d",
                            (int)c->encoding);
    }
    if (st != TSL_STATUS_OK) {
        free(out);
        return st;
    }
    *dense_out = out;
    return TSL_STATUS_OK;
}

static int64_t gap_symbols(const uint8_t *mask, int64_t numel, int w)
{
    int64_t esc = ((int64_t)1 << w) - 1, sym = 0, last = -1;
    for (int64_t i = 0; i < numel; i++)
        if (bit_set(mask, i)) {
            sym += (i - last - 1) / esc + 1;
            last = i;
        }
    return sym;
}

void tsl_mask_coding(const uint8_t *mask, int64_t numel, struct tsl_mask_coding *out)
{
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < numel; i++)
        out->kept += mask ? bit_set(mask, i) : 1;
    if (out->kept == numel)
        return;
    out->bytes = numel / 8 + (numel % 8 != 0);
    for (int w = 1; w <= TSL_MASK_MAX_GAP_BITS; w++) {
        int64_t sym = gap_symbols(mask, numel, w), bytes = 9 + (sym * w + 7) / 8;
        if (bytes < out->bytes) {
            out->bytes = bytes;
            out->gap_width = w;
            out->gap_symbols = sym;
        }
    }
}

int64_t tsl_codebook_huffman_bits(const uint64_t *counts, uint32_t n_codes)
{
    uint8_t len[TSL_HUFF_MAX_SYMS];
    int64_t coded = tsl_huff_lengths(counts, n_codes, len);
    return ((int64_t)n_codes * TSL_HUFF_LEN_BITS + coded + 7) / 8 * 8;
}

void tsl_codebook_index_counts(const struct tsl_const *c, int64_t numel, uint64_t *counts)
{
    memset(counts, 0, TSL_HUFF_MAX_SYMS * sizeof *counts);
    bool masked = c->mask && (int64_t)c->mask_bytes * 8 >= numel;
    for (int64_t i = 0; i < numel; i++)
        if (!masked || bit_set(c->mask, i))
            counts[read_index(c->indices, i, c->index_bits)]++; /* < 2^8 */
}

/* Huffman-coded size of the kept indices of a CODEBOOK payload. */
static int64_t huffman_index_bits(const struct tsl_const *c, int64_t numel)
{
    uint64_t counts[TSL_HUFF_MAX_SYMS];
    tsl_codebook_index_counts(c, numel, counts);
    return tsl_codebook_huffman_bits(counts, c->n_codes);
}

int64_t tsl_const_stored_bits(const struct tsl_value *v)
{
    const struct tsl_const *c = v->constant;
    int64_t numel;
    if (!c || !tsl_shape_numel(&v->type.shape, &numel))
        return 0;
    int64_t elem_bits = tsl_dtype_bits(v->type.dtype);
    struct tsl_mask_coding mc;
    switch (c->encoding) {
    case TSL_ENC_DENSE:
        return (int64_t)c->data_bytes * 8;
    case TSL_ENC_MASKED:
        if (!c->mask || (int64_t)c->mask_bytes * 8 < numel)
            return (int64_t)c->data_bytes * 8;
        tsl_mask_coding(c->mask, numel, &mc);
        return mc.kept * elem_bits + mc.bytes * 8;
    case TSL_ENC_SPARSE:
        return (int64_t)c->data_bytes * 8 + c->nnz * 8;
    case TSL_ENC_CODEBOOK: {
        int64_t kept = numel, pattern = 0;
        bool masked = c->mask && (int64_t)c->mask_bytes * 8 >= numel;
        if (masked) {
            tsl_mask_coding(c->mask, numel, &mc);
            kept = mc.kept;
            pattern = mc.bytes * 8;
        }
        int64_t index = (kept * c->index_bits + 7) / 8 * 8;
        if (c->coding == TSL_CODING_HUFFMAN && c->indices &&
            (int64_t)c->indices_bytes * 8 >= numel * c->index_bits && c->n_codes <= 256)
            index = huffman_index_bits(c, numel);
        return index + pattern + (int64_t)c->n_codes * 32 + (int64_t)c->n_channels * 32;
    }
    }
    return 0;
}

/* ---- quantization info ---- */

void tsl_quant_fini(struct tsl_quant *q)
{
    free(q->exponent);
    free(q->scale);
    free(q->zero_point);
    memset(q, 0, sizeof *q);
    q->axis = -1;
}

enum tsl_status tsl_quant_copy(struct tsl_quant *dst, const struct tsl_quant *src)
{
    struct tsl_quant r = *src;
    r.exponent = NULL;
    r.scale = NULL;
    r.zero_point = NULL;
    bool ok = dup_bytes((void **)&r.exponent, src->exponent, src->n * sizeof(int32_t)) &&
              dup_bytes((void **)&r.scale, src->scale, src->n * sizeof(float)) &&
              dup_bytes((void **)&r.zero_point, src->zero_point, src->n * sizeof(int32_t));
    if (!ok) {
        free(r.exponent);
        free(r.scale);
        free(r.zero_point);
        return TSL_STATUS_NOMEM;
    }
    tsl_quant_fini(dst);
    *dst = r;
    return TSL_STATUS_OK;
}
