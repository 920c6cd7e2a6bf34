/* SPDX-License-Identifier: MIT */
/*
 * The ssehub server program. The hub itself (HTTP, topics, stores) is not built yet:
 * until it lands this program reports its version and says so.
 */
#include <stdio.h>
#include <string.h>

#include "ssehub/ssehub.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ssehub [--help] [--version]\n"
            "\n"
            "ssehub %s: a Server-Sent Events publish/subscribe hub.\n"
            "The server is not built yet: this version ships the event-stream protocol\n"
            "core (libssehub) and `ssecat --parse`. See README.md.\n",
            ssehub_version_string());
}

int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("ssehub %s\n", ssehub_version_string());
            return 0;
        }
        fprintf(stderr, "ssehub: unknown option '%s' (try --help)\n", argv[i]);
        return 2;
    }
    printf("ssehub %s\n", ssehub_version_string());
    fprintf(stderr, "ssehub: the server is not built yet; this version provides the protocol "
                    "core and `ssecat --parse` (see README.md)\n");
    return 0;
}
