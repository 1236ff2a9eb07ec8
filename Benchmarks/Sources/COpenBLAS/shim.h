// Debian's OpenBLAS (libopenblas-dev): benchmark-only, never a dependency of Bruno itself.
#include <x86_64-linux-gnu/cblas.h>
