/*
 * glia plugin ABI, major version 1.
 *
 * This header is the whole contract between the glia host and a plugin. It is plain C (C99 and
 * C++ compatible); no C++ type, exception or allocator crosses it.
 *
 * Rules (see sdk/README.md for the long form):
 *  - A plugin is a shared library exporting exactly one symbol, glia_plugin_entry_v1 (the ABI
 *    major is in its name), which returns a pointer to a static glia_plugin_entry.
 *  - Structs here are frozen for ABI 1: fields are never reordered or resized. A minor version may
 *    give meaning to a reserved slot (read it only when the peer's minor is high enough) or add
 *    extensions, queried by string id "glia.<name>/<rev>" through get_extension.
 *  - Strings are UTF-8 and NUL-terminated. Pointers handed out by the plugin (entry, factory,
 *    descriptors) stay valid until deinit; pointers handed in by the host stay valid for the
 *    duration of the call that received them unless said otherwise.
 *  - Every function returning glia_status returns GLIA_OK or a negative code; before returning a
 *    negative code a function that received a glia_call calls call->set_error with a message.
 *  - Thread contract tags: [main-thread] calls are serialised by the host; [any-thread] calls may
 *    come from any worker thread; [thread-safe] functions may be called concurrently.
 */
#ifndef GLIA_PLUGIN_H
#define GLIA_PLUGIN_H

#include <stdint.h>
#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLIA_ABI_MAJOR 1
#define GLIA_ABI_MINOR 0
#define GLIA_ABI_PATCH 0
#define GLIA_ENTRY_SYMBOL "glia_plugin_entry_v1"
#define GLIA_OPERATOR_FACTORY_ID "glia.operator-factory/1"

#if defined(_WIN32)
#define GLIA_EXPORT __declspec(dllexport)
#else
#define GLIA_EXPORT __attribute__((visibility("default")))
#endif

typedef struct glia_version {
  uint32_t major;
  uint32_t minor;
  uint32_t patch;
} glia_version;

#define GLIA_ABI_VERSION_INIT {GLIA_ABI_MAJOR, GLIA_ABI_MINOR, GLIA_ABI_PATCH}

/* Status codes. The host maps them to exit codes: INVALID_ARGUMENT -> 78 (config error),
 * DATA/IO/NUMERIC -> 65 (data error), CANCELLED -> 130, anything else -> 70. */
typedef int32_t glia_status;
enum {
  GLIA_OK = 0,
  GLIA_ERR_INVALID_ARGUMENT = -1, /* a parameter or a combination of them is unusable */
  GLIA_ERR_UNSUPPORTED = -2,      /* valid request this operator cannot serve (dtype, device) */
  GLIA_ERR_CANCELLED = -3,        /* call->is_cancelled() became true */
  GLIA_ERR_OUT_OF_MEMORY = -4,
  GLIA_ERR_IO = -5,               /* a file could not be read or written */
  GLIA_ERR_NUMERIC = -6,          /* NaN/Inf, singular system, divergence */
  GLIA_ERR_DATA = -7,             /* input data malformed: shape, values, file contents */
  GLIA_ERR_INTERNAL = -8          /* a bug or an unexpected exception inside the plugin */
};

/* Parameter types. Lists are homogeneous. */
typedef enum glia_param_type {
  GLIA_PARAM_BOOL = 1,
  GLIA_PARAM_INT = 2,
  GLIA_PARAM_FLOAT = 3,
  GLIA_PARAM_STRING = 4,
  GLIA_PARAM_ENUM = 5,  /* a string restricted to glia_param_info.choices */
  GLIA_PARAM_PATH = 6,  /* a string naming a file; relative paths resolve against the config's folder */
  GLIA_PARAM_INT_LIST = 7,
  GLIA_PARAM_FLOAT_LIST = 8
} glia_param_type;

/* A parameter value. BOOL and INT use as.i, FLOAT uses as.f, STRING/ENUM/PATH use as.s,
 * INT_LIST uses as.ints[count], FLOAT_LIST uses as.floats[count]. */
typedef struct glia_value {
  int32_t type;
  uint32_t count;
  union {
    int64_t i;
    double f;
    const char* s;
    const int64_t* ints;
    const double* floats;
  } as;
} glia_value;

enum {
  GLIA_PARAM_REQUIRED = 1u << 0, /* no default: the pipeline must set it */
  GLIA_PARAM_ADVANCED = 1u << 1  /* hidden from generated sample configs unless asked */
};

typedef struct glia_param_info {
  const char* name;          /* TOML key: [a-z][a-z0-9_]* */
  const char* doc;           /* one or more sentences */
  int32_t type;              /* glia_param_type */
  uint32_t flags;            /* GLIA_PARAM_* */
  glia_value default_value;  /* ignored when GLIA_PARAM_REQUIRED */
  double min_value;          /* inclusive bounds for INT/FLOAT and their lists; NaN = unbounded */
  double max_value;
  const char* const* choices; /* ENUM: NULL-terminated list; otherwise NULL */
  const char* unit;           /* "ms", "1/s" ... or NULL */
  void* reserved[4];
} glia_param_info;

/* dtype bits for port dtype masks. */
enum {
  GLIA_DTYPE_F32 = 1u << 0,
  GLIA_DTYPE_F64 = 1u << 1,
  GLIA_DTYPE_I32 = 1u << 2,
  GLIA_DTYPE_I64 = 1u << 3,
  GLIA_DTYPE_U8 = 1u << 4
};

typedef enum glia_port_direction { GLIA_PORT_IN = 1, GLIA_PORT_OUT = 2 } glia_port_direction;

enum {
  GLIA_PORT_OPTIONAL = 1u << 0, /* IN: may be left unconnected (the input pointer is NULL);
                                   OUT: the operator may leave it unallocated */
  GLIA_PORT_SAVE = 1u << 1,     /* OUT: the host saves it as <stage>.<port>.npy in the run folder */
  GLIA_PORT_BLOB = 1u << 2      /* a 1-D uint8 byte blob (a serialised model), see media_type */
};

typedef struct glia_port_info {
  const char* name;
  const char* doc;
  int32_t direction;         /* glia_port_direction */
  uint32_t flags;            /* GLIA_PORT_* */
  uint32_t dtypes;           /* GLIA_DTYPE_* mask of accepted (IN) or produced (OUT) dtypes */
  int32_t ndim;              /* -1: any rank */
  const char* shape;         /* symbolic dims "N,D": names unify along edges, digits are fixed,
                                "*" matches anything; NULL: no constraint beyond ndim */
  const char* media_type;    /* BLOB ports: e.g. "application/x-glia-kan+safetensors"; else NULL */
  void* reserved[4];
} glia_port_info;

enum {
  GLIA_CAP_DETERMINISTIC = 1u << 0,    /* same inputs, params and seed give bit-identical outputs */
  GLIA_CAP_CANCELLABLE = 1u << 1,      /* polls call->is_cancelled() */
  GLIA_CAP_REPORTS_PROGRESS = 1u << 2, /* calls call->progress() */
  GLIA_CAP_STATEFUL = 1u << 3          /* keeps state across run() calls on one instance */
};

typedef struct glia_operator_descriptor {
  glia_version abi;          /* GLIA_ABI_VERSION_INIT */
  const char* id;            /* "family.verb", unique across plugins: [a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+ */
  const char* summary;       /* one line */
  const char* doc;           /* long description or NULL */
  const char* citation;      /* the paper (authors, year, arXiv/DOI) or NULL */
  const char* version;       /* operator version, semver */
  uint32_t capabilities;     /* GLIA_CAP_* */
  uint32_t n_params;
  const glia_param_info* params;
  uint32_t n_ports;
  const glia_port_info* ports;
  void* reserved[8];
} glia_operator_descriptor;

enum { GLIA_LOG_DEBUG = 0, GLIA_LOG_INFO = 1, GLIA_LOG_WARNING = 2, GLIA_LOG_ERROR = 3 };

typedef struct glia_host {
  glia_version abi;
  const char* name;          /* "glia" */
  const char* version;       /* host version string */
  /* [thread-safe] Host services added after ABI 1.0 are reached here; NULL if unknown. */
  const void* (*get_extension)(const struct glia_host* host, const char* id);
  void* reserved[8];
} glia_host;

/* The context of one configure() or run() call. Owned by the host, valid for that call only.
 * All function pointers are [thread-safe]: an operator may call them from its own TBB tasks. */
typedef struct glia_call {
  const glia_host* host;
  void* host_data;
  uint64_t seed;             /* derived from the pipeline seed, trial and stage id */
  const char* stage;         /* stage id in the pipeline, e.g. "train" */
  const char* artifact_dir;  /* per-stage folder for files the operator writes (may be created
                                lazily by the operator); NULL during validation */
  int32_t (*is_cancelled)(const struct glia_call* call);
  void (*progress)(const struct glia_call* call, double fraction, const char* message);
  void (*log)(const struct glia_call* call, int32_t level, const char* message);
  void (*set_error)(const struct glia_call* call, glia_status status, const char* message);
  /* Allocates output port `port` (index into descriptor ports) with a C-contiguous layout. The
   * host owns the memory; *out stays valid for the rest of the run. Calling it twice for the
   * same port is an error. dtype must be one of the port's dtypes. */
  glia_status (*alloc_output)(const struct glia_call* call, uint32_t port, DLDataType dtype,
                              int32_t ndim, const int64_t* shape, DLTensor** out);
  /* Records a metric in results.jsonl; step < 0 means "final". */
  void (*report_metric)(const struct glia_call* call, const char* name, double value,
                        int64_t step);
  void* reserved[8];
} glia_call;

/* An operator instance. Lifetime: create -> configure -> run (one or more times; a STATEFUL
 * operator may keep state between them) -> destroy. */
typedef struct glia_operator {
  const glia_operator_descriptor* desc;
  void* data;                /* the plugin's own */
  /* [main-thread] params holds desc->n_params values in descriptor order, already type- and
   * range-checked by the host with defaults filled in. Checks cross-parameter rules; must be
   * cheap because `glia validate` calls it. */
  glia_status (*configure)(const struct glia_operator* op, const glia_value* params,
                           uint32_t n_params, glia_call* call);
  /* [any-thread] inputs[i] is the i-th IN port in descriptor order (NULL when an OPTIONAL port
   * is unconnected); CPU tensors, possibly strided. Outputs go through call->alloc_output. */
  glia_status (*run)(const struct glia_operator* op, glia_call* call,
                     const DLTensor* const* inputs, uint32_t n_inputs);
  /* [main-thread] */
  void (*destroy)(const struct glia_operator* op);
  /* [thread-safe] Operator extensions by id ("glia.<name>/<rev>"); NULL if unsupported. */
  const void* (*get_extension)(const struct glia_operator* op, const char* id);
} glia_operator;

/* Factory with id GLIA_OPERATOR_FACTORY_ID. All functions [thread-safe]. */
typedef struct glia_operator_factory {
  uint32_t (*count)(const struct glia_operator_factory* factory);
  const glia_operator_descriptor* (*get_descriptor)(const struct glia_operator_factory* factory,
                                                    uint32_t index);
  /* Creates an instance of operator `id`; returns NULL if unknown or out of memory. */
  const glia_operator* (*create)(const struct glia_operator_factory* factory,
                                 const glia_host* host, const char* id);
} glia_operator_factory;

typedef struct glia_plugin_entry {
  glia_version abi;          /* GLIA_ABI_VERSION_INIT: the host refuses another major */
  const char* name;          /* plugin (library) name, e.g. "core" */
  const char* version;       /* plugin version, semver */
  /* [main-thread] Must tolerate repeated calls (reference-counted); no heavy work. Returns 0 on
   * success. */
  int32_t (*init)(const char* plugin_path);
  void (*deinit)(void);
  /* [thread-safe] Returns the factory for factory_id or NULL. */
  const void* (*get_factory)(const char* factory_id);
} glia_plugin_entry;

typedef const glia_plugin_entry* (*glia_plugin_entry_fn)(void);

/* The only symbol a plugin exports. */
GLIA_EXPORT const glia_plugin_entry* glia_plugin_entry_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* GLIA_PLUGIN_H */
