#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# fetch_kernel.sh CACHE_DIR [SERIES] - prints the path of a Debian cloud
# kernel (vmlinuz) for the VM test, fetching it when the cache lacks it, and
# says on stderr which package it is. SERIES:
#
#   6.1   (default) the newest linux-image-6.1.0-N-cloud-amd64 of this
#         machine's apt sources (bookworm);
#   6.12  the newest linux-image-6.12.*+deb12*-cloud-amd64 of Debian's
#         bookworm-backports suite, from the same Debian mirror this machine
#         uses. /etc/apt is never touched: apt gets a private state directory
#         (CACHE_DIR/apt-bookworm-backports) with a one-line sources.list,
#         verified with the machine's Debian archive keyring.
#
# Kernels named in KSPAN_VM_KERNEL_SKIP (releases, comma-separated) are passed
# over for the next newest. By default: 6.12.95+deb12-cloud-amd64, which
# crashes under this machine's QEMU 7.2 TCG even without kspan (a double
# fault or NULL dereference in the slab allocator within seconds of boot,
# every time; 6.12.43, .74, .85 and .94 run the same busybox loop cleanly).
#
# The package is downloaded with `apt-get download` and its /boot/vmlinuz-*
# unpacked into CACHE_DIR (outside the repository, kept across runs). Every
# guest driver the test needs (8250 serial console, devtmpfs, initramfs, BPF,
# kprobes, BTF) is built into both kernels: no module is taken. Without apt's
# help (offline) the newest cached kernel of the series is used.
set -euo pipefail
cache=$1
series=${2:-6.1}
skip=,${KSPAN_VM_KERNEL_SKIP-6.12.95+deb12-cloud-amd64},
mkdir -p "$cache"

skipped() {
	case $skip in *,"$1",*) return 0 ;; esac
	return 1
}

case $series in
6.1)
	prefix=linux-image-6.1.0-
	name_re='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$'
	cached_glob='vmlinuz-6.1.0-*-cloud-amd64'
	apt_opts=()
	;;
6.12)
	prefix=linux-image-6.12.
	name_re='^linux-image-6\.12\.[0-9]+\+deb12(\.[0-9]+)?-cloud-amd64$'
	cached_glob='vmlinuz-6.12.*-cloud-amd64'
	state=$cache/apt-bookworm-backports
	apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache")
	;;
*)
	echo "fetch_kernel: unknown kernel series $series (6.1 or 6.12)" >&2
	exit 1
	;;
esac

# The Debian archive this machine's apt uses for bookworm (deb822 .sources
# or one-line .list files), e.g. http://deb.debian.org/debian.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++;
			if ($2 ~ /^\[/) i++;
			if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# one stanza per paragraph: the URIs of the one whose Suites name bookworm
		awk 'BEGIN { RS = ""; FS = "\n" }
			{ uri = ""; suite = 0
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
				if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) suite = 1 }
			  if (suite && uri != "") { print uri; exit } }' "$f"
	done
}

# The backports index, refreshed at most once an hour.
backports_update() {
	local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	mirror=$(debian_mirror | head -n 1)
	if [ -z "$mirror" ]; then
		echo "fetch_kernel: no Debian bookworm mirror in /etc/apt" >&2
		return 1
	fi
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	echo "deb [signed-by=$keyring] $mirror bookworm-backports main" >"$state/sources.list.new"
	if ! cmp -s "$state/sources.list.new" "$state/sources.list" ||
		[ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null)" ]; then
		mv "$state/sources.list.new" "$state/sources.list"
		apt-get "${apt_opts[@]}" -q update >"$state/update.log" 2>&1 || {
			echo "fetch_kernel: apt-get update of bookworm-backports failed" \
				"(see $state/update.log)" >&2
			return 1
		}
	else
		rm -f "$state/sources.list.new"
	fi
}

newest_package() {
	apt-cache "${apt_opts[@]}" pkgnames "$prefix" 2>/dev/null |
		grep -E "$name_re" | sort -V -r |
		while read -r p; do
			if skipped "${p#linux-image-}"; then
				echo "fetch_kernel: $series: passing over $p (KSPAN_VM_KERNEL_SKIP)" >&2
				continue
			fi
			# a name with a candidate version can be downloaded
			candidate=$(apt-cache "${apt_opts[@]}" policy "$p" | sed -n 's/.*Candidate: //p')
			if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
				echo "$p $candidate"
				break
			fi
		done
}

if [ "$series" = 6.12 ]; then
	backports_update || true
	found=$(newest_package || true)
else
	found=$(newest_package || true)
	if [ -z "$found" ] && [ "$(id -u)" = 0 ]; then
		# a fresh machine may have empty package lists
		apt-get update -qq >/dev/null 2>&1 || true
		found=$(newest_package || true)
	fi
fi
if [ -n "$found" ]; then
	pkg=${found% *} version=${found#* }
	release=${pkg#linux-image-}
	vmlinuz=$cache/vmlinuz-$release
	if [ ! -s "$vmlinuz" ]; then
		tmp=$(mktemp -d "$cache/fetch.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg=$version" >/dev/null 2>&1) ||
			echo "fetch_kernel: apt-get download $pkg=$version failed" >&2
		deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1 || true)
		if [ -n "$deb" ]; then
			dpkg-deb -x "$deb" "$tmp/root"
			cp "$tmp/root/boot/vmlinuz-$release" "$vmlinuz.part"
			mv "$vmlinuz.part" "$vmlinuz"
			echo "$pkg $version" >"$vmlinuz.package"
		fi
	fi
	if [ -s "$vmlinuz" ]; then
		echo "fetch_kernel: $series: $pkg $version" >&2
		echo "$vmlinuz"
		exit 0
	fi
fi
cached=$(ls "$cache"/$cached_glob 2>/dev/null | grep -v '\.package$' | sort -V -r |
	while read -r f; do
		skipped "${f##*/vmlinuz-}" || { echo "$f"; break; }
	done)
if [ -z "$cached" ]; then
	echo "fetch_kernel: no ${prefix}*-cloud-amd64 available (apt-get update?)" >&2
	exit 1
fi
echo "fetch_kernel: $series: cached $(basename "$cached")" \
	"($(cat "$cached.package" 2>/dev/null || echo 'package unknown'))" >&2
echo "$cached"
