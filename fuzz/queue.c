/* queue.c - fuzz target: queue files (src/queue.h): the envelope, the
 * state file and the trailer.
 *
 * The input is a message file and its state file as they lie in a queue
 * directory: option byte, two bytes (big-endian) giving the length of the
 * state file, the state file, then the message file.  Option bit 0: a
 * trailer with the right length and SHA-256 is appended to the message
 * file (else the file is taken as it is and its own trailer, if any, is
 * checked), so that the envelope parser is reached behind the hash; bit 1:
 * no state file; bit 2: load with the lock, as a flush does.  Both files
 * are written into a private queue directory and loaded with queue_load()
 * as a flush and --hold/--release/mailq do; a loaded entry has its state
 * written back (queue_save_state), and queue_list() reads the queue as
 * mailq does.  Whatever the load moved to failed/ is removed after each
 * run.  FUZZ_TRACE=1 prints what queue_load() returned. */
#include "config.h"

#include "fuzz.h"

#include "crypto.h"
#include "lib.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ID "0000000000000000000000a"

static struct queue q;
static char *msg_path, *state_path, *failed_path, *failed_state_path;

static void
setup(void)
{
	char *dir = xasprintf("%s/queue", fuzz_tmpdir());
	struct error e;

	if (queue_open(&q, dir, &e) < 0) {
		fprintf(stderr, "fuzz queue: %s\n", e.msg);
		abort();
	}
	msg_path = xasprintf("%s/msg/%s", dir, ID);
	state_path = xasprintf("%s/state/%s", dir, ID);
	failed_path = xasprintf("%s/failed/%s", dir, ID);
	failed_state_path = xasprintf("%s/failed/%s.state", dir, ID);
	free(dir);
}

/* The message file with the trailer queue_commit() would write. */
static void
with_trailer(const uint8_t *p, size_t n, struct buf *out)
{
	const uint8_t *blank = memmem(p, n, "\n\n", 2);
	size_t data_len = blank != NULL ? n - (size_t)(blank + 2 - p) : 0;
	unsigned char digest[32];
	char hex[2 * sizeof digest + 1];

	buf_append(out, p, n);
	if (crypto_hash(CRYPTO_SHA256, p, n, digest) < 0)
		abort();
	hex_encode(digest, sizeof digest, false, '\0', hex);
	buf_printf(out, "outbox-trailer %zu %s\n", data_len, hex);
}

static int
skip(void *ctx, struct queue_listed *l, struct error *e)
{
	(void)ctx;
	(void)l;
	(void)e;
	return 0;
}

static void
load(bool lock)
{
	struct queue_entry m;
	struct error e;

	int rc = queue_load(&q, ID, lock, &m, &e);

	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "queue_load: %d %s\n", rc, rc < 0 ? e.msg : "");
	if (rc == 0) {
		if (m.locked)
			queue_save_state(&q, &m, &e);
		queue_entry_free(&m);
	}
	queue_list(&q, skip, NULL, &e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t state_len;
	struct buf msg;

	if (size < 3)
		return 0;
	if (msg_path == NULL)
		setup();
	state_len = (size_t)data[1] << 8 | data[2];
	if (state_len > size - 3)
		state_len = size - 3;
	buf_init(&msg, 0);
	if (data[0] & 1)
		with_trailer(data + 3 + state_len, size - 3 - state_len, &msg);
	else
		buf_append(&msg, data + 3 + state_len, size - 3 - state_len);
	if (fuzz_write_file(msg_path, (const uint8_t *)msg.data, msg.len) < 0 ||
	    (!(data[0] & 2) && fuzz_write_file(state_path, data + 3, state_len) < 0))
		abort();
	buf_free(&msg);
	load(data[0] & 4);
	unlink(msg_path);
	unlink(state_path);
	unlink(failed_path);
	unlink(failed_state_path);
	return 0;
}
