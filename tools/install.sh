#!/bin/sh
# Install soulsyncd as a systemd service on Raspberry Pi OS Trixie/Bookworm or Debian 12+.
#
#   sudo tools/install.sh                 install or update (idempotent: a second run changes nothing)
#   sudo tools/install.sh --uninstall     remove the service and /opt/soulsyncd; keep config and state
#   sudo tools/install.sh --purge         also remove /etc/soulsyncd, /var/lib/soulsyncd, the
#                                         credentials in /etc/credstore (and that folder, when this
#                                         script made it) and the user: nothing it created is left
#
# Options:
#   --root DIR     install into DIR as if it were / (files only: no apt, useradd, pip or systemctl);
#                  used by the tests
#   --wheel FILE   install this wheel instead of building the checkout the script lives in
#   --no-start     install and enable, but don't start or restart the service. Where systemd is
#                  not running (an SD-card image built in a chroot) nothing is started or reloaded
#                  either way; the unit is enabled by its link, and the next run under a running
#                  systemd does the reload that was missed
#   --no-apt       don't install apt packages (you did)
#   --python EXE   the interpreter for the venv (default python3; the system's, for apt's picamera2)
#
# What it does, each step only when needed: apt packages (python3-venv, python3-systemd and, where
# the archive has it, python3-picamera2), the system user 'soulsync' (group video), a venv in
# /opt/soulsyncd/venv with --system-site-packages (picamera2/libcamera and the journal bindings come
# from apt), the package, the command 'soulsyncd' on PATH (/usr/local/bin), /etc/soulsyncd/config.yaml
# from the example if there is none (its state.dir the service's), a config check, the unit, enable,
# start. It ends by listing what changed and what to do next.
set -eu

NAME=soulsyncd
USER_NAME=soulsync
PREFIX=/opt/soulsyncd
VENV=$PREFIX/venv
ETC=/etc/soulsyncd
CONFIG=$ETC/config.yaml
UNIT_DIR=/etc/systemd/system
UNIT=$UNIT_DIR/$NAME.service
WANTS=$UNIT_DIR/multi-user.target.wants/$NAME.service
STATE=/var/lib/soulsyncd
CREDSTORE=/etc/credstore
CREDENTIALS="spotify-client-secret mqtt-password web-password"
CREDSTORE_MARK=$ETC/.credstore-made-by-install  # we made /etc/credstore: --purge removes it too
BIN=/usr/local/bin/$NAME
RELOAD_MARK=$PREFIX/.daemon-reload-pending  # the unit changed while systemd was not running
SRC=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

ROOT=""
ACTION=install
WHEEL=""
START=1
APT=1
PYTHON=python3

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --wheel) WHEEL=${2:?--wheel needs a file}; shift ;;
        --uninstall) ACTION=uninstall ;;
        --purge) ACTION=purge ;;
        --no-start) START=0 ;;
        --no-apt) APT=0 ;;
        --python) PYTHON=${2:?--python needs an interpreter}; shift ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage 2 >&2 ;;
    esac
    shift
done

if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT"
    ROOT=$(CDPATH='' cd -- "$ROOT" && pwd)
    LIVE=0  # a scratch root: files only, nothing that touches this machine
elif [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo), or with --root DIR for a scratch root" >&2
    exit 1
else
    LIVE=1
fi
R=$ROOT  # prefix for every path we write

CHANGES=0
changed() { CHANGES=$((CHANGES + 1)); echo "  + $*"; }
same() { echo "  = $*"; }
note() { echo "  ! $*"; }

# install_file SRC DST MODE: copy when the content or mode differs.
install_file() {
    if [ -f "$R$2" ] && cmp -s "$1" "$R$2" && [ "$(stat -c %a "$R$2")" = "$3" ]; then
        same "$2"
    else
        install -D -m "$3" "$1" "$R$2"
        changed "$2"
    fi
}

# make_dir DIR MODE [OWNER]: create when missing; never loosen or re-own an existing one.
make_dir() {
    if [ -d "$R$1" ]; then
        same "$1/"
        return
    fi
    install -d -m "$2" "$R$1"
    if [ -n "${3:-}" ] && [ "$LIVE" = 1 ]; then
        chown "$3:$3" "$R$1"
    fi
    changed "$1/"
}

# systemd runs here (sd_booted): not so in a chroot building an image, or a container without it.
SYSTEMD=0
if [ "$LIVE" = 1 ] && [ -d /run/systemd/system ]; then SYSTEMD=1; fi
systemctl_live() { if [ "$SYSTEMD" = 1 ]; then systemctl "$@"; fi; }

# daemon_reload: now when systemd runs, else remembered for the next run that has it.
daemon_reload() {
    if [ "$SYSTEMD" = 1 ]; then
        systemctl daemon-reload
    elif [ "$LIVE" = 1 ] && [ -d "$PREFIX" ]; then
        : > "$RELOAD_MARK"
        note "systemd is not running here: the unit is picked up at the next boot (or the next run of this script)"
    fi
}

# --- uninstall / purge ------------------------------------------------------------------------------

uninstall() {
    echo "Removing $NAME${ROOT:+ from $ROOT}:"
    if [ "$SYSTEMD" = 1 ] && systemctl is-enabled --quiet "$NAME" 2>/dev/null; then
        systemctl disable --now "$NAME" >/dev/null 2>&1 || true
        changed "disabled and stopped $NAME"
    elif [ "$SYSTEMD" = 1 ] && systemctl is-active --quiet "$NAME" 2>/dev/null; then
        systemctl stop "$NAME"
        changed "stopped $NAME"
    fi
    if [ -L "$R$BIN" ] && [ "$(readlink "$R$BIN")" = "$VENV/bin/$NAME" ]; then
        rm -f "$R$BIN"
        changed "removed $BIN"
    fi
    unit_was_there=0
    if [ -e "$R$UNIT" ]; then unit_was_there=1; fi
    for path in "$WANTS" "$UNIT" "$PREFIX"; do
        if [ -e "$R$path" ] || [ -L "$R$path" ]; then
            rm -rf "$R$path"
            changed "removed $path"
        fi
    done
    if [ "$unit_was_there" = 1 ]; then systemctl_live daemon-reload; fi
    if [ "$ACTION" = purge ]; then
        credstore_ours=0
        if [ -e "$R$CREDSTORE_MARK" ]; then credstore_ours=1; fi
        for path in "$ETC" "$STATE" "/var/lib/private/$NAME"; do
            if [ -e "$R$path" ]; then
                rm -rf "$R$path"
                changed "removed $path"
            fi
        done
        for credential in $CREDENTIALS; do
            if [ -e "$R$CREDSTORE/$credential" ]; then
                rm -f "$R$CREDSTORE/$credential"
                changed "removed $CREDSTORE/$credential"
            fi
        done
        # Ours only when we made it (Bookworm's systemd has none; Trixie's ships it) and it is empty.
        if [ "$credstore_ours" = 1 ] && [ -d "$R$CREDSTORE" ] && rmdir "$R$CREDSTORE" 2>/dev/null; then
            changed "removed $CREDSTORE/"
        fi
        if [ "$LIVE" = 1 ] && getent passwd "$USER_NAME" >/dev/null; then
            userdel "$USER_NAME"
            changed "removed user $USER_NAME"
        fi
    else
        echo "Kept $ETC, $STATE and $CREDSTORE (remove them too with --purge)."
    fi
    summary
}

summary() {
    if [ "$CHANGES" -eq 0 ]; then
        echo "$NAME: nothing to change."
    else
        echo "$NAME: $CHANGES change(s)."
    fi
}

# --- install ----------------------------------------------------------------------------------------

installed_package() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

apt_packages() {
    wanted="python3-venv python3-systemd"
    updated=0
    # picamera2 (and its libcamera bindings) exist only in Raspberry Pi OS's archive. Not found in
    # the package lists may only mean the lists are empty (a fresh image): ask again after an update.
    if ! installed_package python3-picamera2 && ! apt-cache show python3-picamera2 >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        updated=1
    fi
    if installed_package python3-picamera2 || apt-cache show python3-picamera2 >/dev/null 2>&1; then
        wanted="$wanted python3-picamera2"
    else
        note "python3-picamera2 is not in this system's archive: the Pi camera is unavailable (usb/file work)"
    fi
    missing=""
    for package in $wanted; do
        if ! installed_package "$package"; then
            missing="$missing $package"
        fi
    done
    if [ -z "$missing" ]; then
        same "apt packages: $wanted"
        return
    fi
    if [ "$updated" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; fi
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    changed "apt packages:$missing"
}

system_user() {
    if getent passwd "$USER_NAME" >/dev/null; then
        same "user $USER_NAME"
        return
    fi
    groups=""
    if getent group video >/dev/null; then groups="--groups video"; fi
    # shellcheck disable=SC2086 # optional --groups
    useradd --system --user-group $groups --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment "soulsyncd daemon" "$USER_NAME"
    changed "user $USER_NAME (system, group video)"
}

# The package's identity: the wheel's hash, or a hash over the checkout's files that go into it.
source_fingerprint() {
    if [ -n "$WHEEL" ]; then
        sha256sum "$WHEEL" | cut -d' ' -f1
    else
        (cd "$SRC" && find pyproject.toml README.md soulsyncd models -type f \
            ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z \
            | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
    fi
}

venv_and_package() {
    if [ "$LIVE" = 0 ]; then
        note "scratch root: no venv or package (pip) in $VENV"
        return
    fi
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        same "venv $VENV"
    else
        rm -rf "$VENV"
        "$PYTHON" -m venv --system-site-packages "$VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        rm -f "$VENV/.installed-from"
        changed "venv $VENV (--system-site-packages)"
    fi
    fingerprint=$(source_fingerprint)
    if [ "$(cat "$VENV/.installed-from" 2>/dev/null)" = "$fingerprint" ]; then
        same "package soulsyncd ($fingerprint)"
        return
    fi
    constraints=$VENV/.constraints.txt
    : > "$constraints"
    # Bookworm's apt modules (picamera2's simplejpeg, ...) are built for numpy 1.x: a numpy 2 in the
    # venv would shadow apt's and break them. Trixie's are built for 2.x, so no pin there.
    if "$PYTHON" -c 'import numpy, sys; sys.exit(int(numpy.__version__.split(".")[0]) >= 2)' 2>/dev/null; then
        echo "numpy<2" > "$constraints"
    fi
    target=$SRC
    if [ -n "$WHEEL" ]; then
        target=$WHEEL
    else
        # pip builds a source tree in place (build/, soulsyncd.egg-info): from a copy, so a clone stays
        # free of root-owned files (a later `make demo` as the user could not rewrite them) and a
        # read-only checkout (an image build's bind mount) installs too.
        target=$(mktemp -d)/src
        mkdir -p "$target"
        (cd "$SRC" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md soulsyncd models) \
            | tar -xf - -C "$target"
    fi
    # Not the 'pi' extra: its picamera2 and systemd-python would be built from PyPI (a compiler and
    # libsystemd-dev); apt's python3-picamera2 and python3-systemd reach the venv as system packages.
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --constraint "$constraints" "$target"
    if [ -z "$WHEEL" ]; then rm -rf "$(dirname "$target")"; fi
    echo "$fingerprint" > "$VENV/.installed-from"
    changed "package soulsyncd ($fingerprint)"
}

# The command people type: a link to the venv's script (its shebang is the venv's python).
command_on_path() {
    if [ "$LIVE" = 1 ] && [ ! -x "$VENV/bin/$NAME" ]; then
        return
    fi
    if [ -L "$R$BIN" ] && [ "$(readlink "$R$BIN")" = "$VENV/bin/$NAME" ]; then
        same "$BIN"
    elif [ -e "$R$BIN" ] && [ ! -L "$R$BIN" ]; then
        note "$BIN exists and is not ours: left alone (the command is $VENV/bin/$NAME)"
    else
        mkdir -p "$(dirname "$R$BIN")"
        ln -sfn "$VENV/bin/$NAME" "$R$BIN"
        changed "$BIN -> $VENV/bin/$NAME"
    fi
}

# The example config with state.dir set to the service's state directory, so commands run by hand
# (sudo soulsyncd library import ...) use the catalog and login the service uses, and the status page
# on (loopback only: the LAN needs the web-password credential, docs/web.md).
installed_config() {
    sed -e "s|^  # dir: $STATE\$|  dir: $STATE|" \
        -e '/^web:$/,/^[a-z]/s|^  enabled: false |  enabled: true  |' "$SRC/config/soulsync.example.yaml"
}

check_config() {
    binary=$R$VENV/bin/soulsyncd
    if [ ! -x "$binary" ]; then
        note "no $VENV/bin/soulsyncd to check $CONFIG with"
        return 0
    fi
    if output=$("$binary" check-config --config "$R$CONFIG" 2>&1); then
        same "config $CONFIG checks out"
        return 0
    fi
    echo "$output" | sed 's/^/    /'
    note "$CONFIG has errors (above): fix them, then: sudo systemctl restart $NAME"
    return 1
}

# The unit as this machine's systemd runs it best. From systemd 253 on (Trixie: 257), Type=notify-reload:
# `systemctl reload` sends SIGHUP itself and returns only once the daemon has answered RELOADING=1 and
# READY=1, so the reload's outcome (STATUS "reload rejected: ...") is there when the command returns.
# systemd 252 (Bookworm) does not know that type (it would fall back to Type=simple): there the unit
# stays Type=notify with ExecReload=kill -HUP, and `systemctl reload` returns at once.
# From 254 on, ImportCredential= instead of LoadCredential=: the same credential stores, but a
# credential that is not there (each is optional) is skipped silently instead of with a journal line.
unit_for_this_systemd() {
    version=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9][0-9]*\).*/\1/p')
    version=${version:-0}
    script=""
    if [ "$version" -ge 253 ]; then script='s/^Type=notify$/Type=notify-reload/;/^ExecReload=/d'; fi
    if [ "$version" -ge 254 ]; then script="$script;s/^LoadCredential=/ImportCredential=/"; fi
    sed -e "$script" "$1"
}

enable_unit() {
    if [ "$SYSTEMD" = 1 ]; then
        if systemctl is-enabled --quiet "$NAME" 2>/dev/null; then
            same "enabled"
        else
            systemctl enable --quiet "$NAME"
            changed "enabled (starts at boot)"
        fi
    elif [ "$(readlink "$R$WANTS" 2>/dev/null)" = "$UNIT" ]; then
        same "enabled"
    else
        mkdir -p "$(dirname "$R$WANTS")"
        ln -sfn "$UNIT" "$R$WANTS"
        changed "enabled ($WANTS)"
    fi
}

install_all() {
    echo "Installing $NAME${ROOT:+ into $ROOT} from ${WHEEL:-$SRC}:"
    if [ "$LIVE" = 1 ] && [ "$APT" = 1 ]; then apt_packages; fi
    if [ "$LIVE" = 1 ]; then system_user; fi
    before=$CHANGES
    venv_and_package
    package_changed=$((CHANGES - before))
    install_file "$SRC/README.md" "$PREFIX/README.md" 644
    command_on_path
    make_dir "$ETC" 755
    if [ -e "$R$CONFIG" ]; then
        same "$CONFIG (kept as it is)"
        if ! grep -q '^  dir: ' "$R$CONFIG"; then
            note "$CONFIG sets no state.dir: commands run by hand use ~/.local/state; add 'state: {dir: $STATE}'"
        fi
    else
        installed_config > "$R$CONFIG"
        chmod 644 "$R$CONFIG"
        changed "$CONFIG (from the example: edit camera.kind and player)"
    fi
    make_dir "$STATE" 700 "$USER_NAME"
    if [ ! -d "$R$CREDSTORE" ]; then
        make_dir "$CREDSTORE" 700
        : > "$R$CREDSTORE_MARK"
    else
        same "$CREDSTORE/"
    fi
    config_ok=1
    check_config || config_ok=0
    before=$CHANGES
    unit_source=$(mktemp)
    unit_for_this_systemd "$SRC/systemd/$NAME.service" > "$unit_source"
    install_file "$unit_source" "$UNIT" 644
    rm -f "$unit_source"
    unit_changed=$((CHANGES - before))
    if [ "$unit_changed" -gt 0 ]; then
        daemon_reload
    elif [ "$SYSTEMD" = 1 ] && [ -e "$RELOAD_MARK" ]; then
        systemctl daemon-reload  # missed by a run without systemd (an image build)
        changed "systemd reloaded (missed while systemd was not running)"
    fi
    if [ "$SYSTEMD" = 1 ]; then rm -f "$RELOAD_MARK"; fi
    enable_unit
    if [ "$LIVE" = 1 ] && [ "$SYSTEMD" = 0 ] && [ "$START" = 1 ]; then
        note "systemd is not running here: $NAME starts at the next boot"
    fi
    if [ "$SYSTEMD" = 1 ] && [ "$START" = 1 ] && [ "$config_ok" = 1 ]; then
        if systemctl is-active --quiet "$NAME"; then
            if [ $((package_changed + unit_changed)) -gt 0 ]; then
                if systemctl restart "$NAME"; then changed "restarted"; else note "restart failed: journalctl -u $NAME"; fi
            else
                same "running"
            fi
        else
            if systemctl start "$NAME"; then changed "started"; else note "start failed: journalctl -u $NAME"; fi
        fi
    fi
    summary
    next_steps
}

next_steps() {
    cat <<EOF

Next steps:
  1. Choose the camera and player in $CONFIG (camera.kind: picamera2 for the Pi camera module),
     then:  sudo systemctl reload $NAME     (a bad file is rejected and the running config kept)
  2. Secrets never go in the YAML. Store each as a root-only credential file; the unit loads it
     with LoadCredential= when it exists:
       sudo systemd-ask-password -n "MQTT password:" | sudo install -m 0600 /dev/stdin $CREDSTORE/mqtt-password
       sudo systemd-ask-password -n "Spotify client secret:" | sudo install -m 0600 /dev/stdin $CREDSTORE/spotify-client-secret
     then:  sudo systemctl restart $NAME
  3. Your music, in three commands (each writes into $STATE as the service's user):
       export a playlist or your library as CSV (Exportify, or any CSV with valence/energy), then
       sudo soulsyncd library import my-export.csv
       sudo soulsyncd library enrich          (looks up the tracks without valence/energy)
       sudo soulsyncd doctor                  (checks everything, a line each)
  4. Spotify (player.kind: spotify): log in once:  sudo soulsyncd spotify-login
  5. Watch it:  systemctl status $NAME;  journalctl -u $NAME -f;  journalctl -u $NAME SOULSYNC_EVENT=mood
     or the status page on this machine: http://127.0.0.1:8088/ (from your LAN: docs/web.md)
EOF
}

case "$ACTION" in
    install) install_all ;;
    uninstall|purge) uninstall ;;
esac
