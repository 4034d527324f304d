/* shape.h - shape and dtype inference for every op in ops.def.
 *
 * tsl_infer_shapes walks the nodes in order and sets each output's dtype and
 * shape from its inputs and attributes, checking them on the way (attribute
 * ranges, rank and dtype requirements), reporting errors that name the node.
 * Symbolic dims flow through (N stays N); a dim that depends on runtime data
 * (NonZero, NonMaxSuppression, a Reshape whose shape is computed at run time)
 * becomes a fresh symbol.  Small integer tensors whose values are known at
 * compile time (constants, Shape of a static tensor and arithmetic on those)
 * are tracked during the walk so Reshape/Expand/Slice/... get exact shapes. */
#ifndef TESSEL_SHAPE_H
#define TESSEL_SHAPE_H

#include "tessel/diag.h"
#include "tessel/ir.h"

enum tsl_status tsl_infer_shapes(struct tsl_graph *g, struct tsl_diag *diag);

#endif
