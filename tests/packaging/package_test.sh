#!/bin/bash
# The packages as their users meet them, from a staged root (no root install needed):
#   package_test.sh build      cpack the build tree; dpkg -x every .deb into $WORK/root
#   package_test.sh lintian    lintian on the .debs: no errors (warnings are printed)
#   package_test.sh installed  the staged glia: layout, plugins, an example run, man page, completion
#   package_test.sh tarball    the tarball unpacked under two different folders runs from both
#   package_test.sh template   `glia new plugin` built against the staged SDK, checked, run
#   package_test.sh c-plugin   a plain C99 plugin built with pkg-config only, checked, run
# Environment: BUILD_DIR (the configured, built tree), SOURCE_DIR, WORK (scratch folder),
# LIBDIR (CMAKE_INSTALL_LIBDIR), PLUGINS (comma-separated in-tree plugin names), VERSION.
set -euo pipefail

step=$1
root=$WORK/root
glia=$root/usr/bin/glia
export GLIA_REGISTRY=$WORK/registry-$step.json  # never the user's cache
export XDG_CACHE_HOME=$WORK/cache-$step

fail() { echo "FAIL: $*" >&2; exit 1; }
# Runs a command, showing it; its stdout is kept in $WORK/out, stderr in $WORK/err (per step).
run() {
  echo "+ $*"
  "$@" > "$WORK/$step.out" 2> "$WORK/$step.err" || {
    cat "$WORK/$step.out" "$WORK/$step.err"
    fail "exit $?: $*"
  }
  cat "$WORK/$step.out"
}
expect_in_out() { grep -qF -- "$1" "$WORK/$step.out" || fail "expected '$1' in the output above"; }
need() { command -v "$1" > /dev/null || fail "$1 is not installed (./.ci/install-deps installs it)"; }
expect_quiet_err() { [ ! -s "$WORK/$step.err" ] || { cat "$WORK/$step.err"; fail "unexpected messages on stderr"; }; }

case $step in
build)
  need dpkg-shlibdeps
  rm -rf "$WORK"
  mkdir -p "$WORK/packages" "$root"
  run cpack --config "$BUILD_DIR/CPackConfig.cmake" -G "DEB;TGZ" -B "$WORK/packages"
  for deb in "$WORK"/packages/*.deb; do
    dpkg-deb --info "$deb"
    dpkg -x "$deb" "$root"
  done
  ls -l "$WORK"/packages/*.deb "$WORK"/packages/*.tar.gz
  runtime=$WORK/packages/glia_${VERSION}_amd64.deb
  [ -f "$runtime" ] || fail "no $runtime"
  [ -f "$WORK/packages/glia-dev_${VERSION}_amd64.deb" ] || fail "no glia-dev package"
  dpkg-deb -f "$runtime" Provides | grep -qx "glia-plugin-abi-1" || fail "glia does not provide glia-plugin-abi-1"
  # Depends come from dpkg-shlibdeps, so they name the libraries glia really links.
  depends=$(dpkg-deb -f "$runtime" Depends)
  for lib in libtbb12 libboost-filesystem libopenblas0 libstdc++6; do
    [[ $depends == *$lib* ]] || fail "Depends lacks $lib: $depends"
  done
  ;;

lintian)
  need lintian
  lintian --version
  # Root is fine for a check of built packages; lintian only warns about it.
  lintian --info --display-level ">=warning" --tag-display-limit 0 "$WORK"/packages/*.deb \
    > "$WORK/lintian.txt" 2>&1 || true
  grep -v "running with root privileges" "$WORK/lintian.txt" || true
  if grep -q "^E: " "$WORK/lintian.txt"; then fail "lintian reports errors"; fi
  ;;

installed)
  need man
  for path in usr/bin/glia "usr/$LIBDIR/glia/plugins-1" usr/include/glia/plugin.h usr/include/glia/plugin.hpp \
              "usr/$LIBDIR/cmake/glia/gliaConfig.cmake" "usr/$LIBDIR/pkgconfig/glia.pc" \
              usr/share/glia/configs/ridge-synthetic.toml usr/share/man/man1/glia.1.gz \
              usr/share/bash-completion/completions/glia usr/share/zsh/vendor-completions/_glia \
              usr/share/doc/glia/copyright usr/share/doc/glia-dev/copyright; do
    [ -e "$root/$path" ] || fail "package lacks /$path"
  done
  run "$glia" --version
  expect_in_out "plugin ABI 1"
  run "$glia" plugins
  expect_quiet_err
  IFS=',' read -ra plugins <<< "$PLUGINS"
  for name in "${plugins[@]}"; do
    [ -f "$root/usr/$LIBDIR/glia/plugins-1/glia-$name.so" ] || fail "plugin $name is not in the package"
    grep -qE "^[a-z0-9_.]+ +$name " "$WORK/$step.out" || fail "glia plugins lists no operator of plugin $name"
  done
  for name in "${plugins[@]}"; do
    run "$glia" plugins check "$root/usr/$LIBDIR/glia/plugins-1/glia-$name.so"
    expect_in_out ": conforms"
  done
  run "$glia" run "$root/usr/share/glia/configs/ridge-synthetic.toml" --out "$WORK/ridge-run" --quiet
  expect_in_out "metrics.r2"
  [ -f "$WORK/ridge-run/results.jsonl" ] || fail "the example wrote no results.jsonl"
  run env MANPAGER=cat MANWIDTH=80 man -l "$root/usr/share/man/man1/glia.1.gz"
  expect_in_out "plugins check"
  expect_in_out "EXIT STATUS"
  # The bash completion completes subcommands and operator ids from the installed plugins.
  cat > "$WORK/complete.bash" <<'COMPLETE'
source /usr/share/bash-completion/bash_completion
source "$1/usr/share/bash-completion/completions/glia"
complete_line() {  # prints the completions of the last word of "$*"
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=(); _glia; echo "$* -> ${COMPREPLY[*]}"
}
complete_line "$1/usr/bin/glia" plu
complete_line "$1/usr/bin/glia" plugins info linear.r
complete_line "$1/usr/bin/glia" run x.toml --format j
COMPLETE
  run bash "$WORK/complete.bash" "$root"
  expect_in_out "plu -> plugins"
  expect_in_out "linear.r -> linear.ridge"
  expect_in_out "--format j -> json"
  ;;

tarball)
  tarball=$(ls "$WORK"/packages/glia-*.tar.gz)
  for place in "$WORK/unpacked/first" "$WORK/unpacked/second place"; do
    mkdir -p "$place"
    tar -xzf "$tarball" -C "$place"
    top=$(ls -d "$place"/glia-*)
    run "$top/bin/glia" plugins --format json
    expect_quiet_err
    # Every operator comes from the unpacked tree itself.
    grep -F '"path":' "$WORK/$step.out" | grep -vF "\"$top/" && fail "operators from outside $top"
    expect_in_out "\"linear.ridge\""
    run "$top/bin/glia" run "$top/share/glia/configs/ridge-synthetic.toml" --out "$place/run" --quiet
    expect_in_out "metrics.r2"
  done
  ;;

template)
  project=$WORK/template/wave
  mkdir -p "$WORK/template"
  run "$glia" new plugin wave --dir "$project"
  # A separate CMake project that knows glia only through the staged SDK.
  run cmake -S "$project" -B "$project/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_INSTALL_PREFIX=/usr \
      -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  grep -q "glia_DIR:PATH=$root/usr/$LIBDIR/cmake/glia" "$project/build/CMakeCache.txt" ||
    fail "the template did not find the staged SDK"
  run cmake --build "$project/build"
  run ctest --test-dir "$project/build" --output-on-failure
  so=$project/build/glia-wave.so
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort -u)
  [ "$exported" = "glia_plugin_entry_v1" ] || fail "exports more than the entry: $exported"
  run "$glia" --plugin-path "$project/build" plugins check "$so"
  expect_in_out ": conforms"
  run "$glia" --plugin-path "$project/build" run "$project/pipelines/sample.toml" \
      --set scale.factor=0 --out "$WORK/template-run" --format json
  expect_in_out '"scale.mean": 0.0'
  [ -f "$WORK/template-run/scale.y.npy" ] || fail "the pipeline did not save scale.y.npy"
  # glia::nn, the static learning substrate, comes with the SDK as a component.
  mkdir -p "$WORK/template/nn-user"
  printf '%s\n' 'cmake_minimum_required(VERSION 3.20)' 'project(nn_user LANGUAGES CXX)' \
    'find_package(glia 1 REQUIRED COMPONENTS nn)' 'glia_add_plugin(nn_user SOURCES plugin.cpp LINK glia::nn)' \
    > "$WORK/template/nn-user/CMakeLists.txt"
  { echo '#include <glia/nn/model.hpp>'; echo '#include "../wave/src/scale.hpp"'
    echo 'GLIA_PLUGIN("nn_user", "0.1.0", wave_plugin::Scale)'; } > "$WORK/template/nn-user/plugin.cpp"
  run cmake -S "$WORK/template/nn-user" -B "$WORK/template/nn-user/build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  run cmake --build "$WORK/template/nn-user/build"
  grep -q "libglia_nn.a" "$WORK/template/nn-user/build/build.ninja" || fail "glia::nn is not linked"
  # Installed as a distribution package would (prefix /usr, DESTDIR), the plugin lands beside
  # the glia package's own plugins.
  run env DESTDIR="$WORK/template/destdir" cmake --install "$project/build"
  [ -f "$WORK/template/destdir/usr/$LIBDIR/glia/plugins-1/glia-wave.so" ] || fail "the plugin installs elsewhere"
  ;;

c-plugin)
  export PKG_CONFIG_PATH=$root/usr/$LIBDIR/pkgconfig
  run pkg-config --cflags --modversion glia
  mkdir -p "$WORK/c-plugin"
  so=$WORK/c-plugin/glia-cplain.so
  # Plain C99 and nothing else: no C++ compiler, no C++ layer, no CMake.
  run cc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -fPIC -fvisibility=hidden $(pkg-config --cflags glia) \
      -shared -Wl,--no-undefined -o "$so" "$SOURCE_DIR/tests/packaging/c_plugin/cplain.c"
  if nm -D "$so" | grep -q "GLIBCXX\|CXXABI"; then fail "the C plugin links the C++ runtime"; fi
  run "$glia" --plugin-path "$so" plugins check "$so"
  expect_in_out ": conforms"
  pipeline=$SOURCE_DIR/tests/packaging/c_plugin/cplain.toml
  run "$glia" --plugin-path "$so" run "$pipeline" --set offset.offset=0 --out "$WORK/c-run-0" --format json
  mean0=$(grep -o '"offset.mean": [-0-9.e]*' "$WORK/$step.out" | awk '{print $2}')
  run "$glia" --plugin-path "$so" run "$pipeline" --set offset.offset=2.5 --out "$WORK/c-run-1" --format json
  mean1=$(grep -o '"offset.mean": [-0-9.e]*' "$WORK/$step.out" | awk '{print $2}')
  awk -v a="$mean0" -v b="$mean1" 'BEGIN { d = b - a - 2.5; exit !(d < 1e-9 && d > -1e-9) }' ||
    fail "offset 2.5 moved the mean from $mean0 to $mean1"
  # The same source through find_package(glia 1) in a CMake project whose only language is C.
  run cmake -S "$SOURCE_DIR/tests/packaging/c_plugin" -B "$WORK/c-plugin/cmake-build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  run cmake --build "$WORK/c-plugin/cmake-build"
  run "$glia" plugins check "$WORK/c-plugin/cmake-build/glia-cplain.so"
  expect_in_out ": conforms"
  ;;

*) fail "unknown step '$step'" ;;
esac
echo "package_test.sh $step: ok"
