//===- onnxprune/Plugin.h - Out-of-tree criteria, op handlers, passes -*- C++
//-*-===//
///
/// \file
/// A plugin is a shared library that onnx-prune loads with `-load=PATH`
/// (and the library with onnxprune::api::loadPlugin) and that adds
/// criteria, op handlers and passes to the same registries the in-tree ones
/// use. It exports one entry point, onnxprunePluginInfo(), declared below
/// (as LLVM's llvmGetPassPluginInfo): the loader checks that the plugin was
/// built for this plugin API version, then calls registerPlugin() once.
///
/// \code
///   #include <onnxprune/Plugin.h>
///   #include "passes/Criteria/Criterion.h"       // the internal headers
///   #include "passes/OpHandlers/OpHandler.h"     // (OnnxPrune::plugin)
///
///   static void registerMine() {
///     onnxprune::registerCriterion("my-l1", [] { return ...; }, "...");
///     onnxprune::registerOpHandler("com.example", "MyAct", 1, INT_MAX, ...);
///   }
///   extern "C" ONNXPRUNE_PLUGIN_EXPORT onnxprune::PluginInfo
///   onnxprunePluginInfo() {
///     return {ONNXPRUNE_PLUGIN_API_VERSION, "my-plugin", "1.0",
///             registerMine, nullptr};
///   }
/// \endcode
///
/// Plugins are compiled against the headers of the onnx-prune they load
/// into: the internal headers change between versions, so the API version
/// is raised on every release that changes them.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PUBLIC_PLUGIN_H
#define ONNXPRUNE_PUBLIC_PLUGIN_H

#include <cstdint>

/// The plugin API this header describes; a plugin built for another one is
/// refused.
#define ONNXPRUNE_PLUGIN_API_VERSION 1

#define ONNXPRUNE_PLUGIN_EXPORT __attribute__((visibility("default")))

namespace onnxprune {

class PassBuilder;

/// What a plugin tells the loader.
struct PluginInfo {
  /// ONNXPRUNE_PLUGIN_API_VERSION as the plugin saw it.
  uint32_t apiVersion;
  const char *name;
  const char *version;
  /// Registers the plugin's criteria (registerCriterion) and op handlers
  /// (registerOpHandler). Called once, when the plugin is loaded.
  void (*registerPlugin)();
  /// Optional (null): adds the plugin's passes to a pass builder with
  /// PassBuilder::registerPipelineParsingCallback; called for every
  /// pipeline the tool or the library parses.
  void (*registerPassBuilderCallbacks)(PassBuilder &pb);
};

} // namespace onnxprune

extern "C" {
/// The one entry point a plugin exports.
ONNXPRUNE_PLUGIN_EXPORT onnxprune::PluginInfo onnxprunePluginInfo();
}

#endif // ONNXPRUNE_PUBLIC_PLUGIN_H
