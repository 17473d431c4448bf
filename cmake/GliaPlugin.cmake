# CMake helpers for glia's own build: glia_add_plugin (shared with third-party plugins, see
# GliaAddPlugin.cmake) and glia_add_test.
#
# In this build tree plugins land next to each other in GLIA_PLUGIN_OUTPUT_DIR and install into
# ${CMAKE_INSTALL_LIBDIR}/${GLIA_PLUGIN_SUBDIR}, component runtime.
set(GLIA_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/${GLIA_PLUGIN_SUBDIR})
set(GLIA_PLUGIN_INSTALL_COMPONENT runtime)
include(${CMAKE_CURRENT_LIST_DIR}/GliaAddPlugin.cmake)

# glia_add_test(<name> SOURCES <src>... [LINK <target>...])
# A Catch2 test executable registered with CTest.
function(glia_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE glia_catch_main ${ARG_LINK})
  catch_discover_tests(${name} TEST_PREFIX "${name}: ")
endfunction()
