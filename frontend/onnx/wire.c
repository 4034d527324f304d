/* wire.c - hostile-input guard in front of protobuf-c: an iterative walk of
 * the protobuf wire format that knows which onnx.proto fields are
 * sub-messages, rejecting malformed varints, lengths past the end, invalid
 * wire types and nesting deeper than the limit; and a budgeted allocator so
 * protobuf_c_message_unpack cannot allocate without bound.  It does not
 * interpret field values (that is import*.c and tensor.c). */
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

/* Message types of onnx.proto that contain sub-messages (leaves: LEAF). */
enum msg {
    M_LEAF, M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_TENSOR, M_SPARSE, M_VINFO, M_TYPE,
    M_TYPE_TENSOR, M_TYPE_SEQ, M_TYPE_MAP, M_TYPE_OPT, M_SHAPE, M_TRAINING, M_FUNCTION,
    M_ANNOT,
};

struct sub_field {
    uint8_t msg;
    uint8_t field;
    uint8_t sub;
};

/* (message, field number) -> sub-message type, from onnx.proto. */
static const struct sub_field sub_fields[] = {
    {M_MODEL, 7, M_GRAPH},        {M_MODEL, 8, M_LEAF},         {M_MODEL, 14, M_LEAF},
    {M_MODEL, 20, M_TRAINING},    {M_MODEL, 25, M_FUNCTION},
    {M_GRAPH, 1, M_NODE},         {M_GRAPH, 5, M_TENSOR},       {M_GRAPH, 15, M_SPARSE},
    {M_GRAPH, 11, M_VINFO},       {M_GRAPH, 12, M_VINFO},       {M_GRAPH, 13, M_VINFO},
    {M_GRAPH, 14, M_ANNOT},
    {M_NODE, 5, M_ATTR},
    {M_ATTR, 5, M_TENSOR},        {M_ATTR, 6, M_GRAPH},         {M_ATTR, 22, M_SPARSE},
    {M_ATTR, 14, M_TYPE},         {M_ATTR, 10, M_TENSOR},       {M_ATTR, 11, M_GRAPH},
    {M_ATTR, 23, M_SPARSE},       {M_ATTR, 15, M_TYPE},
    {M_TENSOR, 3, M_LEAF},        {M_TENSOR, 13, M_LEAF},
    {M_SPARSE, 1, M_TENSOR},      {M_SPARSE, 2, M_TENSOR},
    {M_VINFO, 2, M_TYPE},
    {M_TYPE, 1, M_TYPE_TENSOR},   {M_TYPE, 4, M_TYPE_SEQ},      {M_TYPE, 5, M_TYPE_MAP},
    {M_TYPE, 9, M_TYPE_OPT},      {M_TYPE, 8, M_TYPE_TENSOR},
    {M_TYPE_TENSOR, 2, M_SHAPE},  {M_TYPE_SEQ, 1, M_TYPE},      {M_TYPE_MAP, 2, M_TYPE},
    {M_TYPE_OPT, 1, M_TYPE},
    {M_SHAPE, 1, M_LEAF},
    {M_TRAINING, 1, M_GRAPH},     {M_TRAINING, 2, M_GRAPH},     {M_TRAINING, 3, M_LEAF},
    {M_TRAINING, 4, M_LEAF},
    {M_FUNCTION, 7, M_NODE},      {M_FUNCTION, 9, M_LEAF},
    {M_ANNOT, 2, M_LEAF},
};

/* -1: not a sub-message field; else the sub-message type. */
static int sub_message(int msg, uint64_t field)
{
    for (size_t i = 0; i < TSL_ARRAY_LEN(sub_fields); i++)
        if (sub_fields[i].msg == msg && sub_fields[i].field == field)
            return sub_fields[i].sub;
    return -1;
}

/* Read a varint at *pos (< end); false if truncated or over 10 bytes. */
static bool read_varint(const uint8_t *d, size_t *pos, size_t end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= end)
            return false;
        uint8_t b = d[(*pos)++];
        if (i == 9 && b > 1)
            return false;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

struct frame {
    size_t end;
    int msg;
};

enum tsl_status tsl_onnx_wire_check(const uint8_t *data, size_t len, enum tsl_onnx_root root,
                                    int max_depth, const char *where, struct tsl_diag *diag)
{
    if (max_depth <= 0)
        max_depth = TSL_ONNX_DEFAULT_MAX_DEPTH;
    if (len > TSL_ONNX_MAX_FILE_BYTES)
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                              "file is %zu bytes, over the 2 GiB limit", len);
    struct frame *stack = malloc(sizeof(*stack) * ((size_t)max_depth + 1));
    if (!stack)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
    int top = 0;
    stack[0].end = len;
    stack[0].msg = root == TSL_ONNX_ROOT_MODEL ? M_MODEL : M_TENSOR;
    size_t pos = 0;
    enum tsl_status st = TSL_STATUS_OK;
    for (;;) {
        if (pos == stack[top].end) {
            if (top == 0)
                break;
            top--;
            continue;
        }
        size_t end = stack[top].end;
        size_t at = pos;
        uint64_t key, v;
        if (!read_varint(data, &pos, end, &key)) {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "malformed protobuf: bad field key at byte %zu", at);
            break;
        }
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 0 || field > 536870911u) {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "malformed protobuf: invalid field number at byte %zu", at);
            break;
        }
        if (wt == 0) {
            if (!read_varint(data, &pos, end, &v)) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                    "malformed protobuf: bad varint at byte %zu", pos);
                break;
            }
        } else if (wt == 1 || wt == 5) {
            size_t n = wt == 1 ? 8 : 4;
            if (end - pos < n) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                    "malformed protobuf: truncated field at byte %zu", at);
                break;
            }
            pos += n;
        } else if (wt == 2) {
            if (!read_varint(data, &pos, end, &v) || v > end - pos) {
                st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                    "malformed protobuf: length past the end at byte %zu", at);
                break;
            }
            int sub = sub_message(stack[top].msg, field);
            if (sub < 0) {
                pos += (size_t)v;
                continue;
            }
            if (top + 1 >= max_depth) {
                st = tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                                    "protobuf nesting deeper than the limit of %d", max_depth);
                break;
            }
            top++;
            stack[top].end = pos + (size_t)v;
            stack[top].msg = sub;
        } else {
            st = tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                "malformed protobuf: invalid wire type %u at byte %zu", wt, at);
            break;
        }
    }
    free(stack);
    return st;
}

/* ---- budgeted allocator ------------------------------------------------- */

#define HDR 16 /* keeps max_align_t alignment */

static void *budget_alloc(void *ad, size_t size)
{
    struct tsl_onnx_budget *b = ad;
    size_t total;
    if (__builtin_add_overflow(size, (size_t)HDR, &total) || total > b->limit - b->used) {
        b->exhausted = true;
        return NULL;
    }
    unsigned char *p = malloc(total);
    if (!p)
        return NULL;
    memcpy(p, &total, sizeof(total));
    b->used += total;
    return p + HDR;
}

static void budget_free(void *ad, void *ptr)
{
    struct tsl_onnx_budget *b = ad;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t total;
    memcpy(&total, p, sizeof(total));
    b->used -= total;
    free(p);
}

enum tsl_status tsl_onnx_unpack(const uint8_t *data, size_t len, enum tsl_onnx_root root,
                                int max_depth, const char *where, struct tsl_onnx_budget *budget,
                                ProtobufCMessage **out, struct tsl_diag *diag)
{
    *out = NULL;
    TSL_TRY(tsl_onnx_wire_check(data, len, root, max_depth, where, diag));
    size_t limit = (size_t)64 << 20;
    size_t scaled;
    if (!tsl_mul_size(len, 64, &scaled) || __builtin_add_overflow(limit, scaled, &limit))
        limit = SIZE_MAX;
    budget->used = 0;
    budget->limit = limit;
    budget->exhausted = false;
    ProtobufCAllocator alloc = {budget_alloc, budget_free, budget};
    const ProtobufCMessageDescriptor *desc = root == TSL_ONNX_ROOT_MODEL
                                                 ? &onnx__model_proto__descriptor
                                                 : &onnx__tensor_proto__descriptor;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, data);
    if (!m) {
        if (budget->exhausted)
            return tsl_diag_error(diag, TSL_STATUS_LIMIT, where,
                                  "decoding needs more than the memory budget of %zu bytes",
                                  limit);
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "not a valid ONNX %s (protobuf decode failed)",
                              root == TSL_ONNX_ROOT_MODEL ? "model" : "TensorProto");
    }
    *out = m;
    return TSL_STATUS_OK;
}

void tsl_onnx_unpacked_free(ProtobufCMessage *m, struct tsl_onnx_budget *budget)
{
    if (!m)
        return;
    ProtobufCAllocator alloc = {budget_alloc, budget_free, budget};
    protobuf_c_message_free_unpacked(m, &alloc);
}

void tsl_onnx_unpacked_free_bytes(ProtobufCBinaryData *bd, struct tsl_onnx_budget *budget)
{
    budget_free(budget, bd->data);
    bd->data = NULL;
    bd->len = 0;
}
