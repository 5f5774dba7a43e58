/* bs.h - `-bs`: an SMTP server session on standard input and output, for
 * the programs (symfony/mailer, some PHP code) that talk SMTP to
 * "sendmail -bs" instead of handing it a message on stdin.
 *
 * Each message a session accepts goes to the caller's submit callback
 * (outbox hands it to submit_deliver(), like a stdin submission: queued,
 * delivered, held or refused), and the outcome is the reply to the final
 * dot.  A message whose DATA did
 * not complete is dropped, never half-submitted.  No AUTH: the caller is
 * a local process that could run outbox directly. */
#ifndef OUTBOX_BS_H
#define OUTBOX_BS_H

#include "lib.h"
#include "status.h"

/* At most this many RCPT TO per transaction; more get 452 (RFC 5321
 * 4.5.3.1.8 asks for at least 100). */
#define BS_RCPT_MAX 1000
/* A command line, CRLF included: room for an ADDRESS_MAX path plus
 * parameters (RFC 5321 4.5.3.1.4 allows extensions to raise 512). */
#define BS_COMMAND_MAX 2048
/* RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the client. */
#define BS_IDLE_TIMEOUT_MS (5 * 60 * 1000)

/* What a session does with a complete message: from is the MAIL FROM
 * address without angle brackets ("" for <>), rcpts the RCPT TO
 * addresses, fd a readable file positioned at the message's first byte
 * (dot-stuffing undone, line endings as the client sent them).  Returns 0
 * when the message is the mail system's responsibility now, else -1 with
 * e set; e->status picks the reply (bs_final_reply()). */
typedef int (*bs_submit_fn)(void *ctx, const char *from, const struct strlist *rcpts, int fd,
			    struct error *e);

struct bs_params {
	const char *hostname;        /* in the greeting and replies; no spaces */
	unsigned long long max_size; /* SIZE in EHLO; larger messages get 552 */
	bs_submit_fn submit;
	void *ctx;
	int timeout_ms; /* idle limit per read, BS_IDLE_TIMEOUT_MS; < 0 waits forever */
};

/* Serves one SMTP session: reads commands from in_fd, writes replies to
 * out_fd (buffered, flushed whenever the session is about to wait for
 * input, so PIPELINING works, RFC 2920 3.1).  Ends after QUIT, or at EOF
 * between commands: returns 0 (messages refused along the way got their
 * reply and do not change that).  EOF in the middle of DATA drops that
 * message and is ST_DATAERR (exit 65: the caller's input broke off); a
 * read or write error or the idle timeout (answered with 421) is ST_IOERR,
 * and drops a message whose DATA was being read. */
int bs_serve(const struct bs_params *p, int in_fd, int out_fd, struct error *e);

/* The reply to the final dot for a submission that returned -1 with e
 * (e == NULL: it returned 0): "250 2.0.0 Ok: queued", else 4xx for the
 * classes status_is_temporary() names and 5xx for the others, with
 * e->msg on the one line (control characters replaced, length bounded).
 * Appended to out without the CRLF. */
void bs_final_reply(const struct error *e, struct buf *out);

/* `outbox -bs`: bs_serve() with this host's name in the greeting and the
 * idle limit BS_IDLE_TIMEOUT_MS (p's max_size, submit and ctx are the
 * caller's).  When out_fd is standard output, fd 1 points to standard
 * error while the session runs (so nothing else, such as `logfile -`, can
 * write into the SMTP channel) and the channel is closed in forked
 * children (so a background flush does not keep the client's pipe open). */
int bs_run(struct bs_params *p, int in_fd, int out_fd, struct error *e);

#endif
