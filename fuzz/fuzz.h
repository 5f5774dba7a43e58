/* fuzz.h - what every fuzz target shares.
 *
 * A target is one file defining LLVMFuzzerTestOneInput(): it hands the
 * bytes to one module's public functions the way outbox does.  Built with
 * clang -fsanitize=fuzzer by `make fuzz`; built with the project's compiler
 * against fuzz/replay.c by `make check`, which replays the saved corpus. */
#ifndef OUTBOX_FUZZ_H
#define OUTBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private directory made once per process (mkdtemp under $TMPDIR or
 * /tmp) and removed at exit, for targets that need files. */
const char *fuzz_tmpdir(void);

/* Writes data to path (created or truncated, mode 0600); -1 on failure. */
int fuzz_write_file(const char *path, const uint8_t *data, size_t size);

#endif
