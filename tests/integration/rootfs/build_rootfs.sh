#!/bin/sh
# Builds (once) the root filesystem of the container TLS test: Debian's own
# python3 and libssl3 in a directory of their own (debootstrap
# --variant=minbase), so that the container's libssl is another file (another
# device and inode) than the host's. Cached: the directory is kept, and a
# finished build is marked by .complete; later runs do nothing and need no
# network.
#
# The mirror and suite are the ones apt uses on this machine (read from
# /etc/apt/sources.list and /etc/apt/sources.list.d/*), so the build reaches
# what apt reaches and nothing else.
#
# usage: build_rootfs.sh DIR
set -eu

dir=${1:?usage: build_rootfs.sh DIR}
[ -f "$dir/.complete" ] && exit 0

command -v debootstrap >/dev/null || {
	echo "build_rootfs: debootstrap is not installed (make test-deps installs it)" >&2
	exit 1
}

. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}

# The first main archive apt uses for $suite: a one-line entry
# ("deb [opts] URI SUITE COMPONENTS...") or a deb822 stanza (URIs:/Suites:).
# Security archives are left out: debootstrap needs the suite's own archive.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$suite" '
	function take(u) { if (!found && u !~ /security/) { print u; found = 1 } }
	/^[ \t]*deb[ \t]/ {
		n = split($0, f, /[ \t]+/); i = 2
		if (f[i] ~ /^\[/) { while (i <= n && f[i] !~ /\]$/) i++; i++ }
		if (f[i + 1] == suite) take(f[i])
		next
	}
	/^URIs:/ { uris = $2 }
	/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
	/^[ \t]*$/ { if (hit && uris != "") take(uris); uris = ""; hit = 0 }
	END { if (hit && uris != "") take(uris) }')
[ -n "$mirror" ] || {
	echo "build_rootfs: no apt source for suite $suite in /etc/apt/sources.list*" >&2
	exit 1
}

tmp="$dir.tmp"
rm -rf "$tmp"
mkdir -p "$(dirname "$dir")"
echo "build_rootfs: debootstrap --variant=minbase $suite from $mirror into $dir" >&2
debootstrap --variant=minbase --include=python3 "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
	echo "build_rootfs: debootstrap failed, its log: $tmp.log" >&2
	tail -20 "$tmp.log" >&2
	exit 1
}
# What the container runs must find its own libssl.
[ -n "$(find "$tmp/usr/lib" -name 'libssl.so.3' | head -1)" ] || {
	echo "build_rootfs: no libssl.so.3 in the new root" >&2
	exit 1
}
rm -rf "$dir" "$tmp.log"
mv "$tmp" "$dir"
touch "$dir/.complete"
