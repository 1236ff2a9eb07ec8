// Heap scopes for private library copies: see include/spice_heap.h for why.
#define _GNU_SOURCE
#include "spice_heap.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCOPES 64
#define MAGIC 0x42524e4f48454150ULL  // "BRNOHEAP"

typedef struct block {
    struct block *prev, *next;
    uint64_t magic;  // MAGIC ^ (uintptr_t)self, so a stale or foreign header never matches
    uint64_t meta;   // size << 8 | shifted << 7 | scope
} block;
_Static_assert(sizeof(block) == 32, "header keeps 16-byte alignment");

typedef struct {
    pthread_mutex_t lock;
    block head;  // circular list of live blocks
    size_t live;
    int used;
} scope_t;

static scope_t scopes[SCOPES];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_scopes(void) {
    for (int i = 0; i < SCOPES; i++) {
        pthread_mutex_init(&scopes[i].lock, NULL);
        scopes[i].head.prev = scopes[i].head.next = &scopes[i].head;
    }
}

static inline uint64_t tag_of(block *b) { return MAGIC ^ (uint64_t)(uintptr_t)b; }
static inline size_t size_of(block *b) { return (size_t)(b->meta >> 8); }
static inline int scope_of(block *b) { return (int)(b->meta & 0x7f); }
static inline void *raw_of(block *b) { return (char *)b - ((b->meta & 0x80) ? 32 : 0); }

/// The header of `p` if the block belongs to a scope, else NULL (a block of the C library's own).
///
/// A header is only read within the page of `p`: blocks of a scope never start in the first 32 bytes of a page
/// (see scope_malloc), so a foreign pointer there (an mmapped chunk of the C library starts at offset 16) is
/// passed through without touching the page before it, which may not be mapped.
static inline block *ours(void *p) {
    if (p == NULL || ((uintptr_t)p & 15) != 0 || ((uintptr_t)p & 4095) < 32) return NULL;
    block *b = (block *)p - 1;
    return b->magic == tag_of(b) && scope_of(b) < SCOPES ? b : NULL;
}

static void *scope_malloc(int s, size_t n) {
    if (n > (SIZE_MAX >> 8) - 2 * sizeof(block)) { errno = ENOMEM; return NULL; }
    char *raw = malloc(2 * sizeof(block) + n);
    if (raw == NULL) return NULL;
    int shifted = (((uintptr_t)raw + sizeof(block)) & 4095) < 32;
    block *b = (block *)(raw + (shifted ? sizeof(block) : 0));
    b->magic = tag_of(b);
    b->meta = ((uint64_t)n << 8) | (shifted ? 0x80u : 0u) | (uint64_t)s;
    scope_t *sc = &scopes[s];
    pthread_mutex_lock(&sc->lock);
    b->next = sc->head.next;
    b->prev = &sc->head;
    sc->head.next->prev = b;
    sc->head.next = b;
    sc->live += n;
    pthread_mutex_unlock(&sc->lock);
    return b + 1;
}

static void scope_free(void *p) {
    block *b = ours(p);
    if (b == NULL) { free(p); return; }
    scope_t *sc = &scopes[scope_of(b)];
    pthread_mutex_lock(&sc->lock);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    sc->live -= size_of(b);
    pthread_mutex_unlock(&sc->lock);
    b->magic = 0;
    free(raw_of(b));
}

static void *scope_calloc(int s, size_t count, size_t n) {
    if (n != 0 && count > SIZE_MAX / n) { errno = ENOMEM; return NULL; }
    void *p = scope_malloc(s, count * n);
    if (p) memset(p, 0, count * n);
    return p;
}

static void *scope_realloc(int s, void *p, size_t n) {
    if (p == NULL) return scope_malloc(s, n);
    block *b = ours(p);
    if (b == NULL) return realloc(p, n);  // a block of the C library stays one
    if (n == 0) { scope_free(p); return NULL; }  // glibc's realloc(p, 0)
    size_t old = size_of(b);
    if (n <= old && n >= old / 2) return p;
    void *q = scope_malloc(scope_of(b), n);
    if (q == NULL) return NULL;
    memcpy(q, p, n < old ? n : old);
    scope_free(p);
    return q;
}

static char *scope_strdup(int s, const char *text) {
    size_t n = strlen(text) + 1;
    char *p = scope_malloc(s, n);
    if (p) memcpy(p, text, n);
    return p;
}

// One set of entry points per scope: a GOT entry is a bare function pointer, so the scope is in the function.
#define SCOPE_FUNCS(i) \
    static void *malloc_##i(size_t n) { return scope_malloc(i, n); } \
    static void *calloc_##i(size_t c, size_t n) { return scope_calloc(i, c, n); } \
    static void *realloc_##i(void *p, size_t n) { return scope_realloc(i, p, n); } \
    static char *strdup_##i(const char *t) { return scope_strdup(i, t); }
#define X8(a) SCOPE_FUNCS(a##0) SCOPE_FUNCS(a##1) SCOPE_FUNCS(a##2) SCOPE_FUNCS(a##3) \
              SCOPE_FUNCS(a##4) SCOPE_FUNCS(a##5) SCOPE_FUNCS(a##6) SCOPE_FUNCS(a##7)
X8() X8(1) X8(2) X8(3) X8(4) X8(5) X8(6) X8(7)
#undef X8
#define P(kind, i) (void *)kind##_##i
#define ROW(i) { P(malloc, i), P(calloc, i), P(realloc, i), P(strdup, i) }
#define R8(a) ROW(a##0), ROW(a##1), ROW(a##2), ROW(a##3), ROW(a##4), ROW(a##5), ROW(a##6), ROW(a##7)
static void *const entry[SCOPES][4] = { R8(), R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7) };

int bruno_heap_acquire(void) {
    pthread_once(&once, init_scopes);
    pthread_mutex_lock(&table_lock);
    int found = -1;
    for (int i = 0; i < SCOPES && found < 0; i++) {
        if (!scopes[i].used) { scopes[i].used = 1; found = i; }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

size_t bruno_heap_live_bytes(int s) {
    if (s < 0 || s >= SCOPES) return 0;
    pthread_mutex_lock(&scopes[s].lock);
    size_t live = scopes[s].live;
    pthread_mutex_unlock(&scopes[s].lock);
    return live;
}

size_t bruno_heap_release(int s) {
    if (s < 0 || s >= SCOPES) return 0;
    scope_t *sc = &scopes[s];
    pthread_mutex_lock(&sc->lock);
    size_t freed = sc->live;
    block *b = sc->head.next;
    while (b != &sc->head) {
        block *next = b->next;
        b->magic = 0;
        free(raw_of(b));
        b = next;
    }
    sc->head.prev = sc->head.next = &sc->head;
    sc->live = 0;
    pthread_mutex_unlock(&sc->lock);
    pthread_mutex_lock(&table_lock);
    sc->used = 0;
    pthread_mutex_unlock(&table_lock);
    return freed;
}

/// Which import a symbol name is: 0 malloc, 1 calloc, 2 realloc, 3 strdup, 4 free, -1 none.
static int import_kind(const char *name) {
    static const char *const names[] = { "malloc", "calloc", "realloc", "strdup", "free" };
    for (int k = 0; k < 5; k++) if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

static int is_pointer_relocation(unsigned machine, unsigned type) {
#if defined(__x86_64__)
    return machine == EM_X86_64 && (type == R_X86_64_GLOB_DAT || type == R_X86_64_JUMP_SLOT || type == R_X86_64_64);
#elif defined(__aarch64__)
    return machine == EM_AARCH64 &&
        (type == R_AARCH64_GLOB_DAT || type == R_AARCH64_JUMP_SLOT || type == R_AARCH64_ABS64);
#else
    (void)machine; (void)type;
    return 0;
#endif
}

/// Writes `value` at `where`, making the page writable for the write (the GOT is read-only after RELRO).
static int write_pointer(void **where, void *value, int readonly_after) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)where & ~(uintptr_t)(page - 1);
    size_t len = ((uintptr_t)where + sizeof(void *) - start + (size_t)page - 1) & ~(size_t)(page - 1);
    if (mprotect((void *)start, len, PROT_READ | PROT_WRITE) != 0) return -errno;
    *where = value;
    if (readonly_after) mprotect((void *)start, len, PROT_READ);
    return 0;
}

int bruno_heap_redirect(int s, const char *path, void *handle) {
    if (s < 0 || s >= SCOPES || path == NULL || handle == NULL) return -EINVAL;
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return -ENOENT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) { close(fd); return -EINVAL; }
    size_t size = (size_t)st.st_size;
    unsigned char *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED) return -errno;
    int patched = 0, status = 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size ||
        eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size) {
        munmap(file, size);
        return -ENOEXEC;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    uint64_t relro_start = 0, relro_end = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_GNU_RELRO) { relro_start = ph[i].p_vaddr; relro_end = ph[i].p_vaddr + ph[i].p_memsz; }
    }
    for (int i = 0; i < eh->e_shnum && status == 0; i++) {
        if (sh[i].sh_type != SHT_RELA || sh[i].sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *symtab = &sh[sh[i].sh_link];
        if (symtab->sh_type != SHT_DYNSYM || symtab->sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *strtab = &sh[symtab->sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size || symtab->sh_offset + symtab->sh_size > size ||
            strtab->sh_offset + strtab->sh_size > size) continue;
        const Elf64_Rela *rela = (const Elf64_Rela *)(file + sh[i].sh_offset);
        const Elf64_Sym *syms = (const Elf64_Sym *)(file + symtab->sh_offset);
        const char *strings = (const char *)(file + strtab->sh_offset);
        size_t nrela = sh[i].sh_size / sizeof(Elf64_Rela), nsyms = symtab->sh_size / sizeof(Elf64_Sym);
        for (size_t r = 0; r < nrela; r++) {
            size_t symbol = ELF64_R_SYM(rela[r].r_info);
            if (symbol == 0 || symbol >= nsyms || syms[symbol].st_shndx != SHN_UNDEF) continue;
            if (syms[symbol].st_name >= strtab->sh_size) continue;
            if (!is_pointer_relocation(eh->e_machine, (unsigned)ELF64_R_TYPE(rela[r].r_info))) continue;
            int kind = import_kind(strings + syms[symbol].st_name);
            if (kind < 0) continue;
            void *value = kind == 4 ? (void *)scope_free : entry[s][kind];
            uint64_t at = rela[r].r_offset;
            int readonly = at >= relro_start && at < relro_end;
            status = write_pointer((void **)(map->l_addr + at), value, readonly);
            if (status == 0) patched++;
        }
    }
    munmap(file, size);
    return status != 0 ? status : patched;
}
