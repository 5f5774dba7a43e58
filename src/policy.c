/* policy.c - what an attempt's outcome means for the message, and the
 * retry schedule (the class-to-action column is status.c's table).
 *
 * No input from outside: the class comes from the SMTP engine's or the
 * local code's classification. */
#include "config.h"

#include "policy.h"

#include "i18n.h"

enum policy_action
policy_action(enum status st)
{
	return failure_class(st)->action;
}

enum policy_action
policy_classify(int rc, size_t pending, bool uncertain, bool hold, struct error *e)
{
	enum policy_action action;

	if (rc == 0 && pending == 0)
		return ACT_DELIVERED;
	if (rc == 0) {
		error_set(e, ST_SERVER_TEMP,
			  _("not delivered to every recipient: %zu refused for now (the others got "
			    "the message)"),
			  pending);
		return ACT_RETRY;
	}
	action = policy_action(e->status);
	if (uncertain)
		error_prefix(e, _("delivery status uncertain (connection lost after the message "
				  "was sent)"));
	return action == ACT_HOLD && !hold ? ACT_FAIL : action;
}

const char *
policy_action_name(enum policy_action a)
{
	static const char *const names[] = {
		[ACT_DELIVERED] = "delivered", [ACT_RETRY_SOON] = "retry-soon",
		[ACT_RETRY] = "retry",         [ACT_HOLD] = "hold",
		[ACT_FAIL] = "fail",
	};

	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

static const struct {
	enum policy_action action;
	time_t first;
	time_t cap;
} schedules[] = {
	{ACT_RETRY_SOON, 60, 10 * 60},
	{ACT_RETRY, 5 * 60, 4 * 60 * 60},
};

time_t
policy_next_attempt(enum policy_action a, unsigned attempts, time_t now, double random)
{
	for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++) {
		time_t delay;

		if (schedules[i].action != a)
			continue;
		delay = schedules[i].first;
		for (unsigned n = 1; n < attempts && delay < schedules[i].cap; n++)
			delay *= 2;
		if (delay > schedules[i].cap)
			delay = schedules[i].cap;
		/* Jitter spreads out retries of messages queued together. */
		delay += (time_t)((double)delay * 0.4 * (random - 0.5));
		return now + (delay > 0 ? delay : 1);
	}
	return now;
}
