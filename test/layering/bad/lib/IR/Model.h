// Protobuf in the IR.
#include <google/protobuf/message.h>
