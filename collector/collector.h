/* The site collector daemon: receivers, ingest, the committer, the site
 * API and the forwarder, on one event loop. */
#ifndef TG_COLLECTOR_H
#define TG_COLLECTOR_H

/* Runs `tollgate collector` with its arguments (argv[0] is "collector")
 * until SIGTERM/SIGINT has drained it. Returns the exit status: 0, 1 when
 * the daemon failed, 2 on bad usage or configuration. */
int tg_collector_main(int argc, char **argv);

#endif
