/*
 * tests/fuzz/fuzz_file.h — the temporary file the file-reading fuzz targets
 * hand to the loaders (nglm's readers take a path, not a buffer).
 *
 * The file is created once per process (in /dev/shm when it exists, so
 * fuzzing does not wear a disk) and rewritten for every input; it is removed
 * at exit.  Header-only: each fuzz target is one translation unit.
 */
#ifndef NGLM_FUZZ_FILE_H
#define NGLM_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_path[64];

static void fuzz_file_remove(void) { unlink(fuzz_path); }

/* Writes data[0..size) to the per-process file; returns its path (aborts on
 * an I/O error, which is the harness's fault, not the library's). */
static const char *fuzz_file_write(const uint8_t *data, size_t size)
{
    if (!fuzz_path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_path, sizeof fuzz_path, "%s/nglm-fuzz-XXXXXX", dir);
        int fd = mkstemp(fuzz_path);
        if (fd < 0)
            abort();
        close(fd);
        atexit(fuzz_file_remove);
    }
    FILE *fp = fopen(fuzz_path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0)
        abort();
    return fuzz_path;
}

#endif
