// A handler that includes the dependency-graph analysis (upward, and a
// cycle with DepGraph.h below).
#include "passes/Analysis/DepGraph.h"
