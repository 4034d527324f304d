/* reference.h - the reference interpreter: runs an IR graph with plain,
 * obviously-correct C kernels.  It is the oracle for every other backend.
 * (API to be completed by the reference-backend work; see docs/.) */
#ifndef TESSEL_REFERENCE_H
#define TESSEL_REFERENCE_H
#include "tessel/ir.h"
#endif
