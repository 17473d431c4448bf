// glia-core: the built-in operators (readers, writers, data preparation, metrics).
#include "core_ops.hpp"

GLIA_PLUGIN("core", "0.1.0", glia::core::ReadCsv, glia::core::ReadNpy, glia::core::WriteNpy,
            glia::core::ReadIdx, glia::core::Split, glia::core::Standardize, glia::core::OneHot,
            glia::core::Synthetic, glia::core::RegressionMetrics, glia::core::ClassificationMetrics)
