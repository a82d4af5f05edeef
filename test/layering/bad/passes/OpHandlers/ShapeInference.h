#include "lib/IR/Model.h"
