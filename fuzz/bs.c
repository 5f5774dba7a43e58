/* bs.c - fuzz target: the -bs server (src/bs.h).
 *
 * The input is what an SMTP client writes to `outbox -bs`: bs_serve()
 * reads it from a memory file, as from a pipe that then closes, and writes
 * its replies to /dev/null.  Each message the session accepts goes to a
 * stand-in for submit_deliver() that reads it to the end and answers with
 * a failure class picked by the length of the envelope sender, so that
 * every kind of reply to the final dot is made.  What bs.c logs is
 * discarded. */
#include "config.h"

#include "fuzz.h"

#include "bs.h"
#include "lib.h"
#include "log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const enum status outcomes[] = {
	ST_OK, ST_SERVER_TEMP, ST_MESSAGE_PERM, ST_DATAERR, ST_ACCOUNT, ST_LOCAL_TEMP,
};

static int
stand_in_submit(void *ctx, const char *from, const struct strlist *rcpts, int fd, struct error *e)
{
	enum status st = outcomes[strlen(from) % (sizeof outcomes / sizeof outcomes[0])];
	char block[4096];

	while (read(fd, block, sizeof block) > 0)
		continue;
	if (st == ST_OK)
		return 0;
	return error_set(e, st, "refused for %s and %zu recipients\r\nsecond line", from, rcpts->n);
}

/* Diagnostics (the refusals bs.c logs) are not the fuzzer's output. */
static void
discard(void *ctx, const char *line)
{
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int in_fd = -1, out_fd = -1;
	struct bs_params p = {
		.hostname = "fuzz.example",
		.max_size = 65536,
		.submit = stand_in_submit,
		.timeout_ms = 1000,
	};
	struct error e;

	if (in_fd < 0) {
		in_fd = memfd_create("fuzz-bs", MFD_CLOEXEC);
		out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (in_fd < 0 || out_fd < 0)
			abort();
		log_set_sink(discard, NULL);
	}
	if (ftruncate(in_fd, 0) < 0 || pwrite(in_fd, data, size, 0) != (ssize_t)size ||
	    lseek(in_fd, 0, SEEK_SET) != 0)
		abort();
	bs_serve(&p, in_fd, out_fd, &e);
	return 0;
}
