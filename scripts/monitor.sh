#!/usr/bin/env bash
# The old monitor.sh, kept for people who expect it: a live view of every
# MealSync instance is now `mealsyncctl monitor` (--once and --json for scripts;
# `mealsyncctl monitor --help` lists its options). Arguments pass through.
set -euo pipefail

if ! command -v mealsyncctl >/dev/null 2>&1; then
  echo "${0##*/}: mealsyncctl is not on PATH. Install it (go build -o /usr/local/bin/mealsyncctl ./cmd/mealsyncctl from the repository), then run: mealsyncctl monitor" >&2
  exit 127
fi
exec mealsyncctl monitor "$@"
