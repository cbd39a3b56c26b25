#!/usr/bin/env bash
# Installs govlocker on a Debian, Ubuntu or Raspberry Pi OS cabinet PC as a systemd service. Run it as root from
# a checkout (or an unpacked release) of the repository; run it again to upgrade: it is idempotent.
#
#   sudo deploy/install.sh             install or upgrade
#   deploy/install.sh --dry-run        print what it would do, change nothing (no root needed)
#   deploy/install.sh --prefix DIR     install into a staged root (an image being built): files under DIR,
#                                      `systemctl --root=DIR enable`, no daemon-reload, start or udev reload
#
# What it does:
#   - checks Node (20.19+ works; 22 LTS recommended: Node 20 reached end of life in April 2026) and npm
#   - creates the system user `govlocker` (no login, no home; group govlocker)
#   - copies the app to /opt/govlocker (the previous version is kept as /opt/govlocker.old) and runs
#     `npm ci` there (builds dist/ and the native modules: needs g++, make, python3 and the npm registry),
#     then `npm prune --omit=dev`; links /usr/local/bin/govlocker to it
#   - /etc/govlocker (root:govlocker 0750) and /etc/govlocker/cabinet.json from deploy/cabinet.example.json
#     when absent (root:govlocker 0640; an existing one is kept, its owner and mode corrected)
#   - /var/lib/govlocker (govlocker 0700), the data dir
#   - the units from deploy/systemd/ to /etc/systemd/system (govlocker.service, and any backup
#     service/timer there, with /var/backups/govlocker), the udev rule to /etc/udev/rules.d when absent
#   - systemctl daemon-reload; enables govlocker.service (and the timers); restarts the service when the
#     config existed already, else says to edit the config first
set -euo pipefail
umask 022

DRY_RUN=0
PREFIX=''
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --prefix) [ $# -ge 2 ] || { echo "install: --prefix needs a directory" >&2; exit 2; }; PREFIX="${2%/}"; shift ;;
    --prefix=*) PREFIX="${1#--prefix=}"; PREFIX="${PREFIX%/}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown option $1 (--dry-run, --prefix DIR, --help)" >&2; exit 2 ;;
  esac
  shift
done

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
USER_NAME=govlocker
APP="$PREFIX/opt/govlocker"
ETC="$PREFIX/etc/govlocker"
STATE="$PREFIX/var/lib/govlocker"
BACKUPS="$PREFIX/var/backups/govlocker"
UNITS="$PREFIX/etc/systemd/system"
RULES="$PREFIX/etc/udev/rules.d"
LINK="$PREFIX/usr/local/bin/govlocker"
# systemd's PATH for services: `/usr/bin/env govlocker` and the script's `#!/usr/bin/env node` look here.
SERVICE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }
# A step that changes the system: printed (shell-quoted) on a dry run, else run.
run() {
  if [ "$DRY_RUN" = 1 ]; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}
# The same, in a directory.
run_in() {
  local dir="$1"; shift
  if [ "$DRY_RUN" = 1 ]; then printf '+ cd %q &&' "$dir"; printf ' %q' "$@"; printf '\n'; else (cd "$dir" && "$@"); fi
}

[ "$DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (sudo $0), or with --dry-run to see what it would do"
[ "$DRY_RUN" = 1 ] && say "dry run: nothing is changed; the steps are printed with a leading +"

# --- Node ----------------------------------------------------------------------------------------------------
NODE="$(command -v node || true)"
[ -n "$NODE" ] || die "Node.js is not installed. Install Node 22 LTS (e.g. from NodeSource: https://github.com/nodesource/distributions), then run this again"
NODE_VERSION="$("$NODE" -p 'process.versions.node')"
IFS=. read -r NODE_MAJOR NODE_MINOR _ <<<"$NODE_VERSION"
if [ "$NODE_MAJOR" -ge 22 ]; then
  say "Node $NODE_VERSION ($NODE)"
elif [ "$NODE_MAJOR" -eq 20 ] && [ "$NODE_MINOR" -ge 19 ]; then
  say "Node $NODE_VERSION ($NODE) works, but Node 20 reached end of life in April 2026 (no more security fixes): install Node 22 LTS"
else
  die "Node $NODE_VERSION is not supported: govlocker needs Node 20.19+ or 22+ (22 LTS recommended)"
fi
command -v npm >/dev/null 2>&1 || die "npm is missing (it comes with Node from NodeSource; on Debian: apt-get install npm)"
if [ -z "$PREFIX" ] && ! PATH="$SERVICE_PATH" command -v node >/dev/null 2>&1; then
  die "$NODE is not on the PATH systemd gives services ($SERVICE_PATH): link it, e.g. ln -s $NODE /usr/local/bin/node"
fi

# --- the user ------------------------------------------------------------------------------------------------
if [ -n "$PREFIX" ]; then
  if grep -q "^$USER_NAME:" "$PREFIX/etc/passwd" 2>/dev/null; then say "user $USER_NAME exists"
  else run useradd --root "$PREFIX" --system --user-group --home-dir /var/lib/govlocker --no-create-home --shell /usr/sbin/nologin "$USER_NAME"; fi
elif getent passwd "$USER_NAME" >/dev/null; then
  say "user $USER_NAME exists"
else
  run useradd --system --user-group --home-dir /var/lib/govlocker --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi

# --- the app: copied to a new directory, built there, then swapped in ------------------------------------------
say "installing the app from $SRC to $APP"
run rm -rf "$APP.new"
run mkdir -p "$APP.new"
COPY=(tar -C "$SRC" --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./data --exclude=./test-artifacts -cf - .)
if [ "$DRY_RUN" = 1 ]; then
  printf '+'; printf ' %q' "${COPY[@]}"; printf ' | tar -C %q --no-same-owner -xf -\n' "$APP.new"
else
  "${COPY[@]}" | tar -C "$APP.new" --no-same-owner -xf -
fi
# npm ci builds dist/ (its prepare script needs the dev dependencies) and the native modules; prune then drops
# what only the build and the tests use.
run_in "$APP.new" npm ci --no-audit --no-fund
run_in "$APP.new" npm prune --omit=dev --no-audit --no-fund
run rm -rf "$APP.old"
if [ -d "$APP" ]; then run mv "$APP" "$APP.old"; fi
run mv "$APP.new" "$APP"
run mkdir -p "$(dirname "$LINK")"
run ln -sfn /opt/govlocker/bin/govlocker.js "$LINK"

# --- config and data ---------------------------------------------------------------------------------------------
run install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
FRESH_CONFIG=0
if [ -e "$ETC/cabinet.json" ]; then
  say "keeping $ETC/cabinet.json (owner root:$USER_NAME, mode 0640)"
  run chown "root:$USER_NAME" "$ETC/cabinet.json"
  run chmod 0640 "$ETC/cabinet.json"
else
  FRESH_CONFIG=1
  run install -m 0640 -o root -g "$USER_NAME" "$SRC/deploy/cabinet.example.json" "$ETC/cabinet.json"
fi
run install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$STATE"

# --- units and the udev rule ---------------------------------------------------------------------------------------
run mkdir -p "$UNITS"
UNIT_FILES=("$SRC"/deploy/systemd/*.service "$SRC"/deploy/systemd/*.timer)
TIMERS=()
for unit in "${UNIT_FILES[@]}"; do
  [ -e "$unit" ] || continue
  run install -m 0644 "$unit" "$UNITS/"
  case "$unit" in *.timer) TIMERS+=("$(basename "$unit")") ;; esac
done
if [ -e "$SRC/deploy/systemd/govlocker-backup.service" ]; then
  run install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$BACKUPS"
fi
run mkdir -p "$RULES"
if [ -e "$RULES/99-govlocker.rules" ]; then
  say "keeping $RULES/99-govlocker.rules"
else
  run install -m 0644 "$SRC/deploy/udev/99-govlocker.rules" "$RULES/"
fi
if [ -z "$PREFIX" ]; then
  if command -v udevadm >/dev/null 2>&1; then
    run udevadm control --reload
    run udevadm trigger --subsystem-match=tty
  else
    say "no udevadm here: the udev rule takes effect at the next boot"
  fi
fi

# --- systemd -------------------------------------------------------------------------------------------------------
if [ -n "$PREFIX" ]; then
  run systemctl --root="$PREFIX" enable govlocker.service "${TIMERS[@]}"
else
  run systemctl daemon-reload
  run systemctl enable govlocker.service
  for timer in "${TIMERS[@]}"; do run systemctl enable --now "$timer"; done
  if [ "$FRESH_CONFIG" = 1 ]; then
    say "next (README, Install on a cabinet PC): govlocker provision --data $STATE --cabinet ID --config $ETC/cabinet.json, then chown -R $USER_NAME: $STATE;"
    say "edit $ETC/cabinet.json (lock boards, compartments; api.tls for the hall LAN) and the udev rule's ids, then: systemctl start govlocker"
  else
    run systemctl restart govlocker.service
  fi
fi
say "done. Status: systemctl status govlocker; logs: journalctl -u govlocker -f"
