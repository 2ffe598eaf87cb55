# shellcheck shell=bash
# Shared by the deployment checks (sourced): installing the Debian packages a check needs
# when its tool is missing, as root or through sudo.

as_root() {
  if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: `apt-get update` then install. ctest may run checks together, so
# dpkg's lock is waited for. Packages that start a service from their postinst
# (prometheus) would fail without an init system: a policy-rc.d answering 101 ("action
# forbidden") is in place during the install, unless one already was (Debian's Docker
# images ship one).
apt_install() {
  local policy=/usr/sbin/policy-rc.d added_policy='' rc=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
    added_policy=1
  fi
  {
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq --no-install-recommends "$@"
  } >/dev/null || rc=$?
  if [[ -n $added_policy ]]; then as_root rm -f "$policy"; fi
  return "$rc"
}
