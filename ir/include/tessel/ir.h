/* ir.h - tessel's graph IR: the one representation every stage reads and
 * rewrites (frontend, passes, backends).
 *
 * Example:
 *     struct tsl_graph *g;
 *     tsl_graph_create("mlp", &g);
 *     struct tsl_value *x;
 *     struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){1, 4});
 *     tsl_graph_add_input(g, "x", &t, &x);
 *     struct tsl_node *n;
 *     tsl_graph_add_node(g, TSL_OP_RELU, "relu0", 1, &x, 1, &n, NULL);
 *     tsl_graph_add_output(g, n->outputs[0]);
 *     ...
 *     tsl_graph_destroy(g);
 *
 * Model.  A graph owns an ordered list of nodes and all values.  A value is an
 * SSA tensor: produced by exactly one node output, or a graph input, or a
 * constant (ONNX initializer or folded Constant node).  Nodes refer to input
 * values by pointer (NULL for an omitted optional input); every value keeps
 * its use list, maintained by the API below, never by hand.
 *
 * Structs are public for reading.  Fields marked (API) are maintained by the
 * functions here and must not be written directly; the rest (names aside)
 * may be written by passes: a value's type and quant, a node's attrs.
 *
 * Ownership: the graph owns every node, value, constant payload and string
 * reachable from it.  Functions that take a pointer to caller data copy it
 * unless their name says _take_.
 *
 * Not here: shape inference (ir/shape), verification (verify.h), text form
 * (text.h), Graphviz (dot.h).  Nothing in ir/ knows ONNX, LLVM or hardware. */
#ifndef TESSEL_IR_H
#define TESSEL_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/status.h"

/* ---- element types ------------------------------------------------------ */

enum tsl_dtype {
#define TSL_DTYPE(id, name, bits, is_float, is_signed) TSL_DTYPE_##id,
#include "tessel/dtypes.def"
#undef TSL_DTYPE
    TSL_DTYPE_COUNT
};

const char *tsl_dtype_name(enum tsl_dtype t);          /* "f32"; "?" if bad */
int tsl_dtype_bits(enum tsl_dtype t);                  /* 32, 4, ... */
bool tsl_dtype_is_float(enum tsl_dtype t);
bool tsl_dtype_is_signed(enum tsl_dtype t);
/* Parse "f32" etc.; false if unknown. */
bool tsl_dtype_from_name(const char *name, enum tsl_dtype *out);
/* Bytes needed for numel elements (packed types round up); false on overflow. */
bool tsl_dtype_storage_bytes(enum tsl_dtype t, int64_t numel, int64_t *out);

/* ---- shapes ------------------------------------------------------------- */

#define TSL_MAX_RANK 8
/* A dim >= 0 is known.  A dim < 0 is symbolic: symbol index -1 - dim in the
 * graph's symbol table (tsl_graph_symbol).  TSL_DIM_SYM(k) builds one. */
#define TSL_DIM_SYM(k) (-1 - (int64_t)(k))
#define TSL_DIM_IS_SYM(d) ((d) < 0)
#define TSL_DIM_SYM_INDEX(d) ((uint32_t)(-1 - (d)))

struct tsl_shape {
    int32_t rank; /* -1: rank unknown (only before shape inference) */
    int64_t dims[TSL_MAX_RANK];
};

struct tsl_type {
    enum tsl_dtype dtype;
    struct tsl_shape shape;
};

struct tsl_type tsl_type_make(enum tsl_dtype dt, int32_t rank, const int64_t *dims);
bool tsl_shape_is_static(const struct tsl_shape *s); /* rank known, no symbols */
/* Element count of a static shape; false if symbolic, unknown or overflowing. */
bool tsl_shape_numel(const struct tsl_shape *s, int64_t *out);
bool tsl_shape_equal(const struct tsl_shape *a, const struct tsl_shape *b);

/* ---- quantization info -------------------------------------------------- */

enum tsl_quant_kind {
    TSL_QUANT_NONE = 0,
    TSL_QUANT_POW2,   /* real = q * 2^exponent[c] */
    TSL_QUANT_AFFINE, /* real = (q - zero_point[c]) * scale[c] */
};

struct tsl_quant {
    enum tsl_quant_kind kind;
    int32_t axis; /* channel axis for per-channel; -1 = per-tensor (n == 1) */
    uint32_t n;   /* number of channels (1 per-tensor) */
    int32_t *exponent;   /* POW2: n entries (owned) */
    float *scale;        /* AFFINE: n entries (owned) */
    int32_t *zero_point; /* AFFINE: n entries (owned) */
};

/* ---- constant payloads and weight encodings ----------------------------- */

enum tsl_encoding {
    TSL_ENC_DENSE = 0, /* data: numel elements of the value's dtype */
    TSL_ENC_MASKED,    /* data dense (pruned entries hold 0) + mask bitset */
    TSL_ENC_SPARSE,    /* nnz kept values + 8-bit relative position gaps */
    TSL_ENC_CODEBOOK,  /* packed indices into one per-layer codebook,
                          times a per-channel scale */
};

/* How a CODEBOOK payload stores its indices (in memory they are always
 * the fixed-length packed array; the coding decides what is stored, and so
 * what tsl_const_stored_bits counts and the packed container holds). */
enum tsl_index_coding {
    TSL_CODING_PACKED = 0, /* index_bits per kept entry */
    TSL_CODING_HUFFMAN,    /* one bit stream: a 5-bit code length per code
                              (huffman.h), then the canonical Huffman code
                              of every kept entry's index */
};

/* The payload of a constant value.  Layouts (numel = element count of the
 * value's static shape; bit i of a byte array is byte[i/8] >> (i%8) & 1):
 *   DENSE    data: tsl_dtype_storage_bytes(dtype, numel) bytes, row-major,
 *            little-endian; sub-byte types packed low bits first.
 *   MASKED   data as DENSE; mask: ceil(numel/8) bytes, bit set = kept.
 *   SPARSE   data: nnz elements of dtype; gaps: nnz bytes.  Position of entry
 *            i is pos(i-1) + gaps[i] + 1 with pos(-1) = -1.  A gap longer than
 *            255 is bridged by filler entries whose value is 0 (Deep
 *            Compression's relative indexing).  Every other element is 0.
 *   CODEBOOK dtype must be f32.  indices: numel indices of index_bits bits
 *            each, packed LSB-first; element e in channel c (coordinate along
 *            `axis`) decodes to codebook[index(e)] * channel_scale[c]; with
 *            n_channels == 0 the scale is 1.  An optional mask (as MASKED)
 *            marks pruned entries, which decode to 0. */
struct tsl_const {
    enum tsl_encoding encoding;
    void *data;        /* DENSE, MASKED, SPARSE (owned) */
    size_t data_bytes;
    uint8_t *mask;     /* MASKED, optional for CODEBOOK (owned) */
    size_t mask_bytes; /* ceil(numel/8) when mask is set */
    int64_t nnz;       /* SPARSE: entries in data and gaps, fillers included */
    uint8_t *gaps;     /* SPARSE (owned) */
    float *codebook;   /* CODEBOOK: n_codes entries (owned) */
    uint32_t n_codes;
    uint8_t index_bits;   /* CODEBOOK: 1..8 */
    uint8_t coding;       /* CODEBOOK: enum tsl_index_coding */
    uint8_t *indices;     /* CODEBOOK (owned) */
    size_t indices_bytes; /* ceil(numel*index_bits/8) */
    int32_t axis;         /* CODEBOOK: channel axis */
    uint32_t n_channels;  /* CODEBOOK: entries in channel_scale (0 = none) */
    float *channel_scale; /* CODEBOOK (owned) */
};

/* ---- attributes (generated from attrs.def) ------------------------------ */

#define TSL_MAX_ATTR_INTS (2 * TSL_MAX_RANK)
struct tsl_ints {
    uint32_t n;
    int64_t v[TSL_MAX_ATTR_INTS];
};
struct tsl_floats {
    uint32_t n;
    float v[TSL_MAX_ATTR_INTS];
};
/* A typed scalar (ConstantOfShape's value). */
struct tsl_scalar {
    enum tsl_dtype dtype; /* UNDEF = attribute absent (ONNX default: f32 0) */
    double f;             /* value when dtype is float */
    int64_t i;            /* value when dtype is integer or bool */
};

#define TSL_ENUM_BEGIN(e) enum tsl_##e {
#define TSL_ENUM_VAL(e, id, text) TSL_##e##_##id,
#define TSL_ENUM_END(e) TSL_##e##_COUNT };
#include "tessel/attrs.def"
#undef TSL_ENUM_BEGIN
#undef TSL_ENUM_VAL
#undef TSL_ENUM_END

#define TSL_ENUM_BEGIN(e)
#define TSL_ENUM_VAL(e, id, text)
#define TSL_ENUM_END(e)
#define TSL_ATTRS_BEGIN(k) struct tsl_attr_##k {
#define TSL_ATTR_INT(k, f, def) int64_t f;
#define TSL_ATTR_FLOAT(k, f, def) float f;
#define TSL_ATTR_INTS(k, f) struct tsl_ints f;
#define TSL_ATTR_FLOATS(k, f) struct tsl_floats f;
#define TSL_ATTR_ENUM(k, f, e, def) enum tsl_##e f;
#define TSL_ATTR_DTYPE(k, f, def) enum tsl_dtype f;
#define TSL_ATTR_SCALAR(k, f) struct tsl_scalar f;
#define TSL_ATTRS_END(k) };
#include "tessel/attrs.def"
#undef TSL_ATTRS_BEGIN
#undef TSL_ATTR_INT
#undef TSL_ATTR_FLOAT
#undef TSL_ATTR_INTS
#undef TSL_ATTR_FLOATS
#undef TSL_ATTR_ENUM
#undef TSL_ATTR_DTYPE
#undef TSL_ATTR_SCALAR
#undef TSL_ATTRS_END
#undef TSL_ENUM_BEGIN
#undef TSL_ENUM_VAL
#undef TSL_ENUM_END

/* Attribute kinds: TSL_ATTRKIND_NONE plus one per TSL_ATTRS_BEGIN row. */
enum tsl_attr_kind {
    TSL_ATTRKIND_none,
#define TSL_ATTRS_BEGIN(k) TSL_ATTRKIND_##k,
#include "tessel/attrs.def"
#undef TSL_ATTRS_BEGIN
    TSL_ATTRKIND_COUNT
};

union tsl_attrs {
#define TSL_ATTRS_BEGIN(k) struct tsl_attr_##k k;
#include "tessel/attrs.def"
#undef TSL_ATTRS_BEGIN
    char none_;
};

/* Generic field descriptors, for code that walks attributes by name. */
enum tsl_attr_type {
    TSL_ATTR_T_INT,
    TSL_ATTR_T_FLOAT,
    TSL_ATTR_T_INTS,
    TSL_ATTR_T_FLOATS,
    TSL_ATTR_T_ENUM,
    TSL_ATTR_T_DTYPE,
    TSL_ATTR_T_SCALAR,
};
struct tsl_attr_field {
    const char *name;        /* field name = ONNX attribute name */
    enum tsl_attr_type type;
    size_t offset;           /* offsetof in union tsl_attrs */
    int64_t def_int;         /* INT / ENUM / DTYPE default */
    float def_float;         /* FLOAT default */
    const char *const *enum_names; /* ENUM: names indexed by value */
    uint32_t n_enum;
};
/* Fields of an attribute kind, in attrs.def order; *n_out may be 0. */
const struct tsl_attr_field *tsl_attr_fields(enum tsl_attr_kind k, size_t *n_out);
const char *tsl_attr_kind_name(enum tsl_attr_kind k);
/* Fill *a with the defaults of kind k (all fields; empty lists). */
void tsl_attrs_set_defaults(enum tsl_attr_kind k, union tsl_attrs *a);
/* Text of an enum field value, NULL if out of range. */
const char *tsl_attr_enum_text(const struct tsl_attr_field *f, int64_t v);
/* Look up enum text ("SAME_UPPER") case-sensitively; false if unknown. */
bool tsl_attr_enum_parse(const struct tsl_attr_field *f, const char *text, int64_t *out);

/* ---- ops (generated from ops.def) --------------------------------------- */

enum tsl_op {
#define TSL_OP(id, name, attrs, min_in, max_in, min_out, max_out) TSL_OP_##id,
#include "tessel/ops.def"
#undef TSL_OP
    TSL_OP_COUNT
};

struct tsl_op_info {
    const char *name;
    enum tsl_attr_kind attr_kind;
    uint32_t min_inputs, max_inputs, min_outputs, max_outputs;
};
/* Row of ops.def; op must be < TSL_OP_COUNT. */
const struct tsl_op_info *tsl_op_info(enum tsl_op op);
const char *tsl_op_name(enum tsl_op op);
/* Find an op by its ONNX/IR name ("Conv"); false if none. */
bool tsl_op_from_name(const char *name, enum tsl_op *out);

/* ---- values, nodes, graph ------------------------------------------------ */

struct tsl_node;
struct tsl_graph;

struct tsl_use {
    struct tsl_node *node;
    uint32_t index; /* which input of node */
};

struct tsl_value {
    uint32_t id;               /* (API) unique in the graph, creation order */
    char *name;                /* (API) unique in the graph; tsl_value_rename */
    struct tsl_type type;
    struct tsl_quant quant;
    struct tsl_node *producer; /* (API) NULL for inputs and constants */
    uint32_t producer_output;  /* (API) */
    struct tsl_const *constant;/* (API) non-NULL iff a constant */
    bool is_input;             /* (API) a graph input */
    struct tsl_use *uses;      /* (API) */
    uint32_t n_uses, cap_uses; /* (API) */
    uint32_t n_output_refs;    /* (API) times listed in graph outputs */
};

struct tsl_node {
    uint32_t id;          /* (API) unique in the graph, creation order */
    enum tsl_op op;       /* (API) */
    char *name;           /* (API) unique among nodes; may be "" if unnamed */
    uint32_t n_inputs;    /* (API) */
    struct tsl_value **inputs;  /* (API) entries may be NULL (omitted) */
    uint32_t n_outputs;   /* (API) */
    struct tsl_value **outputs; /* (API) never NULL */
    union tsl_attrs attrs;
    struct tsl_node *prev, *next; /* (API) order in the graph's node list */
    struct tsl_graph *graph;      /* (API) */
};

struct tsl_graph {
    char *name;
    int64_t source_opset;   /* default-domain opset of the imported model; 0 */
    char *producer_name;    /* may be NULL */
    struct tsl_node *first, *last; /* (API) node list, kept topologically sorted
                                      by every API call that adds nodes */
    uint32_t n_nodes;       /* (API) */
    struct tsl_value **values;     /* (API) all live values, creation order */
    uint32_t n_values;      /* (API) */
    struct tsl_value **inputs;     /* (API) graph inputs in order */
    uint32_t n_inputs;      /* (API) */
    struct tsl_value **outputs;    /* (API) graph outputs in order */
    uint32_t n_outputs;     /* (API) */
    char **symbols;         /* (API) names of symbolic dims */
    uint32_t n_symbols;     /* (API) */
    /* private bookkeeping (API) */
    uint32_t next_value_id, next_node_id;
    size_t cap_values, cap_inputs, cap_outputs, cap_symbols;
    struct tsl_ir_index *index_; /* name lookup tables */
};

/* Create an empty graph (name may be NULL -> "main"). */
enum tsl_status tsl_graph_create(const char *name, struct tsl_graph **out);
void tsl_graph_destroy(struct tsl_graph *g);
/* Deep copy. */
enum tsl_status tsl_graph_clone(const struct tsl_graph *g, struct tsl_graph **out);

/* Symbolic dims: intern a name, returning its index (existing or new). */
enum tsl_status tsl_graph_symbol(struct tsl_graph *g, const char *name, uint32_t *index_out);
/* A fresh symbol "<prefix><n>" that does not exist yet. */
enum tsl_status tsl_graph_fresh_symbol(struct tsl_graph *g, const char *prefix, uint32_t *index_out);

/* Drop the symbols no graph input uses and renumber the inputs' symbolic
 * dims.  Symbolic dims of every other value become stale: only for callers
 * about to re-infer all node outputs (tsl_infer_shapes does this first, so
 * re-running inference never piles up fresh symbols). */
void tsl_graph_compact_symbols(struct tsl_graph *g);

/* Lookups by name; NULL if absent. */
struct tsl_value *tsl_graph_find_value(const struct tsl_graph *g, const char *name);
struct tsl_node *tsl_graph_find_node(const struct tsl_graph *g, const char *name);

/* A value name not yet used: `base` itself if free, else base_1, base_2 ... */
char *tsl_graph_unique_value_name(const struct tsl_graph *g, const char *base);

/* Add a graph input.  Fails (INVALID_ARG) on a duplicate name. */
enum tsl_status tsl_graph_add_input(struct tsl_graph *g, const char *name,
                                    const struct tsl_type *type, struct tsl_value **out);
/* Add a constant, taking ownership of *c (and its arrays) on success only.
 * The type must be static. */
enum tsl_status tsl_graph_add_constant_take(struct tsl_graph *g, const char *name,
                                            const struct tsl_type *type,
                                            struct tsl_const *c, struct tsl_value **out);
/* Convenience: dense constant copied from `data` (storage_bytes long). */
enum tsl_status tsl_graph_add_dense_constant(struct tsl_graph *g, const char *name,
                                             const struct tsl_type *type,
                                             const void *data, struct tsl_value **out);
/* Mark v as a graph output (appended; a value may be listed twice). */
enum tsl_status tsl_graph_add_output(struct tsl_graph *g, struct tsl_value *v);
/* Replace output slot i by v. */
enum tsl_status tsl_graph_set_output(struct tsl_graph *g, uint32_t i, struct tsl_value *v);

/* Create a node at the end of the list (inputs must all be defined already,
 * which keeps the list topologically ordered).  Its n_outputs outputs are new
 * values with undefined type, named output_names[i] if given (NULL entries or
 * a NULL array: fresh names from the node name).  Attributes are the kind's
 * defaults; set node->attrs afterwards.  Arity is checked against ops.def. */
enum tsl_status tsl_graph_add_node(struct tsl_graph *g, enum tsl_op op, const char *name,
                                   uint32_t n_inputs, struct tsl_value *const *inputs,
                                   uint32_t n_outputs, struct tsl_node **out,
                                   const char *const *output_names);
/* Same, inserted before/after an existing node `at`.  Inputs must be defined
 * before the insertion point (INVALID_ARG otherwise). */
enum tsl_status tsl_graph_insert_node_before(struct tsl_graph *g, struct tsl_node *at,
                                             enum tsl_op op, const char *name,
                                             uint32_t n_inputs, struct tsl_value *const *inputs,
                                             uint32_t n_outputs, struct tsl_node **out,
                                             const char *const *output_names);
enum tsl_status tsl_graph_insert_node_after(struct tsl_graph *g, struct tsl_node *at,
                                            enum tsl_op op, const char *name,
                                            uint32_t n_inputs, struct tsl_value *const *inputs,
                                            uint32_t n_outputs, struct tsl_node **out,
                                            const char *const *output_names);
/* Set input i of n to v (NULL = omit), updating use lists. */
void tsl_node_set_input(struct tsl_node *n, uint32_t i, struct tsl_value *v);
/* Append an input to n (an optional trailing input that was absent, such as
 * a Conv bias).  INVALID_ARG past the op's max_inputs. */
enum tsl_status tsl_node_append_input(struct tsl_node *n, struct tsl_value *v);
/* Rewire every use of `from` (node inputs and graph outputs) to `to`. */
void tsl_value_replace_all_uses(struct tsl_value *from, struct tsl_value *to);
/* Erase a node whose outputs have no uses and are not graph outputs
 * (INVALID_ARG otherwise).  Its outputs are erased with it. */
enum tsl_status tsl_graph_erase_node(struct tsl_graph *g, struct tsl_node *n);
/* Erase a value with no uses, no producer and not a graph output (a dead
 * constant or an unused graph input). */
enum tsl_status tsl_graph_erase_value(struct tsl_graph *g, struct tsl_value *v);
/* Rename; INVALID_ARG if the name is taken by another value. */
enum tsl_status tsl_value_rename(struct tsl_graph *g, struct tsl_value *v, const char *name);
/* Rename a node; INVALID_ARG if another node has the name. */
enum tsl_status tsl_node_rename(struct tsl_graph *g, struct tsl_node *n, const char *name);
/* Give the uses of node output v to a new constant carrying payload c (name
 * derived from v's, type copied from v, which must be static).  The caller
 * erases v's producer afterwards if it became dead.  Takes ownership of c on
 * success. */
enum tsl_status tsl_graph_replace_with_constant_take(struct tsl_graph *g, struct tsl_value *v,
                                                     struct tsl_const *c,
                                                     struct tsl_value **out);

/* Re-sort the node list topologically (stable: keeps the current order where
 * dependencies allow).  VERIFY with a diagnostic naming a node on a cycle. */
enum tsl_status tsl_graph_sort(struct tsl_graph *g, struct tsl_diag *diag);

/* ---- constants ---------------------------------------------------------- */

struct tsl_const *tsl_const_new(void);      /* zeroed; NULL on OOM */
void tsl_const_free(struct tsl_const *c);   /* frees the payload arrays too */
/* Free c's payload arrays and leave an empty DENSE payload (no data, 0
 * bytes): the value stays a constant of its type, but tsl_const_decode on
 * it fails (PARSE).  For a consumer that copied the bytes elsewhere and will
 * only destroy the graph afterwards (tsl_cpu_compile_consume). */
void tsl_const_release(struct tsl_const *c);
enum tsl_status tsl_const_clone(const struct tsl_const *c, struct tsl_const **out);
/* Decode any encoding of constant value v into a newly malloc'ed dense buffer
 * of its dtype (storage_bytes of numel).  Checks the payload against the
 * type; PARSE on inconsistency, with a diagnostic naming v. */
enum tsl_status tsl_const_decode(const struct tsl_value *v, void **dense_out,
                                 struct tsl_diag *diag);
/* Read element i of a decoded dense buffer of dtype dt as double / int64. */
double tsl_dense_get_f64(enum tsl_dtype dt, const void *data, int64_t i);
int64_t tsl_dense_get_i64(enum tsl_dtype dt, const void *data, int64_t i);
void tsl_dense_set_f64(enum tsl_dtype dt, void *data, int64_t i, double x);
void tsl_dense_set_i64(enum tsl_dtype dt, void *data, int64_t i, int64_t x);
/* Stored bits of a constant payload as tessel's compressed container stores
 * it (passes/packed.h) — what compression rates are computed from, every
 * bit counted: DENSE all elements; MASKED kept values + sparsity pattern;
 * SPARSE values + 8-bit gaps; CODEBOOK indices of KEPT entries only +
 * sparsity pattern (when masked) + 32-bit codebook entries + 32-bit channel
 * scales.  Container headers and names are not counted. */
int64_t tsl_const_stored_bits(const struct tsl_value *v);

/* How the kept positions of a mask (bit set = kept) are coded compactly:
 * nothing when all are kept, else the smaller of a bitmap and escaped
 * relative gaps of the best width 1..TSL_MASK_MAX_GAP_BITS (a gap of
 * 2^w - 1 is an escape meaning "skip that many more"), Deep Compression's
 * relative indexing.  `bytes` is the coded size: bitmap ceil(numel/8), gaps
 * 1 (width) + 8 (symbol count) + ceil(symbols*width/8). */
#define TSL_MASK_MAX_GAP_BITS 16
struct tsl_mask_coding {
    int64_t kept;
    int gap_width;        /* 0: bitmap (or nothing, when kept == numel) */
    int64_t gap_symbols;
    int64_t bytes;
};
void tsl_mask_coding(const uint8_t *mask, int64_t numel, struct tsl_mask_coding *out);
/* Stored bits of TSL_CODING_HUFFMAN indices with these counts per code
 * (n_codes <= 256): the code-length table plus the coded stream, rounded up
 * to whole bytes. */
int64_t tsl_codebook_huffman_bits(const uint64_t *counts, uint32_t n_codes);
/* counts[k] (256 entries, zeroed here) = kept entries of a CODEBOOK payload
 * with index k (entries masked out are not counted). */
void tsl_codebook_index_counts(const struct tsl_const *c, int64_t numel, uint64_t *counts);

void tsl_quant_fini(struct tsl_quant *q);
enum tsl_status tsl_quant_copy(struct tsl_quant *dst, const struct tsl_quant *src);

#endif
