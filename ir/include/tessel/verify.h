/* verify.h - the IR verifier: structure (unique names, use lists, defined
 * inputs, topological order, no cycles, arity from ops.def, graph outputs),
 * types (known dtypes, ranks within TSL_MAX_RANK, constants' payloads match
 * their types) and per-op attribute ranges (through the per-op rule table).
 * Reports every problem found into diag; returns VERIFY if any. */
#ifndef TESSEL_VERIFY_H
#define TESSEL_VERIFY_H

#include "tessel/diag.h"
#include "tessel/ir.h"

enum tsl_status tsl_verify(const struct tsl_graph *g, struct tsl_diag *diag);

#endif
