#ifndef BRUNO_SPICE_HEAP_H
#define BRUNO_SPICE_HEAP_H
#include <stddef.h>

/// A heap scope: every block a loaded library copy allocates through malloc/calloc/realloc/strdup after
/// `bruno_heap_redirect` is recorded in its scope, so `bruno_heap_release` can free what the library never did.
///
/// Why: ngspice keeps its state in globals and, after a fatal error (ControlledExit), can only be unloaded, not
/// reset; the heap of the dead copy (parser tables, the half-built circuit, front-end variables) stays allocated
/// for the life of the process (~110 kB per recovery). Redirecting the copy's own allocator imports (its GOT
/// entries, patched after `dlopen`) into a scope is the only way to free that memory without ngspice's help.
///
/// Blocks of a scope carry a 32-byte header; frees of blocks the C library allocated (strdup'd by libc,
/// realpath(NULL)) are recognised and passed through.

/// Takes a free scope; -1 if all are in use (the copy then runs on the plain C heap).
int bruno_heap_acquire(void);
/// Points the allocator imports of the object loaded from `path` (handle `handle`) at scope `scope`.
/// Returns the number of GOT entries rewritten, or a negative errno-style code.
int bruno_heap_redirect(int scope, const char *path, void *handle);
/// Frees every block still live in `scope` and makes it available again. Call only after the library and
/// everything it loaded are closed and no thread runs its code. Returns the bytes freed.
size_t bruno_heap_release(int scope);
/// Bytes currently live in `scope`.
size_t bruno_heap_live_bytes(int scope);
#endif
