// A plugin built for another plugin API version: onnx-prune -load must
// refuse it with a one-line message (run_install_test.sh).
#include <onnxprune/Plugin.h>

static void registerNothing() {}

extern "C" ONNXPRUNE_PLUGIN_EXPORT onnxprune::PluginInfo onnxprunePluginInfo() {
  return {ONNXPRUNE_PLUGIN_API_VERSION + 98, "bad-plugin", "0", registerNothing,
          nullptr};
}
