#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# fetch_kernel.sh CACHE_DIR - prints the path of a Debian 6.1 cloud kernel
# (vmlinuz) for the VM test, fetching it when the cache lacks it: the newest
# linux-image-6.1.0-N-cloud-amd64 apt knows, downloaded with `apt-get
# download` and unpacked into CACHE_DIR (outside the repository, kept across
# runs). Without apt's help (offline) the newest cached kernel is used.
set -euo pipefail
cache=$1
mkdir -p "$cache"

newest_package() {
	apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | sort -V -r |
		while read -r p; do
			# a name with a candidate version can be downloaded
			candidate=$(apt-cache policy "$p" | sed -n 's/.*Candidate: //p')
			if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
				echo "$p"
				break
			fi
		done
}

pkg=$(newest_package || true)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
	# a fresh machine may have empty package lists
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(newest_package || true)
fi
if [ -n "$pkg" ]; then
	release=${pkg#linux-image-}
	vmlinuz=$cache/vmlinuz-$release
	if [ ! -s "$vmlinuz" ]; then
		tmp=$(mktemp -d "$cache/fetch.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
			echo "fetch_kernel: apt-get download $pkg failed" >&2
		deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1 || true)
		if [ -n "$deb" ]; then
			dpkg-deb -x "$deb" "$tmp/root"
			cp "$tmp/root/boot/vmlinuz-$release" "$vmlinuz.part"
			mv "$vmlinuz.part" "$vmlinuz"
		fi
	fi
	if [ -s "$vmlinuz" ]; then
		echo "$vmlinuz"
		exit 0
	fi
fi
cached=$(ls "$cache"/vmlinuz-6.1.0-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$cached" ]; then
	echo "fetch_kernel: no linux-image-6.1.0-*-cloud-amd64 available (apt-get update?)" >&2
	exit 1
fi
echo "$cached"
