/* A glia plugin in plain C99, without the C++ layer: proof that the plugin ABI is C.
 *
 * Operator cplain.offset: y = x + offset for a float64 matrix, reporting the mean of y.
 * Built by tests/packaging with nothing but a C compiler and `pkg-config --cflags glia`. */
#include <glia/plugin.h>

#include <stdlib.h>
#include <string.h>

enum { PORT_X, PORT_Y };

static const glia_param_info params[] = {
    {"offset", "Added to every element.", GLIA_PARAM_FLOAT, 0, {GLIA_PARAM_FLOAT, 0, {.f = 1.0}}, -1e9, 1e9,
     NULL, NULL, {0}}};
static const glia_port_info ports[] = {
    {"x", "A float64 matrix.", GLIA_PORT_IN, 0, GLIA_DTYPE_F64, 2, "N,D", NULL, {0}},
    {"y", "x plus offset.", GLIA_PORT_OUT, 0, GLIA_DTYPE_F64, 2, "N,D", NULL, {0}}};
static const glia_operator_descriptor descriptor = {
    GLIA_ABI_VERSION_INIT, "cplain.offset", "Adds a constant to a matrix (a plain C plugin).", NULL, NULL,
    "1.0.0", GLIA_CAP_DETERMINISTIC, 1, params, 2, ports, {0}};

typedef struct offset_op {
  glia_operator c;
  double offset;
} offset_op;

static glia_status configure(const glia_operator* op, const glia_value* values, uint32_t n, glia_call* call) {
  (void)call;
  if (n != 1) return GLIA_ERR_INTERNAL;
  ((offset_op*)op->data)->offset = values[0].as.f;
  return GLIA_OK;
}

static glia_status run(const glia_operator* op, glia_call* call, const DLTensor* const* inputs, uint32_t n) {
  const DLTensor* x = n == 1 ? inputs[0] : NULL;
  if (!x || x->ndim != 2 || x->dtype.code != kDLFloat || x->dtype.bits != 64) {
    call->set_error(call, GLIA_ERR_DATA, "x must be a float64 matrix");
    return GLIA_ERR_DATA;
  }
  DLTensor* y = NULL;
  glia_status s = call->alloc_output(call, PORT_Y, x->dtype, 2, x->shape, &y);
  if (s != GLIA_OK) return s;
  const int64_t rows = x->shape[0], cols = x->shape[1];
  const int64_t row_stride = x->strides ? x->strides[0] : cols, col_stride = x->strides ? x->strides[1] : 1;
  const double* in = (const double*)((const char*)x->data + x->byte_offset);
  double* out = (double*)y->data;
  double sum = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      out[i * cols + j] = in[i * row_stride + j * col_stride] + ((offset_op*)op->data)->offset;
      sum += out[i * cols + j];
    }
  call->report_metric(call, "mean", rows * cols > 0 ? sum / (double)(rows * cols) : 0.0, -1);
  return GLIA_OK;
}

static void destroy(const glia_operator* op) { free(op->data); }
static const void* operator_extension(const glia_operator* op, const char* id) {
  (void)op; (void)id;
  return NULL;
}

static uint32_t count(const glia_operator_factory* f) { (void)f; return 1; }
static const glia_operator_descriptor* get_descriptor(const glia_operator_factory* f, uint32_t i) {
  (void)f;
  return i == 0 ? &descriptor : NULL;
}
static const glia_operator* create(const glia_operator_factory* f, const glia_host* h, const char* id) {
  (void)f; (void)h;
  if (!id || strcmp(id, descriptor.id) != 0) return NULL;
  offset_op* op = calloc(1, sizeof *op);
  if (!op) return NULL;
  op->c.desc = &descriptor;
  op->c.data = op;
  op->c.configure = configure;
  op->c.run = run;
  op->c.destroy = destroy;
  op->c.get_extension = operator_extension;
  op->offset = 1.0;
  return &op->c;
}
static const glia_operator_factory factory = {count, get_descriptor, create};

static int32_t init(const char* path) { (void)path; return 0; }
static void deinit(void) {}
static const void* get_factory(const char* id) {
  return id && strcmp(id, GLIA_OPERATOR_FACTORY_ID) == 0 ? &factory : NULL;
}
static const glia_plugin_entry entry = {GLIA_ABI_VERSION_INIT, "cplain", "1.0.0", init, deinit, get_factory};

GLIA_EXPORT const glia_plugin_entry* glia_plugin_entry_v1(void) { return &entry; }
