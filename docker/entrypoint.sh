#!/bin/sh
# Migrate, then serve (`ladder serve` applies pending migrations before it listens).
set -e
exec ladder serve "$@"
