// The plugin's one exported symbol, glia_plugin_entry_v1, listing its operators.
#include "scale.hpp"

GLIA_PLUGIN("@name@", "0.1.0", @name@_plugin::Scale)
