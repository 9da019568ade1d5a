/*
 * The one clock and the one sleep every part uses: monotonic seconds (not
 * moved by a changed wall clock), and a sleep that a stop request cuts
 * short.
 */
#ifndef QSCD_MONOTONIC_H
#define QSCD_MONOTONIC_H

#include <stdbool.h>

/* Seconds on CLOCK_MONOTONIC. */
double monotonic_now(void);

/*
 * Sleep for seconds, in slices of at most a quarter second when stop is
 * given, so that a stop asked meanwhile (a signal handler setting a flag
 * that stop() reads) is seen at once: a signal landing between the check
 * and the sleep would otherwise wait out the whole delay.  EINTR resumes
 * the sleep.  Returns false when stop() said so.
 */
bool stoppable_sleep(double seconds, bool (*stop)(void));

#endif
