/*
 * The CLI's side of the job core: the core's settings taken from the CLI's
 * configuration, and the reporter that shows the core's progress on stderr
 * (a status line rewritten in place on a terminal, see cli_progress_int.h).
 */
#ifndef QSCD_CLI_REPORT_INT_H
#define QSCD_CLI_REPORT_INT_H

#include "cli.h"
#include "cli_progress_int.h"
#include "lifecycle_engine.h"

/* set borrows cfg's strings: cfg must outlive it. */
void cli_settings_from(const cli_config *cfg, lifecycle_settings *set);
/*
 * The store of cfg's state dir (or database) for the commands that read
 * or write beside the engine; *out NULL when cfg names none.  Not 0: an
 * error was printed, that exit code.
 */
int  cli_store_open(const cli_config *cfg, store **out);

/* A reporter that draws through p (initialised here from cfg: -q says nothing). */
void cli_reporter_init(lifecycle_reporter *rep, cli_progress *p, const cli_config *cfg);

#endif
