#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make_initramfs.sh DIR - builds DIR/initrd.gz for the VM guest: busybox
# (busybox-static), build/kspan-static (or KSPAN_STATIC) as /kspan, guest_init.sh as /init,
# vm_client, vm_echo and syscall_cost (static), vm_tls (static, with
# libssl.a and libcrypto.a of libssl-dev: the guest has no libssl) and a
# self-signed certificate for it made now (openssl, EC P-256, CN and SAN
# localhost, in /tls), and the files busybox httpd serves;
# KSPAN_STATIC_BASELINE (a static kspan) as /kspan-baseline.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$1
root=$work/root
busybox=$(command -v busybox) || {
	echo "busybox is missing (package busybox-static)" >&2
	exit 1
}
kspan=${KSPAN_STATIC:-build/kspan-static}
[ -x "$kspan" ] || {
	echo "$kspan is missing (make build/kspan-static)" >&2
	exit 1
}
mkdir -p "$root"/{bin,proc,sys,dev,tmp,www,tls}
cp "$busybox" "$root/bin/busybox"
cp "$kspan" "$root/kspan"
# bench_vm.sh: a second static build, measured beside the first.
if [ -n "${KSPAN_STATIC_BASELINE:-}" ]; then
	cp "$KSPAN_STATIC_BASELINE" "$root/kspan-baseline"
fi
cp tests/vm/guest_init.sh "$root/init"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/vm_client" tests/vm/vm_client.c
gcc -static -O2 -Wall -Wextra -Werror -o "$root/vm_echo" tests/vm/vm_echo.c
gcc -static -O2 -Wall -Wextra -Werror -o "$root/syscall_cost" tests/bench/syscall_cost.c
# glibc's linker warnings about getaddrinfo and dlopen in static programs
# (libcrypto's, never called here) are kept out of the way unless it fails.
gcc -static -O2 -Wall -Wextra -Werror -o "$root/vm_tls" tests/vm/vm_tls.c -lssl -lcrypto \
	-lpthread 2>"$work/vm_tls.log" || {
	cat "$work/vm_tls.log" >&2
	echo "building vm_tls failed (libssl-dev provides libssl.a)" >&2
	exit 1
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-keyout "$root/tls/key.pem" -out "$root/tls/cert.pem" >"$work/openssl.log" 2>&1 || {
	cat "$work/openssl.log" >&2
	exit 1
}
echo "<html>kspan vm test</html>" >"$root/www/index.html"
for pair in write writev sendto sendmsg; do
	echo "<html>$pair</html>" >"$root/www/io-$pair.html"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
