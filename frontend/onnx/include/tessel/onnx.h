/* onnx.h - ONNX import into the tessel IR and export back to ONNX.
 *
 * Import reads a ModelProto (opsets 7..18 of the default domain), converts
 * every initializer encoding and Constant node into IR constants, rewrites
 * older opset forms into the IR's opset-17 form (see ops.def), runs shape
 * inference, and verifies the result.  All problems found are reported into
 * `diag` (unsupported ops all at once, in one error); the graph is returned
 * only on success.  Hostile input is expected: nesting depth, sizes, external
 * data paths and payload lengths are checked before use.
 *
 * Export writes the IR as an opset-17 ModelProto with dense initializers
 * (non-dense weight encodings are decoded).  Files are written to a
 * temporary name and renamed, so a failure never leaves a partial file.
 *
 * protobuf-c types never appear outside frontend/onnx. */
#ifndef TESSEL_ONNX_H
#define TESSEL_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

struct tsl_onnx_import_options {
    /* Maximum protobuf nesting depth accepted (0 = default 64). */
    int max_depth;
    /* Budget for all tensor payload bytes (0 = default 4 GiB). */
    int64_t max_tensor_bytes;
    /* Skip shape inference and verification (for tools that only dump). */
    int no_infer;
};

/* Import the model at `path`.  External data files are resolved inside the
 * model's folder only.  *out is owned by the caller (tsl_graph_destroy). */
enum tsl_status tsl_onnx_import_file(const char *path,
                                     const struct tsl_onnx_import_options *opt,
                                     struct tsl_graph **out, struct tsl_diag *diag);

/* Import from memory.  `base_dir` is the folder external data may live in
 * (NULL: external data is rejected); `display_name` names the model in
 * diagnostics. */
enum tsl_status tsl_onnx_import_buffer(const void *data, size_t len, const char *base_dir,
                                       const char *display_name,
                                       const struct tsl_onnx_import_options *opt,
                                       struct tsl_graph **out, struct tsl_diag *diag);

/* Serialize g as an ONNX model; *data_out is malloc'ed, caller frees. */
enum tsl_status tsl_onnx_export_buffer(const struct tsl_graph *g, uint8_t **data_out,
                                       size_t *len_out, struct tsl_diag *diag);
/* Same, written atomically to `path`. */
enum tsl_status tsl_onnx_export_file(const struct tsl_graph *g, const char *path,
                                     struct tsl_diag *diag);

/* Parse a serialized ONNX TensorProto (a .pb test-data file) into a dense
 * buffer: dtype, shape and malloc'ed data (caller frees *data_out).  Name is
 * returned malloc'ed in *name_out (may be ""), or pass NULL to skip. */
enum tsl_status tsl_onnx_read_tensor(const void *data, size_t len, const char *display_name,
                                     enum tsl_dtype *dtype_out, struct tsl_shape *shape_out,
                                     void **data_out, char **name_out, struct tsl_diag *diag);

#endif
