/* SPDX-License-Identifier: MIT */
/*
 * A plain main() for fuzz targets, so that any compiler can replay the committed corpora
 * under ctest: each argument is a file or a directory (its files, and the files of its
 * subdirectories one level down), and each file is passed once to LLVMFuzzerTestOneInput().
 * Arguments starting with '-' are libFuzzer options and are ignored. LLVMFuzzerInitialize()
 * is not called: the targets do not define it.
 *
 * Exits 0 after at least one input ran; exits 1 when a path cannot be read or when no input
 * was found, so that a lost or empty corpus fails the test instead of passing silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define MAX_DEPTH 1 /* how many directory levels below an argument are visited */

static size_t inputs_run;

/*
 * Reads the whole file at |path| into a buffer of exactly its size (so that ASan catches a
 * target reading past the end) and runs it. Returns 0, or -1 after printing why.
 */
static int run_file(const char *path)
{
    FILE *f;
    unsigned char *buf = NULL, *nbuf;
    size_t len = 0, cap = 0, n;
    int rc = -1;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            cap = cap != 0 ? cap * 2 : 4096;
            nbuf = realloc(buf, cap);
            if (nbuf == NULL) {
                fprintf(stderr, "replay: out of memory reading %s\n", path);
                goto out_close;
            }
            buf = nbuf;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        goto out_close;
    }
    /* An exact-size copy; one byte for an empty input so the pointer is never NULL. */
    nbuf = malloc(len != 0 ? len : 1);
    if (nbuf == NULL) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        goto out_close;
    }
    if (len != 0)
        memcpy(nbuf, buf, len);
    (void)LLVMFuzzerTestOneInput(nbuf, len);
    free(nbuf);
    inputs_run++;
    rc = 0;

out_close:
    free(buf);
    fclose(f);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, int depth);

/*
 * Runs every entry of the directory |path| in name order (so that runs are reproducible),
 * skipping hidden entries such as .gitkeep. Returns 0 or -1.
 */
static int run_dir(const char *path, int depth)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL, **nnames;
    size_t count = 0, cap = 0, i;
    int rc = 0;

    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t size;
        char *name;

        if (de->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap != 0 ? cap * 2 : 64;
            nnames = realloc(names, cap * sizeof(*names));
            if (nnames == NULL) {
                rc = -1;
                break;
            }
            names = nnames;
        }
        size = strlen(path) + strlen(de->d_name) + 2;
        name = malloc(size);
        if (name == NULL) {
            rc = -1;
            break;
        }
        snprintf(name, size, "%s/%s", path, de->d_name);
        names[count++] = name;
    }
    closedir(d);
    if (rc != 0)
        fprintf(stderr, "replay: out of memory listing %s\n", path);
    else if (count != 0)
        qsort(names, count, sizeof(*names), compare_names);
    for (i = 0; i < count; i++) {
        if (rc == 0 && run_path(names[i], depth + 1) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Runs a file, or a directory while |depth| allows. Returns 0 or -1. */
static int run_path(const char *path, int depth)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot stat %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth > MAX_DEPTH)
            return 0;
        return run_dir(path, depth);
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    return run_file(path);
}

int main(int argc, char **argv)
{
    int i, paths = 0;

    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        paths++;
        if (run_path(argv[i], 0) != 0)
            return 1;
    }
    if (paths == 0) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 1;
    }
    if (inputs_run == 0) {
        fprintf(stderr, "replay: no input found (an empty or missing corpus?)\n");
        return 1;
    }
    printf("replay: %zu inputs ran\n", inputs_run);
    return 0;
}
