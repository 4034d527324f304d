/* common.c - helpers shared by the ONNX importer and exporter: the mapping
 * between ONNX TensorProto.DataType codes and enum tsl_dtype, and the default
 * operator domain test.  One static table is the source of truth for the
 * mapping in both directions.  No protobuf parsing or I/O here. */
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

struct dtype_row {
    int32_t code;
    const char *onnx_name;
    enum tsl_dtype dt; /* TSL_DTYPE_UNDEF: no tessel type */
};

static const struct dtype_row dtype_rows[] = {
    {0, "UNDEFINED", TSL_DTYPE_UNDEF},  {1, "FLOAT", TSL_DTYPE_F32},
    {2, "UINT8", TSL_DTYPE_U8},         {3, "INT8", TSL_DTYPE_I8},
    {4, "UINT16", TSL_DTYPE_U16},       {5, "INT16", TSL_DTYPE_I16},
    {6, "INT32", TSL_DTYPE_I32},        {7, "INT64", TSL_DTYPE_I64},
    {8, "STRING", TSL_DTYPE_UNDEF},     {9, "BOOL", TSL_DTYPE_BOOL},
    {10, "FLOAT16", TSL_DTYPE_F16},     {11, "DOUBLE", TSL_DTYPE_F64},
    {12, "UINT32", TSL_DTYPE_U32},      {13, "UINT64", TSL_DTYPE_U64},
    {14, "COMPLEX64", TSL_DTYPE_UNDEF}, {15, "COMPLEX128", TSL_DTYPE_UNDEF},
    {16, "BFLOAT16", TSL_DTYPE_BF16},   {17, "FLOAT8E4M3FN", TSL_DTYPE_UNDEF},
    {18, "FLOAT8E4M3FNUZ", TSL_DTYPE_UNDEF}, {19, "FLOAT8E5M2", TSL_DTYPE_UNDEF},
    {20, "FLOAT8E5M2FNUZ", TSL_DTYPE_UNDEF},
};

bool tsl_onnx_dtype_from_onnx(int32_t onnx_code, enum tsl_dtype *out)
{
    if (onnx_code < 0 || (size_t)onnx_code >= TSL_ARRAY_LEN(dtype_rows))
        return false;
    if (dtype_rows[onnx_code].dt == TSL_DTYPE_UNDEF)
        return false;
    *out = dtype_rows[onnx_code].dt;
    return true;
}

int32_t tsl_onnx_dtype_to_onnx(enum tsl_dtype dt)
{
    if (dt == TSL_DTYPE_UNDEF)
        return 0;
    for (size_t i = 0; i < TSL_ARRAY_LEN(dtype_rows); i++)
        if (dtype_rows[i].dt == dt)
            return dtype_rows[i].code;
    return 0;
}

const char *tsl_onnx_dtype_onnx_name(int32_t onnx_code)
{
    if (onnx_code < 0 || (size_t)onnx_code >= TSL_ARRAY_LEN(dtype_rows))
        return "?";
    return dtype_rows[onnx_code].onnx_name;
}

bool tsl_onnx_is_default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}
