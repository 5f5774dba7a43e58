/* progress-t.c - tests for src/progress.c: the bar's text (amounts, rate,
 * time left, the bar fitted to the width), and when it is drawn: only on a
 * terminal, only for big work, not before PROGRESS_DELAY_MS, erased at the
 * end. */
#include "config.h"

#include "progress.h"

#include "log.h"
#include "tap/basic.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
	enum progress_unit unit;
	unsigned long long done, total;
	int64_t elapsed_ms;
	int width;
	const char *want;
} formats[] = {
	{PROGRESS_BYTES, 0, 50ULL << 20, 600, 79,
	 "sending 0 B / 50.0 MiB [----------------------------------------]   0%"},
	{PROGRESS_BYTES, 25ULL << 20, 50ULL << 20, 5000, 79,
	 "sending 25.0 MiB / 50.0 MiB [###########-----------]  50%  5.0 MiB/s  0:05 left"},
	{PROGRESS_BYTES, 50ULL << 20, 50ULL << 20, 10000, 79,
	 "sending 50.0 MiB / 50.0 MiB [######################] 100%  5.0 MiB/s  0:00 left"},
	{PROGRESS_BYTES, 1ULL << 20, 4ULL << 30, 1000, 79,
	 "sending 1.0 MiB / 4.0 GiB [###---] sample"},
	{PROGRESS_MESSAGES, 3, 12, 3000, 79,
	 "sending 3 / 12 messages [#######---------------------]  25%  1 msg/s  0:09 left"},
	{PROGRESS_BYTES, 25ULL << 20, 50ULL << 20, 5000, 40, "sending 25.0 MiB / 50.0 MiB  50%"},
	{PROGRESS_BYTES, 25ULL << 20, 50ULL << 20, 5000, 20, "sending 25.0 MiB / 5"},
	{PROGRESS_MESSAGES, 1, 7200, 1000, 79,
	 "sending 1 / 7200 messages [-----------------------]   0%  1 msg/s  1:59:59 left"},
};

static void
test_format(void)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct progress p = {.unit = formats[i].unit,
				     .what = "sending",
				     .total = formats[i].total,
				     .done = formats[i].done};
		struct buf b;

		buf_init(&b, 0);
		progress_format(&p, formats[i].elapsed_ms, formats[i].width, &b);
		ok((int)b.len <= formats[i].width, "format %zu fits in %d columns (%zu)", i,
		   formats[i].width, b.len);
		if (strstr(formats[i].want, "sample") == NULL)
			is_string(formats[i].want, b.data, "format %zu", i);
		else
			ok(strncmp(b.data, formats[i].want, 26) == 0 && strstr(b.data, "left"),
			   "format %zu: %s", i, b.data);
		buf_free(&b);
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* What the terminal got since the last call: everything that arrives
 * until 200 ms pass without more (a pseudo-terminal hands bytes over to
 * its master side asynchronously). */
static char *
drain(int master)
{
	static char got[4096];
	size_t have = 0;
	struct pollfd p = {.fd = master, .events = POLLIN};

	while (have < sizeof got - 1 && poll(&p, 1, 200) == 1) {
		ssize_t n = read(master, got + have, sizeof got - 1 - have);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	got[have] = '\0';
	return got;
}

static void
test_drawing(void)
{
	int saved = dup(STDERR_FILENO), master = posix_openpt(O_RDWR | O_NOCTTY), slave;
	struct progress p;
	const char *got;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0) {
		skip("no pseudo-terminal here");
		return;
	}
	dup2(slave, STDERR_FILENO);
	progress_begin(&p, PROGRESS_BYTES, "sending", PROGRESS_MIN_BYTES - 1);
	ok(!p.active, "under PROGRESS_MIN_BYTES: no bar");
	progress_begin(&p, PROGRESS_MESSAGES, "flushing", 1);
	ok(!p.active, "one message: no bar");
	progress_begin(&p, PROGRESS_BYTES, "sending", 8 * PROGRESS_MIN_BYTES);
	ok(p.active, "a big message on a terminal: a bar");
	progress_update(&p, PROGRESS_MIN_BYTES);
	is_string("", drain(master), "nothing drawn before PROGRESS_DELAY_MS");
	sleep_ms(PROGRESS_DELAY_MS + 50);
	progress_update(&p, 2 * PROGRESS_MIN_BYTES);
	progress_update(&p, 3 * PROGRESS_MIN_BYTES);
	got = drain(master);
	ok(strncmp(got, "\rsending 2.0 MiB / 8.0 MiB [", 28) == 0, "drawn after it");
	ok(strchr(got + 1, '\r') == NULL, "not redrawn within PROGRESS_INTERVAL_MS");
	progress_end(&p);
	ok(strspn(drain(master), "\r ") > 20, "erased at the end");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(slave);
	close(master);
}

static void
test_not_a_terminal(void)
{
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct progress p;

	dup2(null, STDERR_FILENO);
	progress_begin(&p, PROGRESS_BYTES, "sending", 1ULL << 30);
	ok(!p.active, "standard error not a terminal: no bar");
	progress_update(&p, 1ULL << 29);
	progress_end(&p);
	is_int((long)(1ULL << 29), (long)p.done, "the count is kept all the same");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
}

int
main(void)
{
	plan_lazy();
	test_format();
	test_drawing();
	test_not_a_terminal();
	return 0;
}
