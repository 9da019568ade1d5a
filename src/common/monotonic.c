/*
 * The one clock and the one sleep (monotonic.h).
 */
#include "monotonic.h"

#include <errno.h>
#include <time.h>

#define STOP_SLICE_S 0.25

double monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Until the time is over; EINTR resumes (the caller's stop() tells why). */
static void sleep_whole(double seconds)
{
    struct timespec ts, rem;

    if (!(seconds > 0))
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
}

bool stoppable_sleep(double seconds, bool (*stop)(void))
{
    if (stop == NULL) {
        sleep_whole(seconds);
        return true;
    }
    while (seconds > 0 && !stop()) {
        double slice = seconds < STOP_SLICE_S ? seconds : STOP_SLICE_S;

        sleep_whole(slice);
        seconds -= slice;
    }
    return !stop();
}
