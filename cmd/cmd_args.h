/* Reading a subcommand's options: "--name VALUE" and "--flag", with the
 * same messages and exit codes in every command. */
#ifndef TG_CMD_ARGS_H
#define TG_CMD_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef struct tg_cmd_opt {
    const char *name;   /* "--endpoint" */
    const char **value; /* set to the next argument; NULL for a flag */
    int *flag;          /* set to 1 when the flag is given */
} tg_cmd_opt;

/* Reads argv[1..argc) against opts (ended by an entry with a NULL name).
 * Returns 0 when every argument was an option; 1 when --help or -h was
 * asked (usage printed on stdout: the command exits 0); 2 after saying on
 * stderr, as "tollgate CMD: ...", which argument is unknown or lacks its
 * value. */
int tg_cmd_args(const char *cmd, int argc, char **argv, const tg_cmd_opt *opts,
                void (*usage)(FILE *));

/* The length of endpoint without trailing slashes, or 0 after saying on
 * stderr that it is not an http:// or https:// URL. */
size_t tg_cmd_endpoint(const char *cmd, const char *endpoint);

/* 1 when s holds letters, digits and ._:- only: a value that may go into a
 * URL's query unescaped. */
int tg_cmd_url_plain(const char *s);

#endif
