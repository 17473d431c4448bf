/* Compiled as strict C99 by the build: the ABI header must stay plain C. */
#include <glia/plugin.h>

const glia_version glia_sdk_compile_check = GLIA_ABI_VERSION_INIT;
