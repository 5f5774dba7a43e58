#!/bin/sh
# deps.sh - installs the Debian 12 packages outbox needs to build and test,
# only those missing.  Needs root (or sudo) when something is missing.
set -eu

packages="autoconf automake autopoint gettext pkg-config make gcc
libgnutls28-dev libsecret-1-dev libidn2-dev
python3-aiosmtpd gnutls-bin groff-base mandoc strace
dbus gnome-keyring libsecret-tools
postfix sasl2-bin libsasl2-modules
git-email libmailtools-perl mutt bsd-mailx cron php-cli"

missing=
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps.sh: need root to install:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# postfix is only for its tools and a private test instance: no system setup.
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
