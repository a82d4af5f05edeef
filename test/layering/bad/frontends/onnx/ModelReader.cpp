// The reader running the passes' shape inference.
#include "passes/OpHandlers/ShapeInference.h"
