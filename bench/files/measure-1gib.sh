#!/usr/bin/env bash
# Moves one file (1 GiB by default) from alice to bob through a real `parley server` on loopback,
# with the real `parley chat` on both sides, and reports each process's peak resident memory
# (VmHWM) and the largest GC heap it was allowed: every process runs with a hard GC heap limit
# (DOTNET_GCHeapHardLimit, 64 MiB by default), so a side that buffered the file would fail.
# Usage: bench/files/measure-1gib.sh [SIZE_MIB] [HEAP_LIMIT_MIB]   (BENCHMARKS.md §files)
set -euo pipefail
size_mib=${1:-1024}
heap_mib=${2:-64}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/parley-files-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

dotnet publish "$root/src/Parley.Cli" -c Release -o "$work/out" >/dev/null
export DOTNET_GCHeapHardLimit=$(printf '0x%x' $((heap_mib * 1024 * 1024)))

head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
mkdir -p "$work/downloads"
limit=$((size_mib + 16))
dotnet "$work/out/parley.dll" server --port 0 --data "$work/data" --max-file-mib "$limit" --max-upload-mib-per-account "$limit" \
  --max-inbox-file-mib "$limit" --min-free-disk-bytes 0 > "$work/server.out" 2>&1 &
pids+=($!); server=$!
until grep -q "Waiting for connections" "$work/server.out"; do sleep 0.2; done
port=$(grep -o 'Started on [^ ]*:[0-9]*' "$work/server.out" | grep -o '[0-9]*$')

chat() { # user, extra args; stdin from a fifo so the chat stays until told to quit
  local user=$1; shift
  mkfifo "$work/$user.in"
  echo "$user's long passphrase" > "$work/$user.pw"
  PARLEY_HOME="$work/home-$user" dotnet "$work/out/parley.dll" chat --user "$user" --host localhost --port "$port" \
    --password-file "$work/$user.pw" --trust-new --register "$@" < "$work/$user.in" > "$work/$user.out" 2>&1 &
  pids+=($!)
  exec {fd}>"$work/$user.in"
  eval "${user}_fd=$fd; ${user}_pid=$!"
}
chat bob --download-dir "$work/downloads"
chat alice
until grep -q "Authenticated as bob" "$work/bob.out" && grep -q "Authenticated as alice" "$work/alice.out"; do sleep 0.2; done

start=$(date +%s.%N)
echo "sendfile bob $work/big.bin" >&"$alice_fd"
until grep -q "SHA-256 verified\|\[ERROR\]" "$work/bob.out" "$work/alice.out"; do sleep 0.5; done
end=$(date +%s.%N)
hwm() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$1/status"; }
echo "file: ${size_mib} MiB, GC heap hard limit per process: ${heap_mib} MiB"
echo "sender → receiver, end to end (upload, offer, download, verify): $(echo "$end - $start" | bc) s"
echo "peak RSS: server $(hwm "$server"), alice (sender) $(hwm "$alice_pid"), bob (receiver) $(hwm "$bob_pid")"
cmp -s "$work/big.bin" "$work/downloads/big.bin" && echo "received file identical: yes" || { echo "received file identical: NO"; grep -h "ERROR" "$work"/*.out; exit 1; }
echo "files.db after bob took the file: $(du -h "$work/data/files.db" | cut -f1) (its free pages go back to the disk at the hourly sweep)"
echo quit >&"$alice_fd"; echo quit >&"$bob_fd"
wait "$alice_pid" "$bob_pid" || true
