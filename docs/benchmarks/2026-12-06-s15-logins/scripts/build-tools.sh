#!/bin/bash
# Builds the three trace readers the scripts use (TraceEvent, from the NuGet mirror) into /tmp/s15-tools:
# gcan and allocst from tools/, allocan from session 10's folder.
D=$(cd "$(dirname "$0")" && pwd)
dotnet build -c Release -o /tmp/s15-tools/allocan "$D/../../2026-12-06-s10-pooled-receive/alloc/allocan" > /dev/null || exit 1
for t in gcan allocst; do dotnet build -c Release -o /tmp/s15-tools/$t "$D/tools/$t" > /dev/null || exit 1; done
echo /tmp/s15-tools
