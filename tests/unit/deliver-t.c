/* deliver-t.c - tests for src/deliver.c's pure parts: the outgoing mail
 * built from an envelope (only the recipients still pending, in order, with
 * the index back into the envelope), an attempt with nobody left to send to
 * (no connection, result 0), the header facts the log needs (visible
 * recipients, never Bcc; the Message-ID), and account patterns. */
#include "config.h"

#include "deliver.h"

#include "tap/basic.h"

#include <string.h>

static void
test_attempt_init(void)
{
	struct queue_rcpt rcpts[] = {
		{.addr = (char[]){"a@example.org"}, .status = QRCPT_DELIVERED},
		{.addr = (char[]){"b@example.org"}, .status = QRCPT_PENDING},
		{.addr = (char[]){"c@example.org"}, .status = QRCPT_FAILED},
		{.addr = (char[]){"d@example.org"}, .status = QRCPT_PENDING},
	};
	struct queue_envelope env = {
		.from = (char[]){"bob@example.org"},
		.rcpts = rcpts,
		.nrcpts = 4,
		.dsn_notify = (char[]){"FAILURE"},
		.dsn_return = (char[]){"HDRS"},
		.dsn_envid = (char[]){"xyz"},
		.eightbit = true,
		.smtputf8 = true,
	};
	struct attempt a;

	deliver_attempt_init(&a, &env, 7, 120, 3000);
	is_int(2, (long)a.mail.nrcpts, "only the pending recipients");
	is_string("b@example.org", a.mail.rcpts[0].addr, "first pending");
	is_string("d@example.org", a.mail.rcpts[1].addr, "second pending");
	is_int(1, (long)a.index[0], "index of the first back into the envelope");
	is_int(3, (long)a.index[1], "index of the second back into the envelope");
	is_int(RCPT_PENDING, a.mail.rcpts[0].state, "not tried yet");
	is_string("bob@example.org", a.mail.from, "sender");
	is_string("FAILURE", a.mail.dsn_notify, "NOTIFY");
	is_string("HDRS", a.mail.dsn_return, "RET");
	is_string("xyz", a.mail.dsn_envid, "ENVID");
	ok(a.mail.eightbit && a.mail.smtputf8, "8BITMIME and SMTPUTF8");
	is_int(7, a.mail.body_fd, "the message's file");
	is_int(120, (long)a.mail.body_offset, "from its offset");
	is_int(3000, (long)a.mail.body_len, "its length");
	is_int(3000, (long)a.mail.size, "SIZE= is the queued length");
	ok(a.mail.headers == NULL, "headers are in the file");
	deliver_attempt_free(&a);
}

static void
test_attempt_nobody_left(void)
{
	struct queue_rcpt rcpts[] = {
		{.addr = (char[]){"a@example.org"}, .status = QRCPT_DELIVERED}};
	struct queue_envelope env = {.from = (char[]){""}, .rcpts = rcpts, .nrcpts = 1};
	struct deliver_slot slot;
	struct attempt a;
	struct error e;

	/* No account: a slot that is never opened needs none. */
	memset(&slot, 0, sizeof slot);
	deliver_attempt_init(&a, &env, -1, 0, 0);
	is_int(0, (long)a.mail.nrcpts, "nobody pending");
	is_int(0, deliver_attempt_run(&slot, &a, false, &e), "nothing to send: result 0");
	ok(slot.session == NULL && !slot.open_failed, "no connection was opened");
	ok(!a.outcome.reached, "the server was not reached");
	deliver_attempt_free(&a);
}

static void
test_header_info(void)
{
	static const char hdr[] = "From: bob@example.org\r\n"
				  "To: Alice <alice@example.org>, carol@example.net\r\n"
				  "Bcc: secret@example.org\r\n"
				  "Cc: dave@example.com\r\n"
				  "Message-ID:  <id-1@example.org> \r\n"
				  "Subject: hi\r\n";
	struct header_info h;

	header_info_read(hdr, sizeof hdr - 1, &h);
	is_int(3, (long)h.visible.n, "To and Cc addresses are visible");
	is_string("alice@example.org", h.visible.v[0], "To, first");
	is_string("carol@example.net", h.visible.v[1], "To, second");
	is_string("dave@example.com", h.visible.v[2], "Cc");
	ok(!strlist_contains(&h.visible, "secret@example.org"), "Bcc is never visible");
	is_string("<id-1@example.org>", h.msgid, "Message-ID, trimmed");
	header_info_free(&h);
}

int
main(void)
{
	plan_lazy();
	test_attempt_init();
	test_attempt_nobody_left();
	test_header_info();
	ok(deliver_is_pattern("*@example.org"), "a glob is a pattern");
	ok(deliver_is_pattern("user?@example.org"), "? is a pattern");
	ok(!deliver_is_pattern("bob@example.org"), "an address is not");
	return 0;
}
