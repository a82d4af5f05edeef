#include "passes/OpHandlers/OpHandler.h"
