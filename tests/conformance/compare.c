/* compare.c - compares a tensor produced by the reference interpreter with
 * the expected tensor of an ONNX test data set, the way ONNX's backend test
 * runner does (numpy.testing.assert_allclose with rtol 1e-3, atol 1e-7,
 * NaN equal to NaN), and describes the first mismatch in one line.
 *
 * It does not read files or decide what a mismatch means for the test
 * outcome (run_node_tests.c does). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

static void shape_str(const struct tsl_shape *s, char *buf, size_t len)
{
    size_t off = 0;
    int n = snprintf(buf, len, "[");
    off = n > 0 ? (size_t)n : 0;
    for (int32_t i = 0; i < s->rank && off < len; i++) {
        n = snprintf(buf + off, len - off, "%s%" PRId64, i ? "," : "", s->dims[i]);
        if (n < 0)
            return;
        off += (size_t)n;
    }
    if (off < len)
        snprintf(buf + off, len - off, "]");
}

/* Row-major multi-index of flat index `flat` in static shape s. */
static void index_str(const struct tsl_shape *s, int64_t flat, char *buf, size_t len)
{
    int64_t idx[TSL_MAX_RANK];
    for (int32_t i = s->rank - 1; i >= 0; i--) {
        int64_t d = s->dims[i] > 0 ? s->dims[i] : 1;
        idx[i] = flat % d;
        flat /= d;
    }
    struct tsl_shape tmp = {.rank = s->rank};
    for (int32_t i = 0; i < s->rank; i++)
        tmp.dims[i] = idx[i];
    shape_str(&tmp, buf, len);
}

static bool float_close(double got, double want, double rtol, double atol)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want);
    if (got == want) /* also equal infinities */
        return true;
    if (isinf(got) || isinf(want))
        return false;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

bool tsl_conf_compare(const struct tsl_tensor *got, const struct tsl_tensor *want,
                      double rtol, double atol, const char *label, char *why,
                      size_t why_len)
{
    char gs[160], ws[160];
    if (got->dtype != want->dtype) {
        snprintf(why, why_len, "%s: dtype %s, expected %s", label, tsl_dtype_name(got->dtype),
                 tsl_dtype_name(want->dtype));
        return false;
    }
    shape_str(&got->shape, gs, sizeof gs);
    shape_str(&want->shape, ws, sizeof ws);
    if (!tsl_shape_equal(&got->shape, &want->shape)) {
        snprintf(why, why_len, "%s: shape %s, expected %s", label, gs, ws);
        return false;
    }
    int64_t numel;
    if (!tsl_shape_numel(&want->shape, &numel)) {
        snprintf(why, why_len, "%s: expected shape %s is not static", label, ws);
        return false;
    }
    if (numel > 0 && (!got->data || !want->data)) {
        snprintf(why, why_len, "%s: %s data buffer is NULL for %" PRId64 " elements", label,
                 got->data ? "expected" : "produced", numel);
        return false;
    }
    bool is_float = tsl_dtype_is_float(want->dtype);
    for (int64_t i = 0; i < numel; i++) {
        char is[160];
        if (is_float) {
            double g = tsl_dense_get_f64(got->dtype, got->data, i);
            double w = tsl_dense_get_f64(want->dtype, want->data, i);
            if (float_close(g, w, rtol, atol))
                continue;
            index_str(&want->shape, i, is, sizeof is);
            snprintf(why, why_len, "%s %s at %s: got %.9g, expected %.9g (|diff| %.3g > %.3g)",
                     label, tsl_dtype_name(want->dtype), is, g, w, fabs(g - w),
                     atol + rtol * fabs(w));
            return false;
        }
        int64_t g = tsl_dense_get_i64(got->dtype, got->data, i);
        int64_t w = tsl_dense_get_i64(want->dtype, want->data, i);
        if (g == w)
            continue;
        index_str(&want->shape, i, is, sizeof is);
        if (want->dtype == TSL_DTYPE_U64)
            snprintf(why, why_len, "%s u64 at %s: got %" PRIu64 ", expected %" PRIu64, label, is,
                     (uint64_t)g, (uint64_t)w);
        else
            snprintf(why, why_len, "%s %s at %s: got %" PRId64 ", expected %" PRId64, label,
                     tsl_dtype_name(want->dtype), is, g, w);
        return false;
    }
    return true;
}
