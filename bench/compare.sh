#!/usr/bin/env bash
# compare.sh: inception vs ONNX Runtime, side by side, on this machine. Usage (from anywhere):
#
#   bash bench/compare.sh [-archs v1,v3] [-configs 1x1,1x2,8x2] [-rounds 3] [-budget 3s] [-work DIR]
#
# Installs the pinned onnxruntime-node into bench/node_modules when missing, builds inception and the
# exporter from the working tree once (so every run times the same code), then runs bench/cmd/compare,
# which prints the markdown table on stdout and its progress on stderr. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "compare.sh: node (>= 18) is needed for ONNX Runtime" >&2; exit 1; }
if [ ! -d bench/node_modules/onnxruntime-node ]; then
	(cd bench && npm ci --ignore-scripts --no-audit --no-fund)
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/inception" ./cmd/inception
go build -o "$bin/onnxexport" ./bench/cmd/onnxexport
go run ./bench/cmd/compare -inception "$bin/inception" -export "$bin/onnxexport" -ort bench/ort.js "$@"
