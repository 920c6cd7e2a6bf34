/* SPDX-License-Identifier: MIT */
/*
 * urlpattern_check: one URL Pattern component per input line, for the differential test
 * against Chromium (tests/interop/urlpattern_chromium.mjs). Each line is
 * "OPTS\tPATTERN\tINPUT" (OPTS: default, hostname or pathname; tabs and newlines never
 * occur in the generated strings); each output line is "E" (the pattern is refused), "1"
 * (it matches the input) or "0". A line "url\tINPUT\tBASE" parses INPUT against BASE
 * (sh_url) and prints "E", or the eight components separated by tabs.
 */
#include <stdio.h>
#include <string.h>

#include "hub/url.h"
#include "hub/urlpattern.h"

int main(void)
{
    static char line[3 * 4096 + 64];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *opt = line, *pat, *in, *nl;
        sh_urlpat_comp_t *c = NULL;
        const char *reason = NULL;
        sh_urlpat_opts_t o;

        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        pat = strchr(opt, '\t');
        in = pat != NULL ? strchr(pat + 1, '\t') : NULL;
        if (in == NULL) {
            fprintf(stderr, "urlpattern_check: malformed line\n");
            return 2;
        }
        *pat++ = '\0';
        *in++ = '\0';
        if (strcmp(opt, "url") == 0) {
            sh_url_t base, u;
            int k;

            if (sh_url_parse(in, strlen(in), NULL, &base) != 0) {
                puts("E");
                continue;
            }
            if (sh_url_parse(pat, strlen(pat), &base, &u) != 0) {
                puts("E");
            } else {
                for (k = 0; k < SH_URL_NCOMP; k++)
                    printf("%s%s", k ? "\t" : "", u.comp[k].ptr);
                putchar('\n');
                sh_url_dispose(&u);
            }
            sh_url_dispose(&base);
            continue;
        }
        o = strcmp(opt, "pathname") == 0   ? SH_URLPAT_PATHNAME
            : strcmp(opt, "hostname") == 0 ? SH_URLPAT_HOSTNAME
                                           : SH_URLPAT_DEFAULT;
        if (sh_urlpat_comp_compile(pat, strlen(pat), o, &c, &reason) != 0) {
            puts("E");
            continue;
        }
        puts(sh_urlpat_comp_match(c, in, strlen(in)) ? "1" : "0");
        sh_urlpat_comp_free(c);
    }
    return 0;
}
