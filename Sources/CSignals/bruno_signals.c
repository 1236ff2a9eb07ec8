// SIGINT and SIGTERM for the `bruno` executable (linked into it only; a library or test runner that links
// Bruno keeps its own signal handling).
//
// Before `main`, a handler is installed for both signals that only writes the signal's number into a pipe
// (all a signal handler may safely do); one thread started here reads the pipe. The first signal goes to the
// handler Swift sets (BrunoSupport's Interruption): a job that stops cleanly is told and the process goes on;
// otherwise, or on a second signal, the process ends at once with 128 + the signal. Ending at once loses
// nothing: every file Bruno writes is written atomically. ngspice replaces the SIGINT handler when it loads and
// around each command; BrunoSpice puts the process's handlers back after every call into ngspice.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "bruno_signals.h"

static _Atomic(bruno_signal_handler) handler = 0;
static int pipe_ends[2] = {-1, -1};

void bruno_set_signal_handler(bruno_signal_handler h) { atomic_store(&handler, h); }

static void say(const char *text) { (void)!write(2, text, strlen(text)); }

static void on_signal(int received) {
    int saved = errno;
    unsigned char byte = (unsigned char)received;
    (void)!write(pipe_ends[1], &byte, 1);
    errno = saved;
}

static void *wait_for_signals(void *unused) {
    (void)unused;
    int told = 0;
    for (;;) {
        unsigned char byte = 0;
        ssize_t n = read(pipe_ends[0], &byte, 1);
        if (n != 1) {
            if (n < 0 && errno == EINTR) continue;
            return 0;
        }
        int received = byte;
        const char *name = received == SIGINT ? "SIGINT" : "SIGTERM";
        bruno_signal_handler h = atomic_load(&handler);
        if (!told && h && h(received)) {
            told = 1;
            say("bruno: "); say(name);
            say(" received; finishing the current step (send it again to stop at once)\n");
            continue;
        }
        say("bruno: "); say(name); say(" received; stopped (every file written so far is complete)\n");
        _exit(128 + received);
    }
}

__attribute__((constructor)) static void bruno_take_over_signals(void) {
    if (pipe(pipe_ends) != 0) return;
    int signals[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction current;
        // A signal the parent ignores (nohup, a background job) stays ignored.
        if (sigaction(signals[i], 0, &current) == 0 && current.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(signals[i], &action, 0);
    }
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attributes, wait_for_signals, 0);
    pthread_attr_destroy(&attributes);
}
