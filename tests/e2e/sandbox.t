#!/bin/sh
# sandbox.t - the confinement shipped with outbox: the systemd user unit
# outbox-flush.service scores at most 2.0 in `systemd-analyze security`
# (9.8 before it was hardened) and keeps the access outbox needs (network
# families, the queue and marker directories writable); the AppArmor
# profile (src/hooks/apparmor-outbox.in) parses with apparmor_parser -Q,
# is in complain mode and has the passwordeval child profile.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
plan_lazy
HOOKS=$E2E_TOP/src/hooks
UNIT=$T/units/outbox-flush.service
mkdir -p "$T/units" "$T/run" && chmod 700 "$T/run" || bail "cannot make $T/units"
sed -e 's|@bindir@|/usr/bin|g' -e 's|@runstatedir@|/run|g' \
	"$HOOKS/outbox-flush.service.in" >"$UNIT"

for want in 'NoNewPrivileges=yes' 'PrivateUsers=yes' 'ProtectSystem=strict' \
	'ProtectHome=read-only' 'PrivateTmp=yes' \
	'ReadWritePaths=%h/.local/state/outbox -/run/outbox' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' \
	'SystemCallFilter=@system-service'; do
	t_ok "the flush service sets $want" grep -qxF "$want" "$UNIT"
done

if command -v systemd-analyze >/dev/null 2>&1 &&
	systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	(cd "$T/units" && XDG_RUNTIME_DIR=$T/run systemd-analyze security --user \
		--offline=true --no-pager outbox-flush.service) >"$T/security" 2>&1
	score=$(sed -n 's/.*Overall exposure level for outbox-flush.service: \([0-9.]*\).*/\1/p' \
		"$T/security")
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		t_pass "systemd-analyze security --user: exposure $score (at most 2.0)"
	else
		t_fail "systemd-analyze security --user: exposure ${score:-unknown} (at most 2.0)"
		diag_file "$T/security" 80
	fi
else
	t_skip "systemd-analyze security" "no systemd-analyze with --offline"
fi

PROFILE=$T/apparmor-outbox
sed -e 's|@bindir@|/usr/bin|g' -e 's|@sysconfdir@|/etc|g' -e 's|@runstatedir@|/run|g' \
	"$HOOKS/apparmor-outbox.in" >"$PROFILE"
t_like "the AppArmor profile is in complain mode" "$PROFILE" \
	'^profile outbox /usr/bin/outbox flags=\(complain\) \{$'
t_like "passwordeval commands run in the child profile" "$PROFILE" \
	'Cx -> passwordeval,$'
t_like "the child profile exists" "$PROFILE" '^  profile passwordeval '
if command -v apparmor_parser >/dev/null 2>&1 && [ -d /etc/apparmor.d/abstractions ]; then
	t_ok "apparmor_parser -Q parses the profile" apparmor_parser -Q -K "$PROFILE"
else
	t_skip "apparmor_parser -Q" "apparmor not installed"
fi

done_testing
