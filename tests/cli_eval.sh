#!/bin/sh
. "$(dirname "$0")/cli_lib.sh"
finish
