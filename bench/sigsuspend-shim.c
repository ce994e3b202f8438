/* LD_PRELOAD shim for measuring Drawbridge under valgrind 3.19 (bench/instructions): libdispatch
 * passes sigsuspend a signal mask in read-only memory, and valgrind's wrapper writes to the mask it
 * is given, which crashes the process at start-up. Passing a writable copy changes nothing else. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>

int sigsuspend(const sigset_t *mask) {
    static int (*real)(const sigset_t *) = 0;
    if (!real) real = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    sigset_t copy = *mask;
    return real(&copy);
}
