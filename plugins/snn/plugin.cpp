// The snn plugin: glia-snn.so with snn.simulate, snn.raster, and the surrogate-gradient
// trainer snn.train / snn.predict.
#include "ops.hpp"
#include "train/ops.hpp"

GLIA_PLUGIN("snn", "0.1.0", glia::snn::Simulate, glia::snn::Raster, glia::snn::train::Train,
            glia::snn::train::Predict)
