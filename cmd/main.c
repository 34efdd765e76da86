/* tollgate: one binary, one subcommand per role.
 *
 * main() only dispatches: each subcommand parses its own arguments
 * (argv[0] is the subcommand's name) and returns the exit status of the
 * contract: 0 success, 1 the operation failed, 2 bad usage. */
#include <curl/curl.h>
#include <jansson.h>
#include <lmdb.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <yaml.h>
#include <zlib.h>
#include <zstd.h>

#include "commands.h"

static int cmd_version(int argc, char **argv);

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"collector", tg_cmd_collector, "run a site collector (OTLP in, local store, rules)"},
    {"central", tg_cmd_central,
     "run the central view; 'central export' dumps what it holds"},
    {"query", tg_cmd_query, "query a site or central: traces, logs, metrics"},
    {"rules", tg_cmd_rules, "check residency rules and test them on OTLP/JSON"},
    {"cost", tg_cmd_cost, "finance: cost report and FOCUS export from the centre"},
    {"audit", tg_cmd_audit, "compliance: verify a site's transparency log, make proofs"},
    {"status", tg_cmd_status, "show the estate: every site's link to the centre"},
    {"models", tg_cmd_models,
     "which site serves which model version, and how far behind"},
    {"version", cmd_version, "print the version and the linked libraries' versions"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: tollgate <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'tollgate <command> --help' or 'tollgate help <command>' describes "
               "a command.\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    const nghttp2_info *h2 = nghttp2_version(0);
    const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    int major, minor, patch;

    if (wants_help(argc, argv)) {
        printf("usage: tollgate version\n\nPrints tollgate's version and the versions of "
               "the libraries it runs with.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "tollgate version: unexpected argument \"%s\"\n", argv[1]);
        return 2;
    }
    mdb_version(&major, &minor, &patch);
    printf("tollgate %s\n", TG_VERSION);
    printf("libuv %s\n", uv_version_string());
    printf("nghttp2 %s\n", h2 ? h2->version_str : "?");
    printf("lmdb %d.%d.%d\n", major, minor, patch);
    printf("zstd %s\n", ZSTD_versionString());
    printf("protobuf-c %s\n", protobuf_c_version());
    printf("libcurl %s\n", curl ? curl->version : "?");
    printf("libyaml %s\n", yaml_get_version_string());
    printf("jansson %s\n", jansson_version_str());
    printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("zlib %s\n", zlibVersion());
    return 0;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const struct command *cmd;
    const char *name;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "-h") == 0) {
        if (argc >= 3) {
            char *sub[] = {argv[2], "--help", NULL};
            cmd = find_command(argv[2]);
            if (!cmd) {
                fprintf(stderr, "tollgate: unknown command \"%s\"\n\n", argv[2]);
                usage(stderr);
                return 2;
            }
            return cmd->run(2, sub);
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(1, argv + 1);
    cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "tollgate: unknown command \"%s\"\n\n", name);
        usage(stderr);
        return 2;
    }
    return cmd->run(argc - 1, argv + 1);
}
