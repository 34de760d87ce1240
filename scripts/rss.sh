#!/usr/bin/env bash
# RSS of one replica in its default configuration (models/, automatic engine layout): idle after
# start-up (once /readyz is 200), then after 30 s of 16 autocannon connections posting 4-image
# generate requests. Linux (/proc). Prints the engine layout, VmRSS and VmHWM. `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18321}"
PORT="$PORT" HOST=127.0.0.1 LOG_LEVEL=warn node dist/server.js &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.5; done
sleep 2
echo "engines: $(curl -s "127.0.0.1:$PORT/v1/models" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).models.map((m)=>`${m.name} ${m.engine.workers}×${m.engine.intra_op_threads}`).join(", ")))')"
echo "idle after start-up: $(grep VmRSS /proc/$PID/status)"
node_modules/.bin/autocannon -c 16 -d 30 -m POST -H 'content-type: application/json' \
  -b '{"class": 3, "guidance": 1.3, "steps": 2, "num_images": 4}' "http://127.0.0.1:$PORT/v1/generate" 2>&1 | grep -E "requests in"
echo "after 30 s at 16 connections: $(grep -E 'VmRSS|VmHWM' /proc/$PID/status | tr -s '\n\t ' ' ')"
