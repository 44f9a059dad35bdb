# Sourced by the scripts that run libguestfs tools themselves (the corpus's virt-make-fs, the
# peers' virt-tar-out and virt-diff): where /dev/kvm exists but qemu cannot use it (nested hosts:
# "failed to set MSR 0x10a", then qemu aborts), libguestfs must run its appliance under TCG,
# as it does where there is no /dev/kvm. cairn itself retries under TCG on its own
# (indexer/guestfs_session.cc). A setting the caller made is kept.
if [ -e /dev/kvm ] && [ -z "${LIBGUESTFS_BACKEND_SETTINGS:-}" ] && command -v qemu-system-x86_64 >/dev/null; then
  if ! (echo q | timeout 30 qemu-system-x86_64 -accel kvm -cpu host -S -display none -nodefaults \
      -monitor stdio) >/dev/null 2>&1; then
    echo "note: /dev/kvm is present but qemu cannot use it; libguestfs runs under TCG" >&2
    export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  fi
fi
