/* progress.c - the progress bar: what it shows and when (progress.h);
 * log.c draws and erases the line. */
#include "config.h"

#include "progress.h"

#include "i18n.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

void
progress_begin(struct progress *p, enum progress_unit unit, const char *what,
	       unsigned long long total)
{
	memset(p, 0, sizeof *p);
	p->unit = unit;
	p->what = what;
	p->total = total;
	p->start_ms = now_ms();
	p->next_ms = p->start_ms + PROGRESS_DELAY_MS;
	p->active = log_interactive() && total >= (unit == PROGRESS_BYTES ? PROGRESS_MIN_BYTES : 2);
}

void
progress_update(struct progress *p, unsigned long long done)
{
	struct buf line;
	int64_t now;

	p->done = done < p->total ? done : p->total;
	if (!p->active)
		return;
	now = now_ms();
	if (now < p->next_ms)
		return;
	p->next_ms = now + PROGRESS_INTERVAL_MS;
	buf_init(&line, 0);
	progress_format(p, now - p->start_ms, terminal_width() - 1, &line);
	log_status(line.data);
	buf_free(&line);
}

void
progress_end(struct progress *p)
{
	if (p->active)
		log_status(NULL);
	p->active = false;
}

/* "12.3 MiB" or "42". */
static void
amount(struct buf *b, enum progress_unit unit, double v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	if (unit == PROGRESS_MESSAGES) {
		buf_printf(b, "%.0f", v);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	buf_printf(b, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/* "1:05" or "1:02:03". */
static void
duration(struct buf *b, unsigned long long s)
{
	if (s >= 3600)
		buf_printf(b, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
	else
		buf_printf(b, "%llu:%02llu", s / 60, s % 60);
}

static void
bar(struct buf *b, double fraction, int cells)
{
	int full = (int)(fraction * cells);

	buf_puts(b, " [");
	for (int i = 0; i < cells; i++)
		buf_puts(b, i < full ? "#" : "-");
	buf_puts(b, "]");
}

void
progress_format(const struct progress *p, int64_t elapsed_ms, int width, struct buf *out)
{
	double fraction = p->total > 0 ? (double)p->done / (double)p->total : 1;
	struct buf head, tail;
	int room;

	buf_init(&head, 0);
	buf_init(&tail, 0);
	buf_printf(&head, "%s ", p->what);
	amount(&head, p->unit, (double)p->done);
	buf_puts(&head, " / ");
	amount(&head, p->unit, (double)p->total);
	if (p->unit == PROGRESS_MESSAGES)
		buf_printf(&head, " %s", _("messages"));
	buf_printf(&tail, " %3d%%", (int)(fraction * 100));
	if (elapsed_ms >= 1000 && p->done > 0) {
		double rate = (double)p->done * 1000 / (double)elapsed_ms;
		size_t short_len = tail.len;

		buf_puts(&tail, "  ");
		amount(&tail, p->unit, rate);
		buf_puts(&tail, p->unit == PROGRESS_BYTES ? "/s  " : _(" msg/s  "));
		duration(&tail, (unsigned long long)((double)(p->total - p->done) / rate + 0.5));
		buf_puts(&tail, _(" left"));
		/* A narrow terminal loses the rate before the amounts. */
		if ((int)(head.len + tail.len) > width)
			tail.len = short_len;
	}
	buf_append(out, head.data, head.len);
	room = width - (int)(head.len + tail.len) - 3;
	if (room >= 10)
		bar(out, fraction, room > 40 ? 40 : room);
	buf_append(out, tail.data, tail.len);
	if ((int)out->len > width && width > 0)
		out->len = utf8_cut(out->data, out->len, (size_t)width);
	out->data[out->len] = '\0';
	buf_free(&head);
	buf_free(&tail);
}
