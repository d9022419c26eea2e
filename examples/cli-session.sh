#!/usr/bin/env bash
# A real irmin session with the built CLI (node dist/cli/main.js) on a temporary directory:
# values, a branch, a merge, the history, mergeable data types, and then git itself reading the store.
# Run it with `npm run demo` (after `npm install`, which builds dist/).
set -euo pipefail

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$project/dist/cli/main.js"
if [[ ! -f "$cli" ]]; then
  echo "cli-session.sh: $cli is missing; run 'npm run build' first" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/irmin-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Every irmin command below works on this store (the same as passing --root "$work/store").
export IRMIN_ROOT="$work/store"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null # git as it comes, whatever the user's config

# Prints a command before its output, as in a terminal, quoting the arguments that need it.
show() {
  local line="" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:@=^~-]+$ ]]; then line+=" $arg"; else line+=" \"$arg\""; fi
  done
  printf '\n$%s\n' "$line"
}
irmin() {
  show irmin "$@"
  node "$cli" "$@"
}
run_git() {
  show git "$@"
  git "$@"
}

irmin init
irmin set home/todo "buy milk"
irmin set home/notes "call Alice" -m "remember to call Alice" --author "Ada <ada@example.com>"
irmin fork wip
irmin --branch wip set home/todo "buy milk and eggs"
irmin set home/notes "call Alice at 5"   # main moves on too: the merge below is a real 3-way merge
irmin merge wip
irmin log
irmin list
irmin list home
irmin tree
irmin --json get home/todo

# Mergeable data types: changed on two branches, merged with no conflict.
irmin counter stats/visits inc 10
irmin queue home/chores push "water plants"
irmin fork wip2
irmin --branch wip2 counter stats/visits inc 2
irmin --branch wip2 queue home/chores push "take out bins"
irmin counter stats/visits inc 3                                     # 10 + 2 + 3 once merged
irmin queue home/chores push "feed cat"
irmin merge wip2
irmin counter stats/visits
irmin queue home/chores
irmin queue home/chores pop
irmin log-of app/events append "demo started"                        # a log of values ("log" is the history)
irmin text doc/readme insert 0 "hello world"
irmin text doc/readme insert 0 "irmin: "
irmin tree                                                           # one line per data type
irmin log -n 3

# The store is a plain bare Git repository: git reads it, checks it, and can change it.
run_git --git-dir="$IRMIN_ROOT" log --oneline --graph main
run_git --git-dir="$IRMIN_ROOT" show main:home/todo
echo
run_git --git-dir="$IRMIN_ROOT" fsck --strict && echo "(fsck: no problems)"
run_git --git-dir="$IRMIN_ROOT" update-ref refs/heads/main main^1   # roll main back with git...
irmin get doc/readme                                                 # ...and irmin sees it: the last insert is gone
