#!/usr/bin/env bash
# Installs the peers the tests need when missing (the list below), builds, checks formatting and runs every test tier.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v swaks >/dev/null || missing+=(swaks)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/sbin/smtp-source ] || missing+=(postfix)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || missing+=(python3-aiosmtpd)
command -v curl >/dev/null || missing+=(curl)
/usr/bin/python3 -c "import dkim, nacl" 2>/dev/null || missing+=(python3-dkim python3-nacl)
/usr/bin/python3 -c "import spf, yaml" 2>/dev/null || missing+=(python3-spf python3-yaml)
command -v node >/dev/null || missing+=(nodejs npm)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing peers: ${missing[*]}"
  as_root apt-get update -q
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ ! -f tests/Hermod.Mime.Tests/node/node_modules/mailparser/package.json ]; then
  echo "== installing npm peers: mailparser"
  npm ci --prefix tests/Hermod.Mime.Tests/node --no-audit --no-fund
fi

if [ ! -f tests/Hermod.Policy.Tests/Dkim/node/node_modules/mailauth/package.json ]; then
  echo "== installing npm peers: mailauth"
  npm ci --prefix tests/Hermod.Policy.Tests/Dkim/node --no-audit --no-fund
fi

echo "== build"
dotnet build Hermod.slnx -c Release -nologo -clp:ErrorsOnly

echo "== format"
dotnet format Hermod.slnx --verify-no-changes --no-restore

echo "== tests"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet test Hermod.slnx -c Release --no-build --nologo --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1500000 || status=$?

/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error")) + int(c.get("timeout")) + int(c.get("aborted"))
    skipped += int(c.get("notExecuted"))
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
