#!/usr/bin/env bash
# Checks the dependency rule of STYLE.md with `go list -deps`: each internal package may import only the
# packages of ours listed for it (kernels imports nothing of ours).
set -euo pipefail
mod=$(go list -m)
fail=0
check() { # package, allowed packages of ours (space separated, relative to the module)
	local pkg=$1; shift
	local allowed=" $* "
	while read -r dep; do
		rel=${dep#"$mod"/}
		case "$dep" in "$mod/$pkg" | "$mod/$pkg"/*) continue ;; esac
		case "$allowed" in *" $rel "*) ;; *) echo "depcheck: $pkg must not import $rel"; fail=1 ;; esac
	done < <(go list -deps "./$pkg" | grep "^$mod/" || true)
}
check internal/kernels
check internal/fill
check internal/weights
check internal/preprocess
check internal/npy
check internal/hugepage
check models
check internal/cache models
check internal/model internal/kernels internal/hugepage models internal/weights
check internal/onnx internal/model internal/kernels internal/hugepage models internal/weights
check internal/pipeline internal/model internal/kernels internal/hugepage models internal/weights internal/preprocess internal/preprocess/internal/ljpeg
check internal/head internal/weights
check internal/eval models
check internal/heatmap
exit $fail
