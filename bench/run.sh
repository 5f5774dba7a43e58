#!/bin/sh
# Entry point of outbox's benchmark suite: sh bench/run.sh [--quick]
# [--only 1,2,3,4,5,6,7,p] [--markdown FILE].
#
# Checks the tools it needs, makes a private work directory (under
# $BENCH_TMPDIR, else $TMPDIR, else /tmp: it should be on a real disk, since
# outbox fsyncs its queue), test certificates with the recipe of
# tests/e2e/lib.sh, finds msmtpq in the msmtp package (gunzipping a copy if
# it is only shipped compressed), then runs bench/bench.py with Debian's
# python3 (which has aiosmtpd) and removes the work directory.  The binary
# under test is $OUTBOX, else src/outbox of this tree; a copy of it is
# taken at the start.  Not part of `make check`: nothing here is a timed
# assertion.
#
# Untrusted data: none; everything it reads is made by the run itself.

# shellcheck source-path=SCRIPTDIR/..

set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/.." && pwd -P)
OUTBOX=${OUTBOX:-$top/src/outbox}
PY=/usr/bin/python3

die() {
	echo "bench: $*" >&2
	exit 2
}

[ -x "$OUTBOX" ] || die "no outbox binary at $OUTBOX (run: make src/outbox)"
for tool in msmtp smtp-sink certtool strace bash; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is not installed (see bench/README.md)"
done
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
	die "$PY cannot import aiosmtpd (apt-get install python3-aiosmtpd)"

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/outbox-bench.XXXXXX") ||
	die "cannot make a work directory"
work=$(cd "$work" && pwd -P)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "bench: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Others may rebuild src/outbox while a run is going: the whole run uses
# one copy of the binary.
cp "$OUTBOX" "$work/outbox" || die "cannot copy $OUTBOX"

# The certificate recipe of the end-to-end tests (CA, server cert for
# localhost and 127.0.0.1).
# shellcheck disable=SC2034 # T is lib.sh's temp dir
T=$work
# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
e2e_certs >/dev/null

msmtpq=
for f in $(dpkg -L msmtp 2>/dev/null | grep -E '/msmtpq(\.gz)?$'); do
	if [ -f "$f" ]; then
		msmtpq=$f
		break
	fi
done
case $msmtpq in
"") die "msmtpq not found in the msmtp package" ;;
*.gz)
	gunzip -c "$msmtpq" >"$work/msmtpq" || die "cannot gunzip $msmtpq"
	msmtpq=$work/msmtpq
	;;
esac
[ -f "$msmtpq" ] || die "msmtpq not found in the msmtp package"

rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null) || rev=unknown

status=0
"$PY" "$here/bench.py" --outbox "$work/outbox" --msmtp "$(command -v msmtp)" \
	--msmtpq "$msmtpq" --smtpd "$top/tests/server/smtpd.py" \
	--ca "$CA" --cert "$CERT" --key "$KEY" --work "$work" \
	--revision "$rev" "$@" || status=$?
exit "$status"
