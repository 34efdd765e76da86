/* Entry points of tollgate's subcommands. Each takes the arguments after
 * its own name (argv[0] is the subcommand) and returns the process exit
 * status: 0 success, 1 the operation failed, 2 bad usage or bad input. */
#ifndef TG_COMMANDS_H
#define TG_COMMANDS_H

#include <jansson.h>
#include <stdio.h>

int tg_cmd_collector(int argc, char **argv); /* cmd/collector_cmd.c */
int tg_cmd_query(int argc, char **argv);     /* cmd/query_cmd.c */
int tg_cmd_rules(int argc, char **argv);     /* cmd/rules_cmd.c */
int tg_cmd_central(int argc, char **argv);   /* cmd/central_cmd.c */
int tg_cmd_status(int argc, char **argv);    /* cmd/status_cmd.c */
int tg_cmd_cost(int argc, char **argv);      /* cmd/cost_cmd.c */
int tg_cmd_audit(int argc, char **argv);     /* cmd/audit_cmd.c */
int tg_cmd_models(int argc, char **argv);    /* cmd/models_cmd.c */

/* The model versions table and its warnings (GET /api/v1/models's
 * answer, or the estate's `models` member), for `models` and `status`. */
void tg_cmd_models_print(FILE *f, json_t *report);

/* `tollgate audit report`, reached through tg_cmd_audit. */
int tg_cmd_audit_report(int argc, char **argv); /* cmd/audit_report_cmd.c */

#endif
