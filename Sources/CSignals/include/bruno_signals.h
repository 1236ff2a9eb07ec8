#ifndef BRUNO_SIGNALS_H
#define BRUNO_SIGNALS_H
/// Called on the signal thread with SIGINT or SIGTERM; returns non-zero when the process goes on (a job that
/// stops cleanly was told), zero to end the process now.
typedef int (*bruno_signal_handler)(int signal);
/// Sets the handler (once, early; see signal_mask.c).
void bruno_set_signal_handler(bruno_signal_handler handler);
#endif
