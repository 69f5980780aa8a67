#!/usr/bin/env bash
# Installs the Bicep CLI (from the NuGet package Azure.Bicep.CommandLine.linux-x64; it runs offline) as
# .local/bicep/bicep, then builds and lints infra/: main.bicep, every module, every env/*.bicepparam.
# Any Bicep diagnostic (warning or error) fails: exit non-zero. ./test runs this before building;
# tests/Engagement.Infra.Tests then uses .local/bicep/bicep. Idempotent; warm runs take seconds.
#
#   bash scripts/test-setup.d/bicep.sh          # install if missing, build and lint
#   BICEP_VERSION=0.49.2 bash ...               # the version (default below)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${BICEP_VERSION:-0.49.2}"
package="Azure.Bicep.CommandLine.linux-x64"
tooldir="$root/.local/bicep"
bicep="$tooldir/bicep"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "bicep.sh: the Bicep CLI package used here is for linux-x64 only (this is $(uname -s)-$(uname -m))" >&2; exit 1 ;;
esac

installed_version() { [ -x "$bicep" ] && "$bicep" --version 2>/dev/null | sed -n 's/^Bicep CLI version \([0-9.]*\).*/\1/p'; }

if [ "$(installed_version || true)" != "$version" ]; then
  # Restore a throw-away project that only downloads the package (PackageDownload: no assets, no
  # references). It lives under .local/ with its own empty Directory.*.props so the repository's central
  # package management and analyzers do not apply to it.
  restoredir="$tooldir/restore"
  mkdir -p "$restoredir"
  printf '<Project />\n' >"$restoredir/Directory.Build.props"
  printf '<Project />\n' >"$restoredir/Directory.Build.targets"
  printf '<Project />\n' >"$restoredir/Directory.Packages.props"
  cat >"$restoredir/bicep-cli.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$package" Version="[$version]" />
  </ItemGroup>
</Project>
EOF
  dotnet restore "$restoredir/bicep-cli.csproj" --nologo --verbosity quiet
  packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
  packaged="${packages%/}/$(echo "$package" | tr '[:upper:]' '[:lower:]')/$version/tools/bicep"
  [ -f "$packaged" ] || { echo "bicep.sh: $packaged not found after restore" >&2; exit 1; }
  chmod +x "$packaged"
  ln -sfn "$packaged" "$bicep"
  echo "bicep.sh: installed Bicep CLI $(installed_version) at .local/bicep/bicep"
fi

# Build and lint. The CLI exits 0 on warnings, so any diagnostic output counts as a failure.
out="$root/.local/infra"
mkdir -p "$out"
diagnostics="$(mktemp)"
trap 'rm -f "$diagnostics"' EXIT
status=0
run() { "$bicep" "$@" 2>>"$diagnostics" >/dev/null || status=1; }

run build infra/main.bicep --outfile "$out/main.json"
run build-params --pattern 'infra/env/*.bicepparam' --outdir "$out"
run lint --pattern 'infra/**/*.bicep*'

if [ "$status" -ne 0 ] || [ -s "$diagnostics" ]; then
  echo "bicep.sh: Bicep reported problems (warnings count: every rule in infra/bicepconfig.json is required):" >&2
  sort -u "$diagnostics" >&2
  exit 1
fi
echo "bicep.sh: infra/ builds and lints clean (Bicep $version): .local/infra/main.json and one .json per infra/env/*.bicepparam"
