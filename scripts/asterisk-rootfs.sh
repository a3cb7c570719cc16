#!/usr/bin/env bash
# Build (once) a Debian root filesystem holding Asterisk 22 and SIPp.
# Debian 12 has no asterisk package and sid's need a newer glibc, so Asterisk runs from this tree
# through the tree's own dynamic loader (see ivr/asterisk/process.py). The tree is shared by every
# checkout on the machine and reused: it is built into a temporary directory and renamed into place.
set -euo pipefail
dest=${1:?usage: asterisk-rootfs.sh DEST}
[ -x "$dest/usr/sbin/asterisk" ] && exit 0

packages=asterisk,asterisk-modules,asterisk-core-sounds-en-wav,asterisk-core-sounds-ru-wav,asterisk-moh-opsound-wav,sip-tester,procps
command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap; }

mkdir -p "$(dirname "$dest")"
for suite in sid forky; do   # sid is sometimes uninstallable for a day; forky carries the same Asterisk line
  tmp=$(mktemp -d "$dest.build.XXXX")
  # the mirror serves a sid Release file whose validity date has passed
  if mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
       --include="$packages" "$suite" "$tmp" >"$tmp.log" 2>&1; then
    # Asterisk runs from this tree without chroot, so absolute links (sounds/en -> /etc/alternatives/...)
    # must point inside the tree.
    find "$tmp/usr/share/asterisk" -type l -lname '/*' | while read -r link; do
      target=$(chroot "$tmp" readlink -f "${link#"$tmp"}")
      ln -sfnr "$tmp$target" "$link"
    done
    # Russian prompts install under a voice-named folder; channels with language=ru look for sounds/ru.
    ln -sfn ru_RU_f_IvrvoiceRU "$tmp/usr/share/asterisk/sounds/ru"
    rm -rf "$dest" && mv "$tmp" "$dest" && rm -f "$tmp.log"
    echo "asterisk-rootfs: built $dest from $suite"
    exit 0
  fi
  echo "asterisk-rootfs: $suite failed, see $tmp.log" >&2
  rm -rf "$tmp"
done
exit 1
