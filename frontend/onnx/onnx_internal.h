/* onnx_internal.h - declarations shared by the files of frontend/onnx.
 *
 * Two audiences: (1) helpers both the importer and the exporter use (ONNX
 * data_type <-> enum tsl_dtype, opset constants; defined in common.c), and
 * (2) the importer's private context and the functions its files call on each
 * other (wire pre-scan, tensor decoding, external data, op table, legacy
 * opset rewrites).  protobuf-c types appear here and must never leave
 * frontend/onnx.  Nothing here prints. */
#ifndef TESSEL_ONNX_INTERNAL_H
#define TESSEL_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.pb-c.h"
#include "tessel/diag.h"
#include "tessel/ir.h"
#include "tessel/onnx.h"

/* ---- shared with the exporter (common.c) -------------------------------- */

/* Default-domain opsets the importer accepts, and the one the exporter writes. */
#define TSL_ONNX_OPSET_MIN 7
#define TSL_ONNX_OPSET_MAX 18
#define TSL_ONNX_EXPORT_OPSET 17
/* IR version matching opset 17 (ONNX 1.12). */
#define TSL_ONNX_EXPORT_IR_VERSION 8

/* ONNX TensorProto.DataType code -> tessel dtype; false for codes tessel has
 * no type for (STRING, COMPLEX*, UNDEFINED, FLOAT8*, unknown). */
bool tsl_onnx_dtype_from_onnx(int32_t onnx_code, enum tsl_dtype *out);
/* tessel dtype -> ONNX code; 0 (UNDEFINED) if ONNX has no such type
 * (i4/u4/i2 at opset 17, UNDEF). */
int32_t tsl_onnx_dtype_to_onnx(enum tsl_dtype dt);
/* "FLOAT", "STRING", ... for messages; "?" for unknown codes. */
const char *tsl_onnx_dtype_onnx_name(int32_t onnx_code);
/* True for "" and "ai.onnx" (the default operator domain). */
bool tsl_onnx_is_default_domain(const char *domain);

/* ---- import limits ------------------------------------------------------ */

#define TSL_ONNX_DEFAULT_MAX_DEPTH 64
#define TSL_ONNX_DEFAULT_TENSOR_BYTES ((int64_t)4 << 30)
#define TSL_ONNX_MAX_FILE_BYTES ((size_t)2 << 30)

/* ---- wire.c: pre-scan and budgeted unpack ------------------------------- */

/* Which protobuf message a pre-scan starts at. */
enum tsl_onnx_root { TSL_ONNX_ROOT_MODEL, TSL_ONNX_ROOT_TENSOR };

/* Walk the wire format iteratively and reject malformed varints, lengths past
 * the end, invalid wire types and nesting deeper than max_depth. */
enum tsl_status tsl_onnx_wire_check(const uint8_t *data, size_t len, enum tsl_onnx_root root,
                                    int max_depth, const char *where, struct tsl_diag *diag);

/* Allocation budget handed to protobuf_c_message_unpack. */
struct tsl_onnx_budget {
    size_t used, limit;
    bool exhausted;
};
/* Pre-scan, then unpack with a budgeted allocator (limit 64 x len + 64 MiB).
 * *out is freed with tsl_onnx_unpacked_free(*out, budget). */
enum tsl_status tsl_onnx_unpack(const uint8_t *data, size_t len, enum tsl_onnx_root root,
                                int max_depth, const char *where, struct tsl_onnx_budget *budget,
                                ProtobufCMessage **out, struct tsl_diag *diag);
void tsl_onnx_unpacked_free(ProtobufCMessage *m, struct tsl_onnx_budget *budget);
/* Free one bytes field of a message unpacked with `budget` early (its
 * payload copied elsewhere): data NULL, len 0 afterwards, so
 * tsl_onnx_unpacked_free skips it. */
void tsl_onnx_unpacked_free_bytes(ProtobufCBinaryData *bd, struct tsl_onnx_budget *budget);

/* ---- tensor.c / external.c ---------------------------------------------- */

struct tsl_onnx_tensor_ctx {
    const char *base_dir;   /* NULL: external data rejected */
    int64_t budget_left;    /* tensor payload bytes still allowed */
};

/* Decoded dense tensor (data malloc'ed, `bytes` long). */
struct tsl_onnx_dense {
    enum tsl_dtype dtype;
    struct tsl_shape shape;
    int64_t numel;
    void *data;
    size_t bytes;
};

/* Decode any encoding of a TensorProto into a dense little-endian buffer.
 * `where` names the tensor in diagnostics. */
enum tsl_status tsl_onnx_tensor_decode(struct tsl_onnx_tensor_ctx *ctx,
                                       const Onnx__TensorProto *t, const char *where,
                                       struct tsl_onnx_dense *out, struct tsl_diag *diag);

/* Read `bytes` bytes of external data described by t->external_data into a
 * malloc'ed *dst_out (allocated only after the file is checked to hold them). */
enum tsl_status tsl_onnx_external_read(const struct tsl_onnx_tensor_ctx *ctx,
                                       const Onnx__TensorProto *t, const char *where,
                                       void **dst_out, size_t bytes, struct tsl_diag *diag);

/* ---- the importer context (import_graph.c) ------------------------------ */

struct tsl_onnx_namemap; /* string -> int32 hash map, import_graph.c */

struct tsl_onnx_imp {
    struct tsl_graph *g;
    const char *model_name;       /* display name for file-level errors */
    int64_t opset;                /* default-domain opset */
    struct tsl_onnx_tensor_ctx tctx;
    const Onnx__GraphProto *gp;
    /* gp itself, mutable, and its unpack budget: each initializer's
     * raw_data is freed as soon as it is decoded into the graph, so the
     * weights are not held twice (NULL, NULL: keep them) */
    Onnx__GraphProto *gp_release;
    struct tsl_onnx_budget *budget;
    struct tsl_onnx_namemap *onnx_names; /* every value name in the ONNX graph */
    struct tsl_onnx_namemap *used;       /* names consumed by a node or graph output */
    struct tsl_onnx_namemap *vinfo;      /* value_info/output name -> index+1 (<0: output) */
    struct tsl_diag *diag;
};

/* A value name not used in the graph or anywhere in the ONNX model, from
 * base (malloc'ed; NULL on OOM). */
char *tsl_onnx_synth_name(struct tsl_onnx_imp *im, const char *base);
/* Add a node whose name is made unique (suffixes) if taken. */
enum tsl_status tsl_onnx_add_node(struct tsl_onnx_imp *im, enum tsl_op op, const char *name,
                                  uint32_t n_in, struct tsl_value *const *ins, uint32_t n_out,
                                  const char *const *out_names, struct tsl_node **out);
/* Erase constants that ONNX nodes consumed but the IR no longer uses because
 * the importer folded them into attributes (Squeeze axes, Split sizes,
 * Dropout ratio, ...).  Initializers no ONNX node reads are kept.  Call
 * before the name maps are freed. */
enum tsl_status tsl_onnx_drop_folded_constants(struct tsl_onnx_imp *im);
/* After shape inference: turn the opset<13 Softmax/LogSoftmax expansion
 * Reshape(Softmax(Flatten(x, k), axis 1), Shape(x)) back into one
 * Softmax(x, axis k) where k turned out to be the last axis of x.  Sets
 * *changed when the graph changed (shapes must then be re-inferred). */
enum tsl_status tsl_onnx_collapse_legacy_softmax(struct tsl_graph *g, struct tsl_diag *diag,
                                                 bool *changed);
/* True if some node or graph output consumes ONNX value `name`. */
bool tsl_onnx_name_used(const struct tsl_onnx_imp *im, const char *name);
/* Rank known for v from its type or the model's value_info; -1 if unknown. */
int32_t tsl_onnx_known_rank(const struct tsl_onnx_imp *im, const struct tsl_value *v);
/* Convert a TypeProto into an IR type (symbols interned in im->g). */
enum tsl_status tsl_onnx_type_from_proto(struct tsl_onnx_imp *im, const Onnx__TypeProto *tp,
                                         const char *where, struct tsl_type *out);
/* Diagnostic name for a node: its name, else "<op_type> node #i". */
const char *tsl_onnx_node_where(const Onnx__NodeProto *np, char *buf, size_t cap);

/* ---- import_ops.c: the op table and attribute conversion ---------------- */

/* One node being imported: the proto, resolved inputs (NULL = omitted). */
struct tsl_onnx_node_in {
    const Onnx__NodeProto *np;
    const char *where;
    struct tsl_value **ins;
    uint32_t n_in;
};

typedef enum tsl_status (*tsl_onnx_import_fn)(struct tsl_onnx_imp *im,
                                              const struct tsl_onnx_node_in *ni,
                                              enum tsl_op op);

struct tsl_onnx_op_entry {
    const char *onnx_name;   /* op_type, table sorted by strcmp */
    enum tsl_op op;          /* TSL_OP_COUNT: no single IR op (Constant, Dropout ...) */
    int since, until;        /* default-domain opsets this row covers */
    tsl_onnx_import_fn fn;   /* NULL: generic import */
};

/* Row for op_type at the given opset; NULL if unknown or out of range
 * (*known_out tells which: op exists at some other opset). */
const struct tsl_onnx_op_entry *tsl_onnx_find_op(const char *op_type, int64_t opset,
                                                 bool *known_out);
/* Self-check of the table (sorted, covers every ops.def op); false if broken. */
bool tsl_onnx_op_table_ok(void);
/* Import one node through the table. */
enum tsl_status tsl_onnx_import_node(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                     const struct tsl_onnx_op_entry *e);

/* Convert the node's attributes generically into *a (kind's defaults must be
 * set by the caller), skipping names listed in skip (NULL-terminated, may be
 * NULL).  Unknown attributes and wrong types are errors naming the node. */
enum tsl_status tsl_onnx_convert_attrs(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                       enum tsl_attr_kind kind, union tsl_attrs *a,
                                       const char *const *skip);
/* The node's attribute called name, or NULL. */
const Onnx__AttributeProto *tsl_onnx_find_attr(const Onnx__NodeProto *np, const char *name);
/* Effective attribute type (handles protos without `type`). */
int tsl_onnx_attr_type(const Onnx__AttributeProto *a);
/* Create the IR node(s) for ni with op and attrs, binding ONNX outputs by name;
 * outputs beyond the op's maximum must be unused. */
enum tsl_status tsl_onnx_emit(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                              enum tsl_op op, uint32_t n_in, struct tsl_value *const *ins,
                              const union tsl_attrs *attrs, struct tsl_node **out);

/* Constant helpers used by the legacy rewrites. */
enum tsl_status tsl_onnx_const_i64(struct tsl_onnx_imp *im, const char *base, const int64_t *v,
                                   uint32_t n, bool scalar, struct tsl_value **out);
enum tsl_status tsl_onnx_const_scalar(struct tsl_onnx_imp *im, const char *base,
                                      enum tsl_dtype dt, double x, struct tsl_value **out);
/* Read a constant integer tensor input (rank <= 1) into ints; error naming
 * the node if v is not a constant. */
enum tsl_status tsl_onnx_read_const_ints(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                         const struct tsl_value *v, const char *what,
                                         struct tsl_ints *out);

/* ---- legacy.c: importer functions for opset-specific forms -------------- */

enum tsl_status tsl_onnx_imp_clip(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_axes_input(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_reduce(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_split(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_pad(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_slice(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_resize(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_upsample(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_softmax(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_batchnorm(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_dropout(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);
enum tsl_status tsl_onnx_imp_topk(struct tsl_onnx_imp *, const struct tsl_onnx_node_in *, enum tsl_op);

#endif
