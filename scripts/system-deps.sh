#!/usr/bin/env bash
# Installs the system programs the tests use: socat (pseudo-terminal pairs for serial links),
# mosquitto (a real MQTT 5 broker) and chromium (the dashboard's browser tests, driven headless by
# puppeteer-core), python3-zmq (a libzmq publisher for the gateway's ZMQ tests), and for `npm run bench`
# a C compiler with OpenSSL's headers. Idempotent; uses sudo only when not root.
set -euo pipefail
need=()
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
# A C compiler and OpenSSL's headers: `npm run bench` builds its native SHA-256 reference with them.
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
[ -f /usr/include/openssl/sha.h ] || need+=(libssl-dev)
# openssl (the CLI): the MQTT TLS test makes a throw-away CA and broker certificate with it.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# python3-zmq: a real libzmq publisher for the gateway's ZMQ (zmqpubhashblock) tests
/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1 || need+=(python3-zmq)
if [ ${#need[@]} -eq 0 ]; then
  echo "system-deps: socat, mosquitto, chromium, cc, OpenSSL headers and CLI, python3-zmq present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "system-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a system mosquitto on :1883 where an init system runs; the tests start their own
# brokers on free loopback ports and never use it.
echo "system-deps: done"
