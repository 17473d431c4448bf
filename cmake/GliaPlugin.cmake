# glia_add_plugin(<name> SOURCES <src>... [LINK <target>...])
#
# Builds a glia plugin module named glia-<name>.so that exports only glia_plugin_entry_v1, has
# no undefined symbols, and lands next to the other plugins of the build tree.
set(GLIA_PLUGIN_MAP ${CMAKE_CURRENT_LIST_DIR}/glia-plugin.map)

function(glia_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  set(target glia_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME glia-${name}
    LIBRARY_OUTPUT_DIRECTORY ${GLIA_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE glia::sdk ${ARG_LINK})
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${GLIA_PLUGIN_MAP} -Wl,--no-undefined)
  set_property(GLOBAL APPEND PROPERTY GLIA_PLUGIN_TARGETS ${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/${GLIA_PLUGIN_SUBDIR}
          COMPONENT runtime)
endfunction()

# glia_add_test(<name> SOURCES <src>... [LINK <target>...])
# A Catch2 test executable registered with CTest.
function(glia_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE glia_catch_main ${ARG_LINK})
  catch_discover_tests(${name} TEST_PREFIX "${name}: ")
endfunction()
