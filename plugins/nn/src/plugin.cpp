#include "ops.hpp"

GLIA_PLUGIN("nn", "0.1.0", glia::nn_plugin::MlpTrain, glia::nn_plugin::MlpPredict,
            glia::nn_plugin::CnnTrain, glia::nn_plugin::CnnPredict)
