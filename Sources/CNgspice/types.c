// Intentionally empty: CNgspice only carries the shim header (SwiftPM needs one source file).
#include "CNgspice.h"
