// The snn plugin: glia-snn.so with snn.simulate and snn.raster.
#include "ops.hpp"

GLIA_PLUGIN("snn", "0.1.0", glia::snn::Simulate, glia::snn::Raster)
