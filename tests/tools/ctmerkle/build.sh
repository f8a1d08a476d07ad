#!/bin/sh
# Builds the ctmerkle differential-test helper offline from Debian's Go sources.
#   build.sh OUTPUT_BINARY
# Needs golang-go and golang-github-google-certificate-transparency-dev. The Go toolchain's own
# vendored copy of golang.org/x/mod (sumdb/note, sumdb/tlog) is reached through a symlink in a
# private GOPATH next to the output; nothing is downloaded.
set -eu
out=$1
src=$(cd "$(dirname "$0")" && pwd)
work=$(dirname "$out")/ctmerkle-gopath
goroot=$(go env GOROOT)
debian_gopath=/usr/share/gocode
mkdir -p "$work/src/golang.org/x"
ln -sfn "$goroot/src/cmd/vendor/golang.org/x/mod" "$work/src/golang.org/x/mod"
ln -sfn "$src" "$work/src/ctmerkle"
export GOPATH="$work:$debian_gopath" GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="$work/cache" CGO_CPPFLAGS="-Wno-deprecated-declarations"
cd "$work/src/ctmerkle"
go build -o "$out" .
