#!/bin/sh
# deps.sh - installs the Debian 12 packages outbox needs to build and test,
# only those missing.  Needs root (or sudo) when something is missing.
set -eu

packages="autoconf automake autopoint gettext pkg-config make gcc clang-format
libgnutls28-dev libsecret-1-dev libidn2-dev libcurl4-gnutls-dev libjson-c-dev libexpat1-dev
python3-aiosmtpd gnutls-bin groff-base mandoc strace locales
dbus gnome-keyring libsecret-tools
postfix sasl2-bin libsasl2-modules
git-email libmailtools-perl mutt bsd-mailx cron php-cli
zsh fish bash-completion
valgrind clang libclang-rt-14-dev dante-server dnsmasq-base"

missing=
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# The translation test needs a German and a French locale.
locales_missing() {
	! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$' ||
		! locale -a 2>/dev/null | grep -qi '^fr_FR\.utf-\?8$'
}

if [ -z "$missing" ] && ! locales_missing; then
	exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps.sh: need root to install:$missing (and the de_DE/fr_FR locales)" >&2
		exit 1
	}
	sudo=sudo
fi
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# postfix is only for its tools and a private test instance: no system setup.
	echo "postfix postfix/main_mailer_type select No configuration" |
		$sudo debconf-set-selections
	$sudo apt-get update -q
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $missing
fi
if locales_missing && [ -f /etc/locale.gen ]; then
	$sudo sed -i -e 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' \
		-e 's/^# *\(fr_FR.UTF-8 UTF-8\)/\1/' /etc/locale.gen
	$sudo locale-gen >/dev/null
fi
