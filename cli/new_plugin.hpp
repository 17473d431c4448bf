// `glia new plugin NAME [--dir DIR]`: writes an out-of-tree plugin project.
#pragma once

#include <filesystem>
#include <string>

namespace glia::cli {

// Writes the project (the template in packaging/plugin-template, compiled into glia) into
// `dir` (default ./NAME), which must not exist or be empty. The folder appears complete or not
// at all. Throws glia::host::Failure with a usage or data exit code.
int new_plugin(const std::string& name, const std::filesystem::path& dir);

}  // namespace glia::cli
