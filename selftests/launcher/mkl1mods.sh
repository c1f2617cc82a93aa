#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkl1mods.sh DIR [KVER]: the modules boot.sh loads in the L1 test VM for
# the virtio-net test (tun for the tap, bridge for the bridge it joins,
# vhost_net for the in-tree vhost-net case; loop for scripts/vhost-bench's
# O_DIRECT disk), with what they depend on, from /lib/modules/KVER (default: the newest
# Debian 6.1 in /boot, the L1 kernel of the launcher tiers). DIR/load
# lists them in load order.
set -euo pipefail

out=${1:?usage: mkl1mods.sh DIR [KVER]}
kver=${2:-}
if [ -z "$kver" ]; then
	# shellcheck disable=SC2012 # Debian kernel names are plain
	kver=$(basename "$(ls -d /boot/vmlinuz-6.1.* 2> /dev/null | sort -V | tail -n 1)")
	kver=${kver#vmlinuz-}
fi
rm -rf "$out"
mkdir -p "$out"
: > "$out/load"
modprobe -S "$kver" --show-depends -a tun bridge vhost_net loop |
while read -r what path _; do
	[ "$what" = insmod ] || continue
	name=$(basename "$path")
	name=${name%.xz}
	name=${name%.zst}
	name=${name%.ko}
	grep -qx "$name" "$out/load" && continue
	case $path in
	*.xz) xz -dc "$path" > "$out/$name.ko" ;;
	*.zst) zstd -qdc "$path" > "$out/$name.ko" ;;
	*) cp "$path" "$out/$name.ko" ;;
	esac
	echo "$name" >> "$out/load"
done
