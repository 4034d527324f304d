/* export_internal.h - the ONNX exporter's private context, shared by
 * export.c (model, graph, values, initializers, file writing) and
 * export_node.c (nodes and their attributes).
 *
 * Every protobuf-c message the exporter builds is allocated through the
 * context and freed with it in one go (tsl_export_fini); strings owned by the
 * graph are referenced, never copied or freed.  Nothing here prints. */
#ifndef TESSEL_EXPORT_INTERNAL_H
#define TESSEL_EXPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx_internal.h"

struct tsl_export {
    const struct tsl_graph *g;
    struct tsl_diag *diag;
    void **allocs; /* every block to free at the end */
    size_t n_allocs, cap_allocs;
    char **gen_names; /* names the exporter invented (also in allocs) */
    size_t n_gen_names, cap_gen_names;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
};

/* Zeroed block freed by tsl_export_fini; NULL on OOM. */
void *tsl_export_alloc(struct tsl_export *ex, size_t size);
/* Hand a malloc'ed block to the context (freed by tsl_export_fini).  On OOM
 * the block is freed at once and false is returned. */
bool tsl_export_track(struct tsl_export *ex, void *p);
/* Free everything the context allocated. */
void tsl_export_fini(struct tsl_export *ex);

/* ONNX elem_type for an IR dtype, widening the sub-byte types (i4, i2 ->
 * INT8, u4 -> UINT8; ONNX INT4/UINT4 do not exist at opset 17); 0 if none. */
int32_t tsl_export_onnx_dtype(enum tsl_dtype dt);

/* A value name that is neither a graph value nor already invented by this
 * export: `base`, else base_1, base_2, ...  NULL on OOM. */
char *tsl_export_fresh_name(struct tsl_export *ex, const char *base);

/* Append a 1-D int64 initializer (values copied). */
enum tsl_status tsl_export_add_i64_init(struct tsl_export *ex, const char *name,
                                        const int64_t *v, uint32_t n);

/* Append node n (and any initializers its opset-17 form needs). */
enum tsl_status tsl_export_node(struct tsl_export *ex, const struct tsl_node *n);

/* Append an Identity node reading `in` and writing `out`. */
enum tsl_status tsl_export_identity(struct tsl_export *ex, const char *in, const char *out);

#endif
