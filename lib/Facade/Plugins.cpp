//===- Plugins.cpp - Loading tool plugins ---------------------------------===//
///
/// \file
/// onnxprune/Plugin.h's loader: opens the library for good (its handlers
/// and criteria live in the registries until exit), finds
/// onnxprunePluginInfo, checks the API version, and registers.
///
//===----------------------------------------------------------------------===//

#include "onnxprune/Plugin.h"

#include "lib/Facade/FacadeInternal.h"
#include "lib/Support/Error.h"
#include "passes/Pipeline/PassBuilder.h"

#include "llvm/Support/DynamicLibrary.h"

#include <mutex>
#include <vector>

using namespace llvm;

namespace onnxprune {

namespace {
std::mutex pluginsMutex;
std::vector<PluginInfo> &loadedPlugins() {
  static std::vector<PluginInfo> plugins;
  return plugins;
}
} // namespace

Error loadPluginLibrary(StringRef path) {
  std::string err;
  sys::DynamicLibrary lib =
      sys::DynamicLibrary::getPermanentLibrary(path.str().c_str(), &err);
  if (!lib.isValid())
    return makeError("plugin '" + path + "': cannot load: " + err);
  using InfoFn = PluginInfo (*)();
  auto fn =
      reinterpret_cast<InfoFn>(lib.getAddressOfSymbol("onnxprunePluginInfo"));
  if (!fn)
    return makeError("plugin '" + path +
                     "': no entry point onnxprunePluginInfo (see "
                     "onnxprune/Plugin.h)");
  PluginInfo info = fn();
  if (info.apiVersion != ONNXPRUNE_PLUGIN_API_VERSION)
    return makeError("plugin '" + path + "' was built for plugin API " +
                     Twine(info.apiVersion) + ", this onnx-prune has " +
                     Twine(ONNXPRUNE_PLUGIN_API_VERSION) + "; rebuild it");
  if (!info.registerPlugin)
    return makeError("plugin '" + path + "': registerPlugin is null");
  std::lock_guard<std::mutex> lock(pluginsMutex);
  // The same file loaded twice registers once (dlopen returns the same
  // handle, and so the same function).
  for (const PluginInfo &p : loadedPlugins())
    if (p.registerPlugin == info.registerPlugin)
      return Error::success();
  info.registerPlugin();
  loadedPlugins().push_back(info);
  return Error::success();
}

void addPluginPassCallbacks(PassBuilder &pb) {
  std::lock_guard<std::mutex> lock(pluginsMutex);
  for (const PluginInfo &p : loadedPlugins())
    if (p.registerPassBuilderCallbacks)
      p.registerPassBuilderCallbacks(pb);
}

namespace api {
Status loadPlugin(const std::string &path) {
  return toStatus(loadPluginLibrary(path), /*inputError=*/true);
}
} // namespace api

} // namespace onnxprune
