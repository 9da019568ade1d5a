/*
 * `status` output beyond the per-job line (cli_status_metrics.c): the
 * alerts, how old CertCentral's state is, and the node_exporter textfile.
 */
#ifndef QSCD_CLI_STATUS_INT_H
#define QSCD_CLI_STATUS_INT_H

#include "lifecycle_engine.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

/* "3 h", "2 days", "40 s": how long ago t was. */
void cli_status_age(time_t now, time_t t, char *out, size_t n);
/* The alerts, the remote state and the time since the last change. */
void cli_status_json_extra(cJSON *o, const lifecycle_job_status *v, time_t now);
/* Write the metrics of every job with an order to path, atomically
 * (temp file + rename in its directory).  0, or an exit code after saying why. */
int  cli_status_prometheus(const char *path, const lifecycle_status_list *l);

#endif
