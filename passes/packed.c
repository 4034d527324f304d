/* packed.c - writer and reader of the compressed weight container
 * (packed.h; byte format in docs/passes.md).  The writer turns the IR's
 * weight encodings into the container's compact form (kept-entry indices
 * only, smallest sparsity pattern); the reader validates every field of
 * untrusted bytes and rebuilds IR constants whose decode equals the
 * original's bit for bit.  No files, no printing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress_common.h"
#include "tessel/huffman.h"
#include "tessel/packed.h"
#include "tessel/util.h"

enum { MAX_NAME = 1024, MAX_GAP_BITS = TSL_MASK_MAX_GAP_BITS };

/* ---- writer ---- */

struct obuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static uint8_t *ob_reserve(struct obuf *b, size_t n)
{
    if (b->oom || !tsl_grow((void **)&b->p, &b->cap, b->len + n, 1)) {
        b->oom = true;
        return NULL;
    }
    uint8_t *q = b->p + b->len;
    memset(q, 0, n);
    b->len += n;
    return q;
}

static void ob_uint(struct obuf *b, uint64_t v, int bytes)
{
    uint8_t *q = ob_reserve(b, (size_t)bytes);
    for (int i = 0; q && i < bytes; i++)
        q[i] = (uint8_t)(v >> (8 * i));
}

static void ob_f32(struct obuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    ob_uint(b, u, 4);
}

static void ob_bytes(struct obuf *b, const void *src, size_t n)
{
    uint8_t *q = ob_reserve(b, n);
    if (q && n)
        memcpy(q, src, n);
}

/* The pattern block for mask (NULL = all kept); returns the kept count.
 * The choice of coding is tsl_mask_coding's, the same one the compression
 * rate is computed from (tsl_const_stored_bits). */
static int64_t write_pattern(struct obuf *b, const uint8_t *mask, int64_t numel)
{
    struct tsl_mask_coding mc;
    tsl_mask_coding(mask, numel, &mc);
    int64_t kept = mc.kept, best_sym = mc.gap_symbols;
    int best_w = mc.gap_width;
    if (!mask || kept == numel) {
        ob_uint(b, TSL_PATTERN_ALL, 1);
        return numel;
    }
    if (!best_w) {
        ob_uint(b, TSL_PATTERN_BITMASK, 1);
        uint8_t *q = ob_reserve(b, (size_t)tsl_bitset_bytes(numel));
        for (int64_t i = 0; q && i < numel; i++)
            if (tsl_bit_get(mask, i))
                tsl_bit_put(q, i, true);
        return kept;
    }
    ob_uint(b, TSL_PATTERN_GAPS, 1);
    ob_uint(b, (uint64_t)best_w, 1);
    ob_uint(b, (uint64_t)best_sym, 8);
    uint8_t *q = ob_reserve(b, (size_t)((best_sym * best_w + 7) / 8));
    int64_t esc = ((int64_t)1 << best_w) - 1, s = 0, last = -1;
    for (int64_t i = 0; q && i < numel; i++)
        if (tsl_bit_get(mask, i)) {
            int64_t gap = i - last - 1;
            for (; gap >= esc; gap -= esc)
                tsl_bits_write(q, s++, (unsigned)best_w, (uint32_t)esc);
            tsl_bits_write(q, s++, (unsigned)best_w, (uint32_t)gap);
            last = i;
        }
    return kept;
}

/* Huffman-coded indices of the kept elements: one bit stream of a 5-bit
 * code length per code, then the codes; its size is what
 * tsl_codebook_huffman_bits counts. */
static enum tsl_status write_huffman(struct obuf *b, const struct tsl_const *c, int64_t numel,
                                     struct tsl_diag *diag)
{
    uint64_t counts[TSL_HUFF_MAX_SYMS];
    uint8_t len[TSL_HUFF_MAX_SYMS];
    uint32_t code[TSL_HUFF_MAX_SYMS];
    tsl_codebook_index_counts(c, numel, counts);
    int64_t coded = tsl_huff_lengths(counts, c->n_codes, len);
    if (coded == 0) { /* nothing kept: an all-zero table */
        ob_reserve(b, (size_t)((c->n_codes * TSL_HUFF_LEN_BITS + 7) / 8));
        return TSL_STATUS_OK;
    }
    if (!tsl_huff_codes(len, c->n_codes, code))
        return tsl_diag_error(diag, TSL_STATUS_INTERNAL, "packed", "invalid Huffman lengths");
    int64_t nbits = (int64_t)c->n_codes * TSL_HUFF_LEN_BITS + coded;
    uint8_t *q = ob_reserve(b, (size_t)((nbits + 7) / 8));
    if (!q)
        return TSL_STATUS_OK; /* b->oom reports it */
    for (uint32_t k = 0; k < c->n_codes; k++)
        tsl_bits_write(q, k, TSL_HUFF_LEN_BITS, len[k]);
    uint64_t pos = (uint64_t)c->n_codes * TSL_HUFF_LEN_BITS;
    for (int64_t i = 0; i < numel; i++)
        if (!c->mask || tsl_bit_get(c->mask, i)) {
            uint32_t idx = tsl_bits_read(c->indices, i, c->index_bits);
            tsl_huff_put(q, &pos, code[idx], len[idx]);
        }
    return TSL_STATUS_OK;
}

static enum tsl_status write_layer(struct obuf *b, const struct tsl_cweight *w,
                                   struct tsl_diag *diag)
{
    const struct tsl_value *v = w->value;
    const struct tsl_const *c = v->constant;
    float *vals;
    TSL_TRY(tsl_const_decode(v, (void **)&vals, diag)); /* validates c */
    size_t nl = strlen(v->name);
    if (nl == 0 || nl > MAX_NAME) {
        free(vals);
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, v->name,
                              "weight name must have 1..%d bytes", MAX_NAME);
    }
    ob_uint(b, nl, 2);
    ob_bytes(b, v->name, nl);
    const struct tsl_shape *s = &v->type.shape;
    enum tsl_packed_kind kind = c->encoding == TSL_ENC_CODEBOOK ? TSL_PACKED_CODEBOOK
                                : c->encoding == TSL_ENC_MASKED ? TSL_PACKED_SPARSE
                                                                : TSL_PACKED_RAW;
    ob_uint(b, (uint64_t)s->rank, 1);
    ob_uint(b, kind, 1);
    for (int32_t d = 0; d < s->rank; d++)
        ob_uint(b, (uint64_t)s->dims[d], 8);
    if (kind == TSL_PACKED_RAW) {
        for (int64_t i = 0; i < w->numel; i++)
            ob_f32(b, vals[i]);
        free(vals);
        return TSL_STATUS_OK;
    }
    int64_t kept = write_pattern(b, c->mask, w->numel);
    (void)kept;
    if (kind == TSL_PACKED_SPARSE) {
        for (int64_t i = 0; i < w->numel; i++)
            if (tsl_bit_get(c->mask, i))
                ob_f32(b, vals[i]);
        free(vals);
        return TSL_STATUS_OK;
    }
    free(vals);
    ob_uint(b, c->index_bits, 1);
    ob_uint(b, c->n_channels ? (uint64_t)c->axis : 0, 1);
    ob_uint(b, c->coding, 1);
    ob_uint(b, 0, 1);
    ob_uint(b, c->n_codes, 4);
    for (uint32_t k = 0; k < c->n_codes; k++)
        ob_f32(b, c->codebook[k]);
    ob_uint(b, c->n_channels, 4);
    for (uint32_t k = 0; k < c->n_channels; k++)
        ob_f32(b, c->channel_scale[k]);
    if (c->coding == TSL_CODING_HUFFMAN)
        return write_huffman(b, c, w->numel, diag);
    uint8_t *q = ob_reserve(b, (size_t)((kept * c->index_bits + 7) / 8));
    for (int64_t i = 0, k = 0; q && i < w->numel; i++)
        if (!c->mask || tsl_bit_get(c->mask, i))
            tsl_bits_write(q, k++, c->index_bits, tsl_bits_read(c->indices, i, c->index_bits));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_packed_write(struct tsl_graph *g, uint8_t **buf_out, size_t *len_out,
                                 struct tsl_diag *diag)
{
    struct tsl_cweights ws;
    TSL_TRY(tsl_cw_find(g, &ws, diag));
    if (ws.n == 0) {
        tsl_cw_fini(&ws);
        return tsl_cw_none_error(&ws, "packed", diag);
    }
    struct obuf b = {0};
    ob_bytes(&b, TSL_PACKED_MAGIC, 4);
    ob_uint(&b, TSL_PACKED_VERSION, 2);
    ob_uint(&b, 0, 2);
    ob_uint(&b, ws.n, 4);
    enum tsl_status st = TSL_STATUS_OK;
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < ws.n; i++)
        st = write_layer(&b, &ws.w[i], diag);
    tsl_cw_fini(&ws);
    if (st == TSL_STATUS_OK && b.oom)
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, "packed", "out of memory");
    if (st != TSL_STATUS_OK) {
        free(b.p);
        return st;
    }
    *buf_out = b.p;
    *len_out = b.len;
    return TSL_STATUS_OK;
}

/* ---- reader ---- */

struct ibuf {
    const uint8_t *p;
    size_t len, off;
    const char *where;
    struct tsl_diag *diag;
    char layer[96]; /* "layer 3 ('name')" context for messages */
};

static enum tsl_status bad(struct ibuf *b, const char *what)
{
    return tsl_diag_error(b->diag, TSL_STATUS_PARSE, b->where, "byte %zu: %s%s%s", b->off,
                          b->layer, b->layer[0] ? ": " : "", what);
}

/* Take n bytes; NULL (and a diagnostic) if fewer are left. */
static const uint8_t *take(struct ibuf *b, size_t n, const char *what, enum tsl_status *st)
{
    if (b->len - b->off < n) {
        char msg[128];
        snprintf(msg, sizeof msg, "truncated %s (%zu bytes needed, %zu left)", what, n,
                 b->len - b->off);
        *st = bad(b, msg);
        return NULL;
    }
    const uint8_t *q = b->p + b->off;
    b->off += n;
    return q;
}

static bool rd_uint(struct ibuf *b, int bytes, const char *what, uint64_t *v,
                    enum tsl_status *st)
{
    const uint8_t *q = take(b, (size_t)bytes, what, st);
    if (!q)
        return false;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)q[i] << (8 * i);
    return true;
}

static float f32_at(const uint8_t *q)
{
    uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                 (uint32_t)q[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Bytes for n items of `bits` bits, or SIZE_MAX on overflow. */
static size_t packed_bytes(int64_t n, int64_t bits)
{
    int64_t t;
    if (!tsl_mul_i64(n, bits, &t) || t > INT64_MAX - 7)
        return SIZE_MAX;
    return (size_t)((t + 7) / 8);
}

/* Read a pattern block into mask (numel bits, preset to 0); *kept_out. */
static enum tsl_status read_pattern(struct ibuf *b, uint8_t *mask, int64_t numel,
                                    int64_t *kept_out)
{
    enum tsl_status st = TSL_STATUS_OK;
    uint64_t kind, w, nsym;
    int64_t kept = 0;
    if (!rd_uint(b, 1, "pattern kind", &kind, &st))
        return st;
    if (kind == TSL_PATTERN_ALL) {
        for (int64_t i = 0; i < numel; i++)
            tsl_bit_put(mask, i, true);
        *kept_out = numel;
        return TSL_STATUS_OK;
    }
    if (kind == TSL_PATTERN_BITMASK) {
        size_t nb = (size_t)tsl_bitset_bytes(numel);
        const uint8_t *q = take(b, nb, "bitmask", &st);
        if (!q)
            return st;
        if (numel % 8 && (q[nb - 1] >> (numel % 8)))
            return bad(b, "bitmask has bits set past the last element");
        memcpy(mask, q, nb);
        for (int64_t i = 0; i < numel; i++)
            kept += tsl_bit_get(mask, i);
        *kept_out = kept;
        return TSL_STATUS_OK;
    }
    if (kind != TSL_PATTERN_GAPS)
        return bad(b, "unknown sparsity pattern kind (expected 0 all, 1 bitmask, 2 gaps)");
    if (!rd_uint(b, 1, "gap width", &w, &st) || !rd_uint(b, 8, "gap count", &nsym, &st))
        return st;
    if (w < 1 || w > MAX_GAP_BITS)
        return bad(b, "gap width outside 1..16 bits");
    size_t nb = nsym > (uint64_t)INT64_MAX ? SIZE_MAX : packed_bytes((int64_t)nsym, (int64_t)w);
    if (nb == SIZE_MAX || nb > b->len - b->off)
        return bad(b, "gap stream longer than the rest of the input");
    const uint8_t *q = take(b, nb, "gaps", &st);
    if (!q)
        return st;
    uint32_t esc = (1u << w) - 1;
    int64_t pos = -1;
    for (int64_t s = 0; s < (int64_t)nsym; s++) {
        uint32_t v = tsl_bits_read(q, s, (unsigned)w);
        pos += v == esc ? (int64_t)esc : (int64_t)v + 1;
        if (pos >= numel)
            return bad(b, "gap runs past the last element");
        if (v == esc) {
            if (s == (int64_t)nsym - 1)
                return bad(b, "gap stream ends with an escape");
            continue;
        }
        tsl_bit_put(mask, pos, true);
        kept++;
    }
    if (nsym && ((uint64_t)nsym * w) % 8 && (q[nb - 1] >> (((uint64_t)nsym * w) % 8)))
        return bad(b, "gap stream has non-zero padding bits");
    if (kept == numel)
        return bad(b, "gap pattern keeps every element (use pattern 0)");
    *kept_out = kept;
    return TSL_STATUS_OK;
}

/* Huffman-coded indices (write_huffman's stream) into c->indices, whose
 * n_codes and index_bits are set. */
static enum tsl_status read_huffman(struct ibuf *b, struct tsl_const *c, int64_t numel,
                                    const uint8_t *mask, int64_t kept)
{
    enum tsl_status st = TSL_STATUS_OK;
    uint32_t n = c->n_codes;
    size_t tb = (size_t)((n * TSL_HUFF_LEN_BITS + 7) / 8);
    const uint8_t *q = take(b, tb, "Huffman code lengths", &st);
    if (!q)
        return st;
    uint8_t len[TSL_HUFF_MAX_SYMS];
    for (uint32_t k = 0; k < n; k++)
        len[k] = (uint8_t)tsl_bits_read(q, k, TSL_HUFF_LEN_BITS);
    c->indices_bytes = packed_bytes(numel, c->index_bits);
    c->indices = calloc(c->indices_bytes ? c->indices_bytes : 1, 1);
    if (!c->indices)
        return tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
    struct tsl_huff_decoder d;
    bool any = false;
    for (uint32_t k = 0; k < n; k++)
        any |= len[k] != 0;
    if (kept == 0) {
        if (any)
            return bad(b, "Huffman table of a layer with no kept element is not empty");
        return TSL_STATUS_OK;
    }
    if (!tsl_huff_decoder_init(&d, len, n))
        return bad(b, "Huffman code lengths do not form a complete prefix code");
    /* The stream follows the table in the same bit sequence; it ends at
     * the byte boundary after the last code, which is found by decoding
     * from the bytes that are there (at most 20 bits per element). */
    uint64_t start = (uint64_t)n * TSL_HUFF_LEN_BITS, pos = start;
    size_t avail = b->len - b->off + tb;
    const uint8_t *all = q;
    uint64_t nbits = (uint64_t)avail * 8;
    for (int64_t i = 0; i < numel; i++)
        if (tsl_bit_get(mask, i)) {
            int32_t sym = tsl_huff_get(&d, all, nbits, &pos);
            if (sym < 0)
                return bad(b, "Huffman stream is truncated or holds an unassigned code");
            tsl_bits_write(c->indices, i, c->index_bits, (uint32_t)sym);
        }
    size_t used = (size_t)((pos + 7) / 8);
    if (pos % 8 && (all[used - 1] >> (pos % 8)))
        return bad(b, "Huffman stream has non-zero padding bits");
    if (!take(b, used - tb, "Huffman stream", &st))
        return st;
    return TSL_STATUS_OK;
}

/* Read the codebook part of a layer into c (allocations owned by c). */
static enum tsl_status read_codebook(struct ibuf *b, struct tsl_const *c,
                                     const struct tsl_shape *s, int64_t numel,
                                     const uint8_t *mask, int64_t kept)
{
    enum tsl_status st = TSL_STATUS_OK;
    uint64_t bits, axis, coding, rsv, ncodes, nch;
    if (!rd_uint(b, 1, "index bits", &bits, &st) || !rd_uint(b, 1, "axis", &axis, &st) ||
        !rd_uint(b, 1, "index coding", &coding, &st) || !rd_uint(b, 1, "reserved", &rsv, &st))
        return st;
    if (coding > TSL_CODING_HUFFMAN)
        return bad(b, "index coding is neither 0 (packed) nor 1 (Huffman)");
    if (bits < 1 || bits > 8)
        return bad(b, "index bits outside 1..8");
    if (axis >= (uint64_t)s->rank)
        return bad(b, "channel axis outside the rank");
    if (rsv)
        return bad(b, "reserved field is not 0");
    if (!rd_uint(b, 4, "code count", &ncodes, &st))
        return st;
    if (ncodes < 1 || ncodes > (1u << bits))
        return bad(b, "code count outside 1..2^bits");
    const uint8_t *q = take(b, (size_t)ncodes * 4, "codebook", &st);
    if (!q)
        return st;
    c->codebook = malloc((size_t)ncodes * sizeof(float));
    if (!c->codebook)
        return tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
    for (uint64_t k = 0; k < ncodes; k++)
        c->codebook[k] = f32_at(q + 4 * k);
    c->n_codes = (uint32_t)ncodes;
    c->index_bits = (uint8_t)bits;
    c->axis = (int32_t)axis;
    if (!rd_uint(b, 4, "channel count", &nch, &st))
        return st;
    if (nch && nch != (uint64_t)s->dims[axis])
        return bad(b, "channel count is neither 0 nor the size of the channel axis");
    q = take(b, (size_t)nch * 4, "channel scales", &st);
    if (!q)
        return st;
    if (nch) {
        c->channel_scale = malloc((size_t)nch * sizeof(float));
        if (!c->channel_scale)
            return tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
        for (uint64_t k = 0; k < nch; k++)
            c->channel_scale[k] = f32_at(q + 4 * k);
    }
    c->n_channels = (uint32_t)nch;
    c->coding = (uint8_t)coding;
    if (coding == TSL_CODING_HUFFMAN)
        return read_huffman(b, c, numel, mask, kept);
    size_t nb = packed_bytes(kept, (int64_t)bits);
    q = take(b, nb, "indices", &st);
    if (!q)
        return st;
    c->indices_bytes = packed_bytes(numel, (int64_t)bits);
    c->indices = calloc(c->indices_bytes ? c->indices_bytes : 1, 1);
    if (!c->indices)
        return tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
    for (int64_t i = 0, k = 0; i < numel; i++)
        if (tsl_bit_get(mask, i)) {
            uint32_t idx = tsl_bits_read(q, k++, (unsigned)bits);
            if (idx >= ncodes) {
                char msg[96];
                snprintf(msg, sizeof msg, "index %u of element %lld is not below %u codes", idx,
                         (long long)i, (unsigned)ncodes);
                return bad(b, msg);
            }
            tsl_bits_write(c->indices, i, (unsigned)bits, idx);
        }
    if ((kept * (int64_t)bits) % 8 && (q[nb - 1] >> ((kept * (int64_t)bits) % 8)))
        return bad(b, "indices have non-zero padding bits");
    return TSL_STATUS_OK;
}

static enum tsl_status read_layer(struct ibuf *b, struct tsl_graph *g,
                                  const struct tsl_packed_read_options *opt, int64_t *total)
{
    enum tsl_status st = TSL_STATUS_OK;
    uint64_t nl, rank, kind;
    if (!rd_uint(b, 2, "name length", &nl, &st))
        return st;
    if (nl < 1 || nl > MAX_NAME)
        return bad(b, "name length outside 1..1024");
    const uint8_t *name = take(b, (size_t)nl, "name", &st);
    if (!name)
        return st;
    if (memchr(name, 0, (size_t)nl))
        return bad(b, "name contains a NUL byte");
    char nm[MAX_NAME + 1];
    memcpy(nm, name, (size_t)nl);
    nm[nl] = 0;
    size_t ctxlen = strlen(b->layer);
    snprintf(b->layer + ctxlen, sizeof b->layer - ctxlen, " ('%.40s%s')", nm,
             nl > 40 ? "..." : "");
    if (tsl_graph_find_value(g, nm))
        return bad(b, "duplicate layer name");
    if (!rd_uint(b, 1, "rank", &rank, &st) || !rd_uint(b, 1, "layer kind", &kind, &st))
        return st;
    if (rank < 1 || rank > TSL_MAX_RANK)
        return bad(b, "rank outside 1..8");
    if (kind > TSL_PACKED_CODEBOOK)
        return bad(b, "unknown layer kind (expected 0 raw, 1 sparse, 2 codebook)");
    int64_t dims[TSL_MAX_RANK], numel = 1;
    for (uint64_t d = 0; d < rank; d++) {
        uint64_t v;
        if (!rd_uint(b, 8, "dimension", &v, &st))
            return st;
        if (v < 1 || v > (uint64_t)opt->max_layer_numel ||
            !tsl_mul_i64(numel, (int64_t)v, &numel) || numel > opt->max_layer_numel)
            return bad(b, "dimension is 0 or the layer exceeds the element limit");
        dims[d] = (int64_t)v;
    }
    if (numel > opt->max_total_numel - *total)
        return bad(b, "layers exceed the total element limit");
    *total += numel;
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, (int32_t)rank, dims);
    struct tsl_const *c = tsl_const_new();
    if (!c)
        return tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
    if (kind == TSL_PACKED_RAW) {
        const uint8_t *q = take(b, (size_t)numel * 4, "raw weights", &st);
        if (q) {
            c->data = malloc((size_t)numel * 4);
            if (!c->data) {
                st = tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
            } else {
                float *f = c->data;
                for (int64_t i = 0; i < numel; i++)
                    f[i] = f32_at(q + 4 * i);
                c->data_bytes = (size_t)numel * 4;
            }
        }
    } else {
        int64_t kept = 0;
        c->mask_bytes = (size_t)tsl_bitset_bytes(numel);
        c->mask = calloc(c->mask_bytes, 1);
        st = c->mask ? read_pattern(b, c->mask, numel, &kept)
                     : tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
        if (st == TSL_STATUS_OK && kind == TSL_PACKED_SPARSE) {
            c->encoding = TSL_ENC_MASKED;
            const uint8_t *q = take(b, (size_t)kept * 4, "kept weights", &st);
            c->data = q ? calloc((size_t)numel, 4) : NULL;
            if (q && !c->data)
                st = tsl_diag_error(b->diag, TSL_STATUS_NOMEM, b->where, "out of memory");
            if (c->data) {
                float *f = c->data;
                for (int64_t i = 0, k = 0; i < numel; i++)
                    if (tsl_bit_get(c->mask, i))
                        f[i] = f32_at(q + 4 * k++);
                c->data_bytes = (size_t)numel * 4;
            }
        } else if (st == TSL_STATUS_OK) {
            c->encoding = TSL_ENC_CODEBOOK;
            st = read_codebook(b, c, &t.shape, numel, c->mask, kept);
        }
    }
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        return st;
    }
    struct tsl_value *v;
    st = tsl_graph_add_constant_take(g, nm, &t, c, &v);
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        return tsl_diag_error(b->diag, st, b->where, "cannot add layer '%s'", nm);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_packed_read(const uint8_t *buf, size_t len, const char *where,
                                const struct tsl_packed_read_options *opt,
                                struct tsl_graph **out, struct tsl_diag *diag)
{
    struct tsl_packed_read_options o = {(int64_t)1 << 28, (int64_t)1 << 30};
    if (opt) {
        if (opt->max_layer_numel > 0)
            o.max_layer_numel = opt->max_layer_numel;
        if (opt->max_total_numel > 0)
            o.max_total_numel = opt->max_total_numel;
    }
    struct ibuf b = {.p = buf, .len = buf ? len : 0, .where = where ? where : "packed",
                     .diag = diag};
    *out = NULL;
    enum tsl_status st = TSL_STATUS_OK;
    uint64_t ver, flags, n;
    const uint8_t *m = take(&b, 4, "magic", &st);
    if (!m)
        return st;
    if (memcmp(m, TSL_PACKED_MAGIC, 4)) {
        b.off = 0;
        return bad(&b, "not a tessel packed container (magic is not 'TSPK')");
    }
    if (!rd_uint(&b, 2, "version", &ver, &st) || !rd_uint(&b, 2, "flags", &flags, &st) ||
        !rd_uint(&b, 4, "layer count", &n, &st))
        return st;
    if (ver != TSL_PACKED_VERSION)
        return bad(&b, "unsupported version (this reader knows version 1)");
    if (flags)
        return bad(&b, "unknown flags (must be 0)");
    if (n == 0)
        return bad(&b, "no layers");
    if (n > (b.len - b.off) / 13) /* smallest layer record: 2+1+1+1+8 bytes */
        return bad(&b, "layer count larger than the input can hold");
    struct tsl_graph *g;
    if (tsl_graph_create("packed", &g) != TSL_STATUS_OK)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, b.where, "out of memory");
    int64_t total = 0;
    for (uint64_t i = 0; st == TSL_STATUS_OK && i < n; i++) {
        snprintf(b.layer, sizeof b.layer, "layer %llu", (unsigned long long)i);
        st = read_layer(&b, g, &o, &total);
    }
    b.layer[0] = 0;
    if (st == TSL_STATUS_OK && b.off != b.len)
        st = bad(&b, "trailing bytes after the last layer");
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(g);
        return st;
    }
    *out = g;
    return TSL_STATUS_OK;
}
