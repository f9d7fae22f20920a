#!/bin/bash
# Builds the three trace readers the scripts use (TraceEvent, from the NuGet mirror) into /tmp/s15-tools.
D=$(cd "$(dirname "$0")" && pwd)/tools
for t in gcan allocan allocst; do dotnet build -c Release -o /tmp/s15-tools/$t "$D/$t" > /dev/null || exit 1; done
echo /tmp/s15-tools
