/* signals.c -- stop requests by signal (see signals.h). A sig_atomic_t flag is the
 * only thing an async-signal handler may safely touch; everything else (the
 * checkpoint, MPI agreement between ranks) happens in the loop. */
#include "signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int sig)
{
    stop_signal = sig;
}

void t6_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;   /* let interrupted I/O continue; the loop polls the flag */
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int t6_signals_stop_requested(void)
{
    return (int)stop_signal;
}
