# glia_add_plugin(<name> SOURCES <src>... [LINK <target>...])
#
# Builds the glia plugin module glia-<name>.so (target glia_plugin_<name>) from C or C++ sources:
# hidden visibility, only glia_plugin_entry_v1 exported (a linker version script), no undefined
# symbols (-Wl,--no-undefined), linked to glia::sdk, and installed into the plugin folder of
# plugin ABI 1, <libdir>/glia/plugins-1 (GLIA_PLUGIN_INSTALL_DIR, component
# GLIA_PLUGIN_INSTALL_COMPONENT, default "runtime").
#
# The same file serves glia's own build (through GliaPlugin.cmake) and third-party plugins
# (through find_package(glia 1)), so in-tree and out-of-tree plugins are built alike.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(glia_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "glia_add_plugin: plugin name '${name}' must match [a-z][a-z0-9_]*")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "glia_add_plugin(${name}): no SOURCES")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "glia_add_plugin(${name}): unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  set(version_script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/glia-plugin.map)
  set(install_dir ${GLIA_PLUGIN_INSTALL_DIR})
  if(NOT install_dir)
    set(install_dir ${CMAKE_INSTALL_LIBDIR}/glia/plugins-${GLIA_ABI_MAJOR})
  endif()
  set(component ${GLIA_PLUGIN_INSTALL_COMPONENT})
  if(NOT component)
    set(component runtime)
  endif()

  set(target glia_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME glia-${name}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${version_script})
  if(GLIA_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${GLIA_PLUGIN_OUTPUT_DIR})
  endif()
  target_link_libraries(${target} PRIVATE glia::sdk ${ARG_LINK})
  target_link_options(${target} PRIVATE -Wl,--version-script=${version_script} -Wl,--no-undefined)
  set_property(GLOBAL APPEND PROPERTY GLIA_PLUGIN_TARGETS ${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${install_dir} COMPONENT ${component})
endfunction()
